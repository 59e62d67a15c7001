// Fixed-size binary identifiers: jobs, tasks, objects, nodes, workers,
// actors and placement groups.
//
// An object's id is derived from the task that creates it and its return
// index, so a return's id is known before the task runs:
//   JobId    (4 bytes)
//   TaskId   (16 bytes) = JobId + 12 unique bytes
//   ObjectId (20 bytes) = TaskId + u32 index, 4 bytes little-endian
//                         (1..n for returns; puts set the high bit)
//   ActorId  (16 bytes) = the TaskId of the task that created the actor
//   PlacementGroupId (16 bytes), chosen by the client that creates the group
//
// This file is the one definition of that layout: the Python package reaches
// it through flare._core (return_id, generator_item_id, task_id_of).
#ifndef FLARE_COMMON_IDS_H_
#define FLARE_COMMON_IDS_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

namespace flare {

template <size_t N, typename Tag>
class FixedId {
 public:
  static constexpr size_t kSize = N;

  FixedId() { bytes_.fill(0); }

  // Returns the nil id when `binary` has the wrong length.
  static FixedId FromBinary(std::string_view binary) {
    FixedId id;
    if (binary.size() == N) std::memcpy(id.bytes_.data(), binary.data(), N);
    return id;
  }
  static FixedId FromRandom();
  // The same bytes as an id of another kind (e.g. an actor's id is its
  // creation task's).
  template <typename OtherTag>
  static FixedId FromId(const FixedId<N, OtherTag>& other) {
    return FromBinary(std::string_view(other.Data(), N));
  }

  std::string Binary() const { return std::string(Data(), N); }
  std::string Hex() const;
  const char* Data() const { return reinterpret_cast<const char*>(bytes_.data()); }
  uint8_t* MutableData() { return bytes_.data(); }
  bool IsNil() const {
    for (uint8_t b : bytes_) {
      if (b != 0) return false;
    }
    return true;
  }

  bool operator==(const FixedId& other) const { return bytes_ == other.bytes_; }
  bool operator!=(const FixedId& other) const { return bytes_ != other.bytes_; }
  bool operator<(const FixedId& other) const { return bytes_ < other.bytes_; }

  size_t Hash() const {
    // The ids are random or counter-derived: mixing a few words is enough.
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < N; i += 8) {
      uint64_t word = 0;
      std::memcpy(&word, bytes_.data() + i, (N - i) < 8 ? (N - i) : 8);
      h = (h ^ word) * 1099511628211ull;
      h ^= h >> 29;
    }
    return static_cast<size_t>(h);
  }

 private:
  std::array<uint8_t, N> bytes_;
};

struct JobTag {};
struct TaskTag {};
struct ObjectTag {};
struct NodeTag {};
struct WorkerTag {};
struct ActorTag {};
struct PlacementGroupTag {};

using JobId = FixedId<4, JobTag>;
using TaskId = FixedId<16, TaskTag>;
using ObjectId = FixedId<20, ObjectTag>;
using NodeId = FixedId<16, NodeTag>;
using WorkerId = FixedId<16, WorkerTag>;
using ActorId = FixedId<16, ActorTag>;
using PlacementGroupId = FixedId<16, PlacementGroupTag>;

constexpr uint32_t kPutIndexBit = 0x80000000u;

// The id of return `index` (1-based) of `task`, or of put number `index`
// when `index` has kPutIndexBit set.
ObjectId ObjectIdFor(const TaskId& task, uint32_t index);
TaskId TaskOfObject(const ObjectId& object);
JobId JobOfTask(const TaskId& task);
// The u32 index that follows the task id (put bit included).
uint32_t IndexOfObject(const ObjectId& object);
// Whether `object` was made by a put rather than returned by a task.
inline bool IsPutObject(const ObjectId& object) { return (IndexOfObject(object) & kPutIndexBit) != 0; }

// An actor is named by the task that created it: the same 16 bytes.
inline ActorId ActorIdOf(const TaskId& creation_task) { return ActorId::FromId(creation_task); }
inline TaskId CreationTaskOf(const ActorId& actor) { return TaskId::FromId(actor); }
// The actor's handle object: its creation task's return 1.
inline ObjectId HandleOf(const ActorId& actor) { return ObjectIdFor(CreationTaskOf(actor), 1); }

// A streaming generator task `task` reports its completion as return 1 and
// its k-th yielded item (0-based) as return k + 2.
// REQUIRES: item + 2 < kPutIndexBit.
inline ObjectId GeneratorItemId(const TaskId& task, uint32_t item) { return ObjectIdFor(task, item + 2); }

struct IdHash {
  template <typename Id>
  size_t operator()(const Id& id) const {
    return id.Hash();
  }
};

std::string ToHex(std::string_view binary);

}  // namespace flare

#endif  // FLARE_COMMON_IDS_H_
