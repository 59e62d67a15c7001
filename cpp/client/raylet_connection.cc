#include "client/raylet_connection.h"

#include <string>
#include <utility>
#include <vector>

namespace flare {

namespace {

// How long a barrier waits for the raylet to answer.
constexpr int kBarrierTimeoutMs = 30000;

}  // namespace

RayletConnection::~RayletConnection() { Stop(); }

void RayletConnection::Start(Handler& handler) {
  io_thread_ = std::thread([this, &handler] { IoLoop(handler); });
}

void RayletConnection::Stop() {
  if (!io_thread_.joinable()) return;
  channel_->FlushDeferred();
  channel_->Shutdown();
  io_thread_.join();
}

void RayletConnection::IoLoop(Handler& handler) {
  std::vector<rpc::Message> messages;
  std::string error;
  auto dispatch = [&] {
    for (auto& message : messages) {
      const uint64_t request_id = RequestIdOf(message);
      if (request_id == 0) {
        handler.OnMessage(message);
        continue;
      }
      std::lock_guard<std::mutex> lock(waiter_.mutex());
      pending_.Complete(request_id, std::move(message));  // false: the caller gave up
    }
    messages.clear();
  };
  while (channel_->Poll(&messages, &error)) {
    dispatch();
    waiter_.NotifyBatch();
  }
  dispatch();
  waiter_.Close(error);
}

absl::Status RayletConnection::SendError(const absl::Status& status) const {
  const std::string reason = waiter_.ClosedReason();
  return ConnectionLostError(reason.empty() ? std::string(status.message()) : reason);
}

absl::Status RayletConnection::Send(const rpc::Message& message) {
  absl::Status status = channel_->Send(message);
  return status.ok() ? status : SendError(status);
}

absl::Status RayletConnection::SendDeferred(const rpc::Message& message) {
  absl::Status status = channel_->SendDeferred(message);
  return status.ok() ? status : SendError(status);
}

absl::StatusOr<rpc::Message> RayletConnection::Call(rpc::Message request, int timeout_ms) {
  uint64_t request_id;
  {
    std::lock_guard<std::mutex> lock(waiter_.mutex());
    request_id = pending_.Add();
  }
  if (!SetRequestId(&request, request_id)) {
    std::lock_guard<std::mutex> lock(waiter_.mutex());
    pending_.Take(request_id);
    return absl::InvalidArgumentError(
        "this kind of message carries no request id: it gets no reply");
  }
  absl::Status sent = Send(request);
  std::unique_lock<std::mutex> lock(waiter_.mutex());
  if (!sent.ok()) {
    pending_.Take(request_id);
    return sent;
  }
  absl::Status waited =
      waiter_.Wait(lock, timeout_ms, nullptr, [&] { return pending_.HasReply(request_id); });
  std::optional<rpc::Message> reply = pending_.Take(request_id);
  if (reply) return std::move(*reply);
  if (!waited.ok()) return waited;
  return absl::InternalError("no reply");
}

absl::Status RayletConnection::Barrier() {
  rpc::Message ping;
  ping.mutable_ping();
  return Call(std::move(ping), kBarrierTimeoutMs).status();
}

}  // namespace flare
