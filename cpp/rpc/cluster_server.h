// A node's one port: every gRPC service the node offers to other nodes
// (and, on the head, the GCS), and the raw data connections of object
// transfer, on one TCP address (a SharedPort). Local drivers and workers use
// the Unix socket instead.
#ifndef FLARE_RPC_CLUSTER_SERVER_H_
#define FLARE_RPC_CLUSTER_SERVER_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "rpc/shared_port.h"

namespace flare {

class ClusterServer {
 public:
  // Listens on host:port (port 0: one the kernel picks), serves `services`
  // with the node's gRPC settings (channel_args.h) and hands connections
  // that open with `raw.magic` to `raw.handler` (none: gRPC only).
  // `services` must outlive the server. A port already in use is an error
  // naming it (no SO_REUSEPORT sharing).
  static absl::StatusOr<std::unique_ptr<ClusterServer>> Start(
      const std::string& host, int port, const std::vector<grpc::Service*>& services,
      SharedPort::RawRoutes raw = {}, SharedPortOptions options = {});

  int port() const { return port_->port(); }
  // Stops accepting and ends every call, waiting at most `grace` for calls
  // to finish on their own. Raw connections belong to their handler.
  // Idempotent; the destructor does it too.
  void Shutdown(std::chrono::milliseconds grace = std::chrono::milliseconds(200)) {
    port_->Shutdown(grace);
  }

 private:
  explicit ClusterServer(std::unique_ptr<SharedPort> port) : port_(std::move(port)) {}

  std::unique_ptr<SharedPort> port_;
};

}  // namespace flare

#endif  // FLARE_RPC_CLUSTER_SERVER_H_
