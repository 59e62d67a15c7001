// What a raylet serves to other nodes on its port (proto/cluster.proto,
// NodeService). Handlers run on gRPC's threads; anything that touches node
// state hops onto the raylet's event loop.
#ifndef FLARE_RPC_NODE_SERVICE_H_
#define FLARE_RPC_NODE_SERVICE_H_

#include <mutex>
#include <string>

#include <grpcpp/grpcpp.h>

#include "cluster.grpc.pb.h"

namespace flare {

class NodeGrpcService final : public rpc::NodeService::CallbackService {
 public:
  explicit NodeGrpcService(std::string token) : token_(std::move(token)) {}

  // The record Info answers with; the event loop refreshes it. Thread-safe.
  void SetInfo(rpc::NodeInfo info) {
    std::lock_guard<std::mutex> lock(mu_);
    info_ = std::move(info);
  }

 private:
  grpc::ServerUnaryReactor* Info(grpc::CallbackServerContext* context, const rpc::Empty* request,
                                 rpc::NodeInfo* reply) override;

  const std::string token_;
  std::mutex mu_;
  rpc::NodeInfo info_;
};

}  // namespace flare

#endif  // FLARE_RPC_NODE_SERVICE_H_
