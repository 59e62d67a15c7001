#include "object_manager/pull_stream.h"

#include <algorithm>
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

void PullStream::Start(grpc::GenericStub& stub, const std::string& token) {
  AttachToken(context_, token);
  stub.PrepareBidiStreamingCall(&context_, kPullMethod, grpc::StubOptions(), this);
  rpc::PullRequest open;
  open.set_object_id(target_.object.Data(), ObjectId::kSize);
  open.set_object_size(target_.size);
  outbox_.Push(EncodeRequest(open));
  StartRead(&chunk_);
  StartCall();
}

void PullStream::Request(const std::vector<uint64_t>& chunks) {
  for (uint64_t index : chunks) {
    rpc::PullRequest request;
    request.set_offset(index * target_.chunk_bytes);
    request.set_length(std::min(target_.chunk_bytes, target_.size - request.offset()));
    {
      std::lock_guard<std::mutex> lock(mu_);
      asked_.insert(index);
    }
    outbox_.Push(EncodeRequest(request));
  }
}

void PullStream::Close() {
  outbox_.Close([this] { StartWritesDone(); });
}

absl::StatusOr<uint64_t> PullStream::Accept() {
  const uint64_t offset = reader_.offset();
  const uint64_t index = offset / target_.chunk_bytes;
  if (offset % target_.chunk_bytes != 0 || offset >= target_.size ||
      reader_.length() != std::min(target_.chunk_bytes, target_.size - offset)) {
    return absl::InvalidArgumentError("the sender sent bytes [" + std::to_string(offset) + ", +" +
                                      std::to_string(reader_.length()) +
                                      "), which is no chunk of object " + target_.object.Hex());
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (asked_.erase(index) == 0) {
    return absl::InvalidArgumentError("the sender sent chunk " + std::to_string(index) +
                                      " of object " + target_.object.Hex() +
                                      ", which was not asked for");
  }
  return index;
}

void PullStream::OnReadDone(bool ok) {
  if (!ok) return;  // the call is ending; OnDone follows
  absl::Status parsed = reader_.Parse(chunk_);
  absl::StatusOr<uint64_t> index = parsed.ok() ? Accept() : absl::StatusOr<uint64_t>(parsed);
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

void PullStream::OnDone(const grpc::Status& status) {
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
