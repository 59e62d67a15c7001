// A node's stream to the GCS on the head (proto/cluster.proto). Messages
// from the GCS and the stream's end are posted onto the node's event loop;
// Send may be called from any thread and queues on the stream's Outbox.
//
// One connection, one stream: when it ends (head gone, token refused, node
// declared dead) `on_closed` gets the reason and the object is finished.
#ifndef FLARE_RPC_GCS_CONNECTION_H_
#define FLARE_RPC_GCS_CONNECTION_H_

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/io_context.hpp>
#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "cluster.grpc.pb.h"
#include "rpc/outbox.h"

namespace flare {

class GcsConnection : public grpc::ClientBidiReactor<rpc::GcsRequest, rpc::GcsPush> {
 public:
  struct Callbacks {
    std::function<void(const rpc::GcsPush&)> on_push;
    std::function<void(const absl::Status&)> on_closed;
  };

  // Opens the stream to the GCS at `address` ("host:port") with `token`.
  GcsConnection(boost::asio::io_context& loop, const std::string& address,
                const std::string& token, Callbacks callbacks);
  // Cancels the stream and waits until gRPC is done with it.
  ~GcsConnection() override;

  // Queues `request`; false once the stream has ended.
  bool Send(rpc::GcsRequest request) { return outbox_.Push(std::move(request)); }

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override { outbox_.OnWriteDone(ok); }
  void OnDone(const grpc::Status& status) override;

 private:
  boost::asio::io_context& loop_;
  const std::string address_;
  Callbacks callbacks_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<rpc::GcsService::Stub> stub_;
  grpc::ClientContext context_;
  rpc::GcsPush push_;
  Outbox<rpc::GcsRequest, GcsConnection> outbox_;
  std::mutex mu_;
  std::condition_variable done_cv_;
  bool done_ = false;
};

// gRPC's status as an absl::Status with a message a user can act on;
// `peer` names what was dialed ("head", "node").
absl::Status FromGrpc(const grpc::Status& status, const std::string& address,
                      const std::string& peer = "head");

}  // namespace flare

#endif  // FLARE_RPC_GCS_CONNECTION_H_
