#include "object_manager/grpc_pull_stream.h"

#include <utility>

#include "rpc/channel_args.h"
#include "rpc/token.h"

namespace flare {

std::shared_ptr<grpc::Channel> NewTransferChannel(const std::string& address,
                                                  grpc::ChannelArguments args) {
  args.SetMaxReceiveMessageSize(kMaxClusterMessageBytes);
  args.SetMaxSendMessageSize(kMaxClusterMessageBytes);
  // Bulk bytes get a TCP connection of their own, so a transfer never queues
  // the node's control stream behind it.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 2000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 2000);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

void GrpcPullStream::Start(grpc::GenericStub& stub, const std::string& token) {
  AttachToken(context_, token);
  stub.PrepareBidiStreamingCall(&context_, kPullMethod, grpc::StubOptions(), this);
  rpc::PullRequest open;
  open.set_object_id(target_.object.Data(), ObjectId::kSize);
  open.set_object_size(target_.size);
  outbox_.Push(EncodeRequest(open));
  StartRead(&chunk_);
  StartCall();
}

void GrpcPullStream::Request(const std::vector<uint64_t>& chunks) {
  for (uint64_t index : chunks) {
    const AskedChunks::Range range = asked_.Ask(index);
    rpc::PullRequest request;
    request.set_offset(range.offset);
    request.set_length(range.length);
    outbox_.Push(EncodeRequest(request));
  }
}

void GrpcPullStream::Close() {
  outbox_.Close([this] { StartWritesDone(); });
}

void GrpcPullStream::OnReadDone(bool ok) {
  if (!ok) return;  // the call is ending; OnDone follows
  absl::Status parsed = reader_.Parse(chunk_);
  absl::StatusOr<uint64_t> index =
      parsed.ok() ? asked_.Receive(reader_.offset(), reader_.length())
                  : absl::StatusOr<uint64_t>(parsed);
  if (!index.ok()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      failure_ = index.status();
    }
    context_.TryCancel();
    return;
  }
  reader_.CopyDataTo(target_.buffer + reader_.offset());
  chunk_.Clear();
  events_.on_chunk(*index);
  StartRead(&chunk_);
}

void GrpcPullStream::OnDone(const grpc::Status& status) {
  absl::Status result;
  {
    std::lock_guard<std::mutex> lock(mu_);
    result = failure_;
  }
  if (result.ok() && !status.ok()) {
    result = absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          status.error_message());
  }
  // The owner may destroy this stream as soon as it hears of the end.
  std::function<void(absl::Status)> on_ended = std::move(events_.on_ended);
  on_ended(std::move(result));
}

}  // namespace flare
