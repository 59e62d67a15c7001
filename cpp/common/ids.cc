#include "common/ids.h"

#include <random>

namespace flare {

namespace {

std::mt19937_64& Rng() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return rng;
}

}  // namespace

std::string ToHex(std::string_view binary) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(binary.size() * 2);
  for (unsigned char c : binary) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

template <size_t N, typename Tag>
FixedId<N, Tag> FixedId<N, Tag>::FromRandom() {
  FixedId id;
  for (size_t i = 0; i < N; i += 8) {
    uint64_t word = Rng()();
    std::memcpy(id.bytes_.data() + i, &word, (N - i) < 8 ? (N - i) : 8);
  }
  return id;
}

template <size_t N, typename Tag>
std::string FixedId<N, Tag>::Hex() const {
  return ToHex(std::string_view(Data(), N));
}

template class FixedId<4, JobTag>;
template class FixedId<16, TaskTag>;
template class FixedId<20, ObjectTag>;
template class FixedId<16, NodeTag>;
template class FixedId<16, WorkerTag>;
template class FixedId<16, ActorTag>;
template class FixedId<16, PlacementGroupTag>;

ObjectId ObjectIdFor(const TaskId& task, uint32_t index) {
  ObjectId id;
  std::memcpy(id.MutableData(), task.Data(), TaskId::kSize);
  uint8_t* out = id.MutableData() + TaskId::kSize;
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(index >> (8 * i));  // little-endian
  return id;
}

uint32_t IndexOfObject(const ObjectId& object) {
  const auto* in = reinterpret_cast<const uint8_t*>(object.Data()) + TaskId::kSize;
  uint32_t index = 0;
  for (int i = 0; i < 4; ++i) index |= static_cast<uint32_t>(in[i]) << (8 * i);
  return index;
}

TaskId TaskOfObject(const ObjectId& object) {
  return TaskId::FromBinary(std::string_view(object.Data(), TaskId::kSize));
}

JobId JobOfTask(const TaskId& task) {
  return JobId::FromBinary(std::string_view(task.Data(), JobId::kSize));
}

}  // namespace flare
