// A node's one gRPC port: every service the node offers to other nodes (and,
// on the head, the GCS) on one TCP address. Local drivers and workers use
// the Unix socket instead.
#ifndef FLARE_RPC_CLUSTER_SERVER_H_
#define FLARE_RPC_CLUSTER_SERVER_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"

namespace flare {

class ClusterServer {
 public:
  // Listens on host:port (port 0: one the kernel picks) and serves
  // `services`, which must outlive the server. A port already in use is an
  // error naming it (no SO_REUSEPORT sharing).
  static absl::StatusOr<std::unique_ptr<ClusterServer>> Start(
      const std::string& host, int port, const std::vector<grpc::Service*>& services);
  ~ClusterServer() { Shutdown(); }

  int port() const { return port_; }
  // Stops accepting and ends every call, waiting at most `grace` for calls
  // to finish on their own. Idempotent.
  void Shutdown(std::chrono::milliseconds grace = std::chrono::milliseconds(200));

 private:
  ClusterServer(std::unique_ptr<grpc::Server> server, int port)
      : server_(std::move(server)), port_(port) {}

  std::unique_ptr<grpc::Server> server_;
  int port_;
  bool shut_down_ = false;
};

}  // namespace flare

#endif  // FLARE_RPC_CLUSTER_SERVER_H_
