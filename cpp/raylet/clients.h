// The raylet's view of its local clients (drivers and workers on the Unix
// socket): who they are, and a channel to send them messages. The local IPC
// server (local_server.h) implements ClientChannel over real connections;
// unit tests implement it with a recorder, so the raylet's logic runs
// without sockets.
#ifndef FLARE_RAYLET_CLIENTS_H_
#define FLARE_RAYLET_CLIENTS_H_

#include <sys/types.h>

#include <vector>

#include "common/ids.h"
#include "flare.pb.h"
#include "object_store/object_table.h"

namespace flare {

// What a client said when it registered (and the job a driver was given).
struct ClientInfo {
  ClientId id = 0;
  rpc::ClientKind kind = rpc::CLIENT_KIND_UNSPECIFIED;
  pid_t pid = 0;
  JobId job_id;
  bool log_to_driver = false;
};

class ClientChannel {
 public:
  virtual ~ClientChannel() = default;
  // Queues `message` for `client`; dropped when the client is gone.
  virtual void Send(ClientId client, const rpc::Message& message) = 0;
  // nullptr once the client is gone.
  virtual const ClientInfo* Find(ClientId client) const = 0;
  // Every connected client.
  virtual std::vector<ClientId> All() const = 0;
};

}  // namespace flare

#endif  // FLARE_RAYLET_CLIENTS_H_
