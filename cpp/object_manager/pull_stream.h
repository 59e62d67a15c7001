// One ObjectManagerService.Pull call: the receiving end of one attempt of a
// pull (PullManager), to one holder.
//
// It asks for chunks by index (Request), checks each arriving chunk against
// what it asked for, and copies the chunk's bytes from gRPC's receive
// slices straight into the pull's buffer in the arena, on gRPC's thread:
// the buffer belongs to the pull and this stream is the only writer of the
// chunks it asked for, so the event loop is not involved in moving bytes.
// It reports through `Events`, whose callbacks run on gRPC's threads and
// must only post onto the loop. `on_ended` is the last call, made once
// nothing more will be written to the buffer.
//
// A chunk that was not asked for, or has the wrong size, ends the call
// with InvalidArgument before any of its bytes are written.
//
// Thread-safe: Request, Close and Cancel may be called from any thread.
// The owner keeps it alive until `on_ended` has been called.
#ifndef FLARE_OBJECT_MANAGER_PULL_STREAM_H_
#define FLARE_OBJECT_MANAGER_PULL_STREAM_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "common/ids.h"
#include "object_manager/chunk_codec.h"
#include "rpc/outbox.h"

namespace flare {

// Channel settings for bulk transfer to `address`: its own TCP connection
// (apart from the control stream) and messages as large as a chunk.
std::shared_ptr<grpc::Channel> NewTransferChannel(const std::string& address,
                                                  grpc::ChannelArguments args = {});

class PullStream : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  struct Target {
    ObjectId object;
    uint8_t* buffer = nullptr;  // `size` bytes, owned by the pull
    uint64_t size = 0;
    uint64_t chunk_bytes = 0;
  };
  struct Events {
    std::function<void(uint64_t chunk)> on_chunk;
    std::function<void(absl::Status)> on_ended;
  };

  PullStream(Target target, Events events) : target_(target), events_(std::move(events)),
                                              outbox_(this) {}

  // Opens the call on `stub` with the cluster `token`.
  void Start(grpc::GenericStub& stub, const std::string& token);
  // Asks for chunks (indexes of chunk_bytes-sized ranges).
  void Request(const std::vector<uint64_t>& chunks);
  // No more chunks are wanted: closes this side; the sender then ends the call.
  void Close();
  // Ends the call now.
  void Cancel() { context_.TryCancel(); }

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override { outbox_.OnWriteDone(ok); }
  void OnDone(const grpc::Status& status) override;

 private:
  // Checks the chunk reader_ holds against what was asked; its index.
  absl::StatusOr<uint64_t> Accept();

  const Target target_;
  Events events_;
  grpc::ClientContext context_;
  grpc::ByteBuffer chunk_;
  ChunkReader reader_;
  std::mutex mu_;
  absl::flat_hash_set<uint64_t> asked_;
  absl::Status failure_;  // why this end cancelled the call
  Outbox<grpc::ByteBuffer, PullStream> outbox_;
};

}  // namespace flare

#endif  // FLARE_OBJECT_MANAGER_PULL_STREAM_H_
