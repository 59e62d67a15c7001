// This raylet as a client of another node's raylet (NodeService.Connect):
// it registers as a PEER, then sends the local protocol's messages (tasks it
// places there, their arguments, subscriptions, cancels) and gets that
// node's answers. Messages and the stream's end are posted onto this
// raylet's event loop; Send may be called from any thread.
#ifndef FLARE_RPC_PEER_CONNECTION_H_
#define FLARE_RPC_PEER_CONNECTION_H_

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/io_context.hpp>
#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "cluster.grpc.pb.h"
#include "common/ids.h"
#include "rpc/outbox.h"

namespace flare {

class PeerConnection : public grpc::ClientBidiReactor<rpc::Message, rpc::Message> {
 public:
  struct Callbacks {
    std::function<void(rpc::Message&)> on_message;
    std::function<void(const absl::Status&)> on_closed;
  };

  // Connects to the node at `address` ("host:port") and registers as the
  // peer `self`.
  PeerConnection(boost::asio::io_context& loop, const std::string& address,
                 const std::string& token, const NodeId& self, Callbacks callbacks);
  // Cancels the stream and waits until gRPC is done with it. REQUIRES: the
  // event loop no longer runs (posted callbacks refer to this object).
  ~PeerConnection() override;

  // Queues `message`; false once the stream has ended.
  bool Send(rpc::Message message) { return outbox_.Push(std::move(message)); }

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override { outbox_.OnWriteDone(ok); }
  void OnDone(const grpc::Status& status) override;

 private:
  boost::asio::io_context& loop_;
  const std::string address_;
  Callbacks callbacks_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<rpc::NodeService::Stub> stub_;
  grpc::ClientContext context_;
  rpc::Message incoming_;
  Outbox<rpc::Message, PeerConnection> outbox_;
  std::mutex mu_;
  std::condition_variable done_cv_;
  bool done_ = false;
};

}  // namespace flare

#endif  // FLARE_RPC_PEER_CONNECTION_H_
