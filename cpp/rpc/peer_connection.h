// This raylet as a client of another node's raylet (NodeService.Connect):
// it registers as a PEER, then sends the local protocol's messages (tasks it
// places there, their arguments, subscriptions, cancels) and gets that
// node's answers, both ways in batches (peer_messages.h). See ClientStream
// for threads, bounds and lifetime.
#ifndef FLARE_RPC_PEER_CONNECTION_H_
#define FLARE_RPC_PEER_CONNECTION_H_

#include <memory>
#include <string>

#include "cluster.grpc.pb.h"
#include "common/ids.h"
#include "rpc/client_stream.h"
#include "rpc/peer_link.h"

namespace flare {

class PeerConnection : public ClientStream<rpc::Message, rpc::Message, PeerBatching>,
                       public PeerLink {
 public:
  // Connects to the node at `address` ("host:port") and registers as the
  // peer `self`.
  PeerConnection(boost::asio::io_context& loop, const std::string& address,
                 const std::string& token, const NodeId& self, Callbacks callbacks,
                 StreamLimits limits = {});

  absl::Status SendFitted(rpc::Message message, bool held) override {
    return Checked(PushToPeer(outbox(), std::move(message), "a link to another node", held));
  }
  void Flush() override { ClientStream::Flush(); }

 private:
  std::unique_ptr<rpc::NodeService::Stub> stub_;
};

}  // namespace flare

#endif  // FLARE_RPC_PEER_CONNECTION_H_
