// How the raylet reaches one of its clients: a driver or worker on the local
// Unix socket (Connection), or another node's raylet on the cluster port (a
// gRPC stream, cpp/rpc/node_service.h). The local IPC server keeps one per
// client and does not care which it is.
//
// Only the raylet's event loop calls these; implementations that involve
// other threads make that safe themselves.
#ifndef FLARE_RAYLET_CLIENT_LINK_H_
#define FLARE_RAYLET_CLIENT_LINK_H_

#include "absl/status/status.h"
#include "flare.pb.h"

namespace flare {

class ClientLink {
 public:
  virtual ~ClientLink() = default;
  // Queues `message`; dropped once the link is closed.
  virtual void Send(const rpc::Message& message) = 0;
  // Sends the registration reply, with the arena's file descriptor where
  // the client can map it (local clients); false when the link is gone.
  virtual bool SendWithFd(const rpc::Message& message, int fd) = 0;
  virtual void Close() = 0;
  // Closes the link because the client broke the protocol (`why`); a link
  // that can carry an error to the other end (a peer's stream) does.
  virtual void Refuse(const absl::Status& why) { Close(); }
};

}  // namespace flare

#endif  // FLARE_RAYLET_CLIENT_LINK_H_
