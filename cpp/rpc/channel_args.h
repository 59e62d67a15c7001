// The gRPC settings every flare node uses, on both ends of a connection.
#ifndef FLARE_RPC_CHANNEL_ARGS_H_
#define FLARE_RPC_CHANNEL_ARGS_H_

#include <cstddef>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "raylet/node_io.h"
#include "rpc/read_budget.h"

namespace flare {

// The largest message a node accepts from the network; larger ones are
// refused by gRPC before they reach flare.
inline constexpr int kMaxClusterMessageBytes = static_cast<int>(kMaxPeerMessageBytes);

// What one stream between nodes may carry and queue (see ClientStream).
struct StreamLimits {
  size_t max_message_bytes = kMaxClusterMessageBytes;
  // Read and handed to the event loop but not handled yet (ReadBudget).
  size_t max_unhandled_bytes = kStreamUnhandledBytes;
  // Queued to be written: past this the other end is taken to have stopped
  // reading and the stream ends (Outbox).
  size_t max_queued_bytes = size_t{1} << 30;
};

// A channel to another node's port.
std::shared_ptr<grpc::Channel> NewChannel(const std::string& address);

}  // namespace flare

#endif  // FLARE_RPC_CHANNEL_ARGS_H_
