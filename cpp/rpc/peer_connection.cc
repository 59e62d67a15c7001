#include "rpc/peer_connection.h"

#include <unistd.h>

#include <boost/asio/post.hpp>

#include "rpc/channel_args.h"
#include "rpc/gcs_connection.h"
#include "rpc/token.h"

namespace flare {

PeerConnection::PeerConnection(boost::asio::io_context& loop, const std::string& address,
                               const std::string& token, const NodeId& self, Callbacks callbacks)
    : loop_(loop),
      address_(address),
      callbacks_(std::move(callbacks)),
      channel_(NewChannel(address)),
      stub_(rpc::NodeService::NewStub(channel_)),
      outbox_(this) {
  AttachToken(context_, token);
  stub_->async()->Connect(&context_, this);
  rpc::Message hello;
  auto* registration = hello.mutable_register_client();
  registration->set_kind(rpc::PEER);
  registration->set_pid(getpid());
  registration->set_node_id(self.Binary());
  outbox_.Push(std::move(hello));
  StartRead(&incoming_);
  StartCall();
}

PeerConnection::~PeerConnection() {
  context_.TryCancel();
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [this] { return done_; });
}

void PeerConnection::OnReadDone(bool ok) {
  if (!ok) {
    outbox_.Close(nullptr);
    return;
  }
  boost::asio::post(loop_, [this, message = std::move(incoming_)]() mutable {
    if (callbacks_.on_message) callbacks_.on_message(message);
  });
  incoming_.Clear();
  StartRead(&incoming_);
}

void PeerConnection::OnDone(const grpc::Status& status) {
  outbox_.Close(nullptr);
  boost::asio::post(loop_, [this, status = FromGrpc(status, address_, "node")] {
    if (callbacks_.on_closed) callbacks_.on_closed(status);
  });
  std::lock_guard<std::mutex> lock(mu_);
  done_ = true;
  done_cv_.notify_all();
}

}  // namespace flare
