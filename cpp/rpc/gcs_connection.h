// A node's stream to the GCS on the head (proto/cluster.proto): its
// membership and its requests. See ClientStream for threads, bounds and
// lifetime.
#ifndef FLARE_RPC_GCS_CONNECTION_H_
#define FLARE_RPC_GCS_CONNECTION_H_

#include <memory>
#include <string>

#include "cluster.grpc.pb.h"
#include "rpc/client_stream.h"

namespace flare {

class GcsConnection : public ClientStream<rpc::GcsRequest, rpc::GcsPush> {
 public:
  // Opens the stream to the GCS at `address` ("host:port") with `token`.
  GcsConnection(boost::asio::io_context& loop, const std::string& address,
                const std::string& token, Callbacks callbacks, StreamLimits limits = {});

 private:
  std::unique_ptr<rpc::GcsService::Stub> stub_;
};

}  // namespace flare

#endif  // FLARE_RPC_GCS_CONNECTION_H_
