// The bytes of ObjectManagerService.Pull on the wire (proto/object_manager.proto)
// without protobuf copies: a chunk's data goes out as a grpc::Slice over the
// sender's arena, and comes in as the slices gRPC received, copied once,
// straight into the receiver's arena.
//
// An ObjectChunk is encoded as [0x08 varint(offset)] [0x12 varint(length)]
// [length bytes of data]: ordinary protobuf wire format with the fields in
// a fixed order. Stateless functions and a reader object used by one thread
// at a time.
#ifndef FLARE_OBJECT_MANAGER_CHUNK_CODEC_H_
#define FLARE_OBJECT_MANAGER_CHUNK_CODEC_H_

#include <cstdint>
#include <memory>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "object_manager.pb.h"

namespace flare {

// An ObjectChunk for [offset, offset + length) of an object whose bytes
// start at `data`. The data is not copied: gRPC holds `keep_alive` until it
// has sent the last of them.
grpc::ByteBuffer EncodeChunk(uint64_t offset, const uint8_t* data, uint64_t length,
                             std::shared_ptr<const void> keep_alive);

// Reads one received ObjectChunk: its header first, so the receiver can
// check the range before any byte lands in its arena, then its data.
class ChunkReader {
 public:
  // Takes the message's slices (no copy). InvalidArgument for anything but
  // the layout above or a data length that disagrees with the message.
  absl::Status Parse(const grpc::ByteBuffer& message);
  uint64_t offset() const { return offset_; }
  uint64_t length() const { return length_; }
  // REQUIRES: Parse succeeded; `target` has room for length() bytes.
  void CopyDataTo(uint8_t* target) const;

 private:
  std::vector<grpc::Slice> slices_;
  size_t data_slice_ = 0;    // where the data starts: slice index ...
  size_t data_in_slice_ = 0;  // ... and offset in it
  uint64_t offset_ = 0;
  uint64_t length_ = 0;
};

// PullRequest to and from a gRPC message.
grpc::ByteBuffer EncodeRequest(const rpc::PullRequest& request);
bool DecodeRequest(const grpc::ByteBuffer& message, rpc::PullRequest* request);

// The largest range a receiver may ask for in one chunk (well under the
// cluster's message limit, rpc/channel_args.h).
inline constexpr uint64_t kMaxChunkBytes = 32u << 20;

// The method's full name, for the generic client stub.
inline constexpr char kPullMethod[] = "/flare.rpc.ObjectManagerService/Pull";

}  // namespace flare

#endif  // FLARE_OBJECT_MANAGER_CHUNK_CODEC_H_
