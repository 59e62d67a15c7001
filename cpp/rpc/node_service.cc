#include "rpc/node_service.h"

#include "rpc/token.h"

namespace flare {

grpc::ServerUnaryReactor* NodeGrpcService::Info(grpc::CallbackServerContext* context,
                                                const rpc::Empty*, rpc::NodeInfo* reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  grpc::Status allowed = CheckToken(*context, token_);
  if (allowed.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    *reply = info_;
  }
  reactor->Finish(std::move(allowed));
  return reactor;
}

}  // namespace flare
