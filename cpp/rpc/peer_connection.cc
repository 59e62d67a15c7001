#include "rpc/peer_connection.h"

#include <unistd.h>

namespace flare {

PeerConnection::PeerConnection(boost::asio::io_context& loop, const std::string& address,
                               const std::string& token, const NodeId& self,
                               Callbacks callbacks, StreamLimits limits)
    : ClientStream(loop, address, token, "node", std::move(callbacks), limits),
      stub_(rpc::NodeService::NewStub(channel())) {
  stub_->async()->Connect(context(), this);
  rpc::Message hello;
  auto* registration = hello.mutable_register_client();
  registration->set_kind(rpc::PEER);
  registration->set_pid(getpid());
  registration->set_node_id(self.Binary());
  Send(std::move(hello)).IgnoreError();  // first on a fresh stream: always queued
  Begin();
}

}  // namespace flare
