// This raylet's link to one other node's raylet, as the PeerPool uses it:
// over gRPC (PeerConnection) or a raw TCP link (RawPeerConnection, the
// default). Both register as a PEER first, send the local protocol's
// messages and hand what comes back, and the link's end, to the callbacks
// on the event loop.
#ifndef FLARE_RPC_PEER_LINK_H_
#define FLARE_RPC_PEER_LINK_H_

#include <functional>

#include "absl/status/status.h"
#include "flare.pb.h"

namespace flare {

enum class PeerTransport { kRaw, kGrpc };

struct PeerCallbacks {
  std::function<void(rpc::Message&)> on_message;
  // Once, with the reason the link ended.
  std::function<void(const absl::Status&)> on_closed;
};

class PeerLink {
 public:
  virtual ~PeerLink() = default;
  // Queues `message`, fitted to the size one message may have (a message
  // that cannot be is dropped with a log line). `held`: it may wait to ride
  // with the next message, or Flush. Unavailable once the link has ended.
  virtual absl::Status SendFitted(rpc::Message message, bool held) = 0;
  // Writes what SendFitted held back.
  virtual void Flush() = 0;
};

}  // namespace flare

#endif  // FLARE_RPC_PEER_LINK_H_
