// A TransferStream over one ObjectManagerService.Pull call: chunks are
// asked for with PullRequest messages and arrive as ObjectChunk messages,
// whose bytes are copied from gRPC's receive slices straight into the
// arena on gRPC's thread (ChunkReader).
//
// A chunk that was not asked for, or has the wrong size, ends the call
// with InvalidArgument before any of its bytes are written.
//
// Thread-safe as TransferStream says; gRPC calls the reactor methods.
#ifndef FLARE_OBJECT_MANAGER_GRPC_PULL_STREAM_H_
#define FLARE_OBJECT_MANAGER_GRPC_PULL_STREAM_H_

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "object_manager/chunk_codec.h"
#include "object_manager/transfer_stream.h"
#include "rpc/outbox.h"

namespace flare {

// Channel settings for bulk transfer to `address`: its own TCP connection
// (apart from the control stream) and messages as large as a chunk.
std::shared_ptr<grpc::Channel> NewTransferChannel(const std::string& address,
                                                  grpc::ChannelArguments args = {});

class GrpcPullStream : public TransferStream,
                       public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  GrpcPullStream(StreamTarget target, StreamEvents events)
      : target_(target), events_(std::move(events)), asked_(target), outbox_(this) {}

  // Opens the call on `stub` with the cluster `token`.
  void Start(grpc::GenericStub& stub, const std::string& token);

  void Request(const std::vector<uint64_t>& chunks) override;
  void Close() override;
  void Cancel() override { context_.TryCancel(); }

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override { outbox_.OnWriteDone(ok); }
  void OnDone(const grpc::Status& status) override;

 private:
  const StreamTarget target_;
  StreamEvents events_;
  AskedChunks asked_;
  grpc::ClientContext context_;
  grpc::ByteBuffer chunk_;
  ChunkReader reader_;
  std::mutex mu_;
  absl::Status failure_;  // why this end cancelled the call
  Outbox<grpc::ByteBuffer, GrpcPullStream> outbox_;
};

}  // namespace flare

#endif  // FLARE_OBJECT_MANAGER_GRPC_PULL_STREAM_H_
