#include "object_manager/chunk_codec.h"

#include <cstring>
#include <string>

namespace flare {

namespace {

constexpr uint8_t kOffsetTag = (1 << 3) | 0;  // field 1, varint
constexpr uint8_t kDataTag = (2 << 3) | 2;    // field 2, length-delimited
constexpr size_t kMaxHeaderBytes = 1 + 10 + 1 + 10;

size_t PutVarint(uint64_t value, uint8_t* out) {
  size_t n = 0;
  while (value >= 0x80) {
    out[n++] = static_cast<uint8_t>(value) | 0x80;
    value >>= 7;
  }
  out[n++] = static_cast<uint8_t>(value);
  return n;
}

void ReleaseKeepAlive(void* keep_alive) {
  delete static_cast<std::shared_ptr<const void>*>(keep_alive);
}

// Walks the bytes of a list of slices, one at a time (headers only).
class ByteCursor {
 public:
  explicit ByteCursor(const std::vector<grpc::Slice>& slices) : slices_(slices) {}

  bool Next(uint8_t* byte) {
    while (slice_ < slices_.size() && pos_ == slices_[slice_].size()) {
      ++slice_;
      pos_ = 0;
    }
    if (slice_ == slices_.size()) return false;
    *byte = slices_[slice_].begin()[pos_++];
    return true;
  }
  bool Varint(uint64_t* value) {
    *value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t byte;
      if (!Next(&byte)) return false;
      *value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;  // longer than ten bytes
  }
  // Where the next byte is, skipping exhausted slices.
  void Position(size_t* slice, size_t* pos) {
    while (slice_ < slices_.size() && pos_ == slices_[slice_].size()) {
      ++slice_;
      pos_ = 0;
    }
    *slice = slice_;
    *pos = pos_;
  }

 private:
  const std::vector<grpc::Slice>& slices_;
  size_t slice_ = 0;
  size_t pos_ = 0;
};

}  // namespace

grpc::ByteBuffer EncodeChunk(uint64_t offset, const uint8_t* data, uint64_t length,
                             std::shared_ptr<const void> keep_alive) {
  uint8_t header[kMaxHeaderBytes];
  size_t n = 0;
  header[n++] = kOffsetTag;
  n += PutVarint(offset, header + n);
  header[n++] = kDataTag;
  n += PutVarint(length, header + n);
  grpc::Slice slices[2] = {
      grpc::Slice(header, n),  // copied: it is a few bytes
      grpc::Slice(const_cast<uint8_t*>(data), length, &ReleaseKeepAlive,
                  new std::shared_ptr<const void>(std::move(keep_alive))),
  };
  return grpc::ByteBuffer(slices, 2);
}

absl::Status ChunkReader::Parse(const grpc::ByteBuffer& message) {
  slices_.clear();
  if (!message.Dump(&slices_).ok()) return absl::InvalidArgumentError("unreadable chunk");
  ByteCursor cursor(slices_);
  uint8_t tag;
  offset_ = 0;
  if (!cursor.Next(&tag)) return absl::InvalidArgumentError("empty chunk");
  if (tag == kOffsetTag) {  // absent when the offset is 0
    if (!cursor.Varint(&offset_) || !cursor.Next(&tag)) {
      return absl::InvalidArgumentError("chunk header cut short");
    }
  }
  if (tag != kDataTag) return absl::InvalidArgumentError("chunk without data field first");
  if (!cursor.Varint(&length_)) return absl::InvalidArgumentError("chunk length cut short");
  cursor.Position(&data_slice_, &data_in_slice_);
  uint64_t available = 0;
  for (size_t i = data_slice_; i < slices_.size(); ++i) available += slices_[i].size();
  available -= data_in_slice_;
  if (available != length_) {
    return absl::InvalidArgumentError("chunk says " + std::to_string(length_) +
                                      " data bytes but carries " + std::to_string(available));
  }
  return absl::OkStatus();
}

void ChunkReader::CopyDataTo(uint8_t* target) const {
  size_t skip = data_in_slice_;
  for (size_t i = data_slice_; i < slices_.size(); ++i) {
    const size_t n = slices_[i].size() - skip;
    std::memcpy(target, slices_[i].begin() + skip, n);
    target += n;
    skip = 0;
  }
}

grpc::ByteBuffer EncodeRequest(const rpc::PullRequest& request) {
  const std::string bytes = request.SerializeAsString();
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

bool DecodeRequest(const grpc::ByteBuffer& message, rpc::PullRequest* request) {
  std::vector<grpc::Slice> slices;
  if (!message.Dump(&slices).ok()) return false;
  std::string bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return request->ParseFromString(bytes);
}

}  // namespace flare
