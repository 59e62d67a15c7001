// The gRPC settings every flare node uses, on both ends of a connection.
#ifndef FLARE_RPC_CHANNEL_ARGS_H_
#define FLARE_RPC_CHANNEL_ARGS_H_

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

namespace flare {

// The largest message a node accepts from the network; larger ones are
// refused by gRPC before they reach flare.
inline constexpr int kMaxClusterMessageBytes = 64 << 20;

// A channel to another node's port.
std::shared_ptr<grpc::Channel> NewChannel(const std::string& address);

}  // namespace flare

#endif  // FLARE_RPC_CHANNEL_ARGS_H_
