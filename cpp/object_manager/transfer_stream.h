// The receiving end of one attempt of a pull (PullManager), to one holder,
// whatever carries the bytes: a gRPC call (GrpcPullStream) or a raw data
// connection (RawPullStream).
//
// A stream asks for chunks by index, checks each arriving chunk against
// what it asked for (AskedChunks), and writes the chunk's bytes straight
// into the pull's buffer in the arena on the transport's own thread: the
// buffer belongs to the pull and the stream is the only writer of the
// chunks it asked for, so the event loop never moves bytes. It reports
// through StreamEvents, whose callbacks run on the transport's threads and
// must only post onto the loop; `on_ended` is the last call, made once
// nothing more will be written to the buffer.
#ifndef FLARE_OBJECT_MANAGER_TRANSFER_STREAM_H_
#define FLARE_OBJECT_MANAGER_TRANSFER_STREAM_H_

#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "common/ids.h"

namespace flare {

struct StreamTarget {
  ObjectId object;
  uint8_t* buffer = nullptr;  // `size` bytes, owned by the pull
  uint64_t size = 0;
  uint64_t chunk_bytes = 0;
};

struct StreamEvents {
  std::function<void(uint64_t chunk)> on_chunk;
  std::function<void(absl::Status)> on_ended;
};

// Thread-safe: Request, Close and Cancel may be called from any thread. The
// owner keeps a stream alive until `on_ended` has been called.
class TransferStream {
 public:
  virtual ~TransferStream() = default;
  // Asks for chunks (indexes of chunk_bytes-sized ranges).
  virtual void Request(const std::vector<uint64_t>& chunks) = 0;
  // No more chunks are wanted: ends the stream gracefully.
  virtual void Close() = 0;
  // Ends the stream now.
  virtual void Cancel() = 0;
};

// The chunks a stream asked for and has not received. Thread-safe.
class AskedChunks {
 public:
  explicit AskedChunks(const StreamTarget& target) : target_(target) {}

  struct Range {
    uint64_t offset;
    uint64_t length;
  };
  // Records chunk `index` as asked for; its byte range.
  Range Ask(uint64_t index);
  // The index of the chunk at [offset, offset + length), which is no longer
  // expected; InvalidArgument (naming the range) when it is not a chunk
  // that was asked for.
  absl::StatusOr<uint64_t> Receive(uint64_t offset, uint64_t length);

 private:
  const StreamTarget target_;
  std::mutex mu_;
  absl::flat_hash_set<uint64_t> asked_;
};

}  // namespace flare

#endif  // FLARE_OBJECT_MANAGER_TRANSFER_STREAM_H_
