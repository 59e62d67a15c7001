// What a raylet serves to other nodes on its port (proto/cluster.proto,
// NodeService): its record, and a stream on which another node's raylet is
// a client of this one (kind PEER). gRPC's threads only post stream events
// onto the raylet's event loop, where the local IPC server handles a peer
// exactly like a local client. Each stream's reads are bounded (a
// ReadBudget of `limits`), its writes batched and kept within one message's
// size (peer_messages.h).
//
// Lifetime: create it before the gRPC server that serves it and destroy it
// after that server has shut down.
#ifndef FLARE_RPC_NODE_SERVICE_H_
#define FLARE_RPC_NODE_SERVICE_H_

#include <mutex>
#include <string>

#include <boost/asio/io_context.hpp>
#include <grpcpp/grpcpp.h>

#include "cluster.grpc.pb.h"
#include "raylet/local_server.h"
#include "rpc/channel_args.h"

namespace flare {

class NodeGrpcService final : public rpc::NodeService::CallbackService {
 public:
  // Borrows both; `clients` takes each peer stream as a client link.
  NodeGrpcService(boost::asio::io_context& loop, LocalServer& clients, std::string token,
                  StreamLimits limits = {})
      : loop_(loop), clients_(clients), token_(std::move(token)), limits_(limits) {}

  // The record Info answers with; the event loop refreshes it. Thread-safe.
  void SetInfo(rpc::NodeInfo info) {
    std::lock_guard<std::mutex> lock(mu_);
    info_ = std::move(info);
  }

 private:
  class PeerStream;
  grpc::ServerUnaryReactor* Info(grpc::CallbackServerContext* context, const rpc::Empty* request,
                                 rpc::NodeInfo* reply) override;
  grpc::ServerBidiReactor<rpc::Message, rpc::Message>* Connect(
      grpc::CallbackServerContext* context) override;

  boost::asio::io_context& loop_;
  LocalServer& clients_;
  const std::string token_;
  const StreamLimits limits_;
  std::mutex mu_;
  rpc::NodeInfo info_;
};

}  // namespace flare

#endif  // FLARE_RPC_NODE_SERVICE_H_
