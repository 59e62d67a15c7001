#include "rpc/gcs_connection.h"

#include <boost/asio/post.hpp>

#include "rpc/channel_args.h"
#include "rpc/token.h"

namespace flare {

GcsConnection::GcsConnection(boost::asio::io_context& loop, const std::string& address,
                             const std::string& token, Callbacks callbacks)
    : loop_(loop),
      address_(address),
      callbacks_(std::move(callbacks)),
      channel_(NewChannel(address)),
      stub_(rpc::GcsService::NewStub(channel_)),
      outbox_(this) {
  AttachToken(context_, token);
  stub_->async()->Connect(&context_, this);
  StartRead(&push_);
  StartCall();
}

GcsConnection::~GcsConnection() {
  context_.TryCancel();
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [this] { return done_; });
}

void GcsConnection::OnReadDone(bool ok) {
  if (!ok) {
    outbox_.Close(nullptr);
    return;
  }
  boost::asio::post(loop_, [this, push = std::move(push_)] {
    if (callbacks_.on_push) callbacks_.on_push(push);
  });
  push_.Clear();
  StartRead(&push_);
}

void GcsConnection::OnDone(const grpc::Status& status) {
  outbox_.Close(nullptr);
  boost::asio::post(loop_, [this, status = FromGrpc(status, address_)] {
    if (callbacks_.on_closed) callbacks_.on_closed(status);
  });
  std::lock_guard<std::mutex> lock(mu_);
  done_ = true;
  done_cv_.notify_all();
}

absl::Status FromGrpc(const grpc::Status& status, const std::string& address,
                      const std::string& peer) {
  switch (status.error_code()) {
    case grpc::StatusCode::OK:
      return absl::UnavailableError("the " + peer + " at " + address + " closed the connection");
    case grpc::StatusCode::UNAVAILABLE:
      return absl::UnavailableError("no flare " + peer + " answered at " + address + " (" +
                                    status.error_message() + ")");
    case grpc::StatusCode::UNAUTHENTICATED:
      return absl::UnauthenticatedError("the " + peer + " at " + address +
                                        " refused this node: " + status.error_message());
    case grpc::StatusCode::CANCELLED:
      return absl::CancelledError("the connection to " + address + " was cancelled");
    default:
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          "the " + peer + " at " + address + ": " + status.error_message());
  }
}

}  // namespace flare
