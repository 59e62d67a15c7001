// The raylet's view of its local clients (drivers and workers on the Unix
// socket): who they are, and a channel to send them messages. The local IPC
// server (local_server.h) implements ClientChannel over real connections;
// unit tests implement it with a recorder, so the raylet's logic runs
// without sockets.
#ifndef FLARE_RAYLET_CLIENTS_H_
#define FLARE_RAYLET_CLIENTS_H_

#include <sys/types.h>

#include <string>
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
  NodeId node_id;  // a PEER: the node whose raylet it is
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

// Messages every unit of the raylet sends the same way.

// Sends `lines` to the drivers of their job that asked for worker logs.
void SendToDrivers(ClientChannel& clients, const rpc::LogLines& lines);
// Sends a local worker's `lines` to the other nodes' raylets that placed
// tasks here (they pass them to their drivers), the prefix naming this
// node's `ip`: "(f pid=N, ip=10.0.0.2)".
void SendToPeers(ClientChannel& clients, const rpc::LogLines& lines, const std::string& ip);
// A line of the raylet's own for the drivers of job `job_id` (binary), shown
// as "(raylet) ...", and on the raylet's stderr.
void LogToJob(ClientChannel& clients, const std::string& job_id, const std::string& line);
// Asks every client to drop the values it only caches (no reader holds
// them), so that the arena's objects can be spilled.
void AskClientsToUnpin(ClientChannel& clients);

}  // namespace flare

#endif  // FLARE_RAYLET_CLIENTS_H_
