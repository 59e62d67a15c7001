// The raylet's local IPC server: owns the Unix-socket connections of its
// drivers and workers, registers them, and turns each message into a call
// of LocalRequestHandler (the NodeManager), which answers through the
// ClientChannel this server implements.
//
// Thread-compatible: the raylet's event loop is its only user.
#ifndef FLARE_RAYLET_LOCAL_SERVER_H_
#define FLARE_RAYLET_LOCAL_SERVER_H_

#include <functional>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "raylet/clients.h"
#include "raylet/connection.h"

namespace flare {

// What the raylet does with each local message. `client` stays valid for
// the duration of the call.
class LocalRequestHandler {
 public:
  virtual ~LocalRequestHandler() = default;

  using RegisterDone = std::function<void(rpc::RegisterReply reply)>;
  // A client introduces itself. The handler decides what registering gives
  // it (a driver's job id, which the GCS hands out) and calls `done` with
  // the reply exactly once, at once or later on the event loop. The server
  // records the reply's job id, sends the reply with the arena's file
  // descriptor, and closes the connection when the reply has an error; a
  // client that left meanwhile is not told.
  virtual void OnRegister(const ClientInfo& client, const rpc::RegisterClient& request,
                          RegisterDone done) = 0;
  virtual void OnRegistered(const ClientInfo& client) = 0;
  // The connection closed (the process exited, or dropped it).
  virtual void OnClientClosed(const ClientInfo& client) = 0;

  virtual void OnSubmitTask(const ClientInfo& client, rpc::TaskSpec& spec) = 0;
  virtual void OnTaskDone(const ClientInfo& client, rpc::TaskDone& done) = 0;
  virtual void OnTasksReturned(const ClientInfo& client, const rpc::TasksReturned& returned) = 0;
  virtual void OnWorkerBlocked(const ClientInfo& client, bool blocked) = 0;
  virtual void OnWorkerExiting(const ClientInfo& client, const rpc::WorkerExiting& exiting) = 0;
  virtual void OnCancelTask(const ClientInfo& client, const rpc::CancelTask& cancel) = 0;

  virtual void OnPutInline(const ClientInfo& client, rpc::PutInline& put) = 0;
  virtual void OnCreateObject(const ClientInfo& client, const rpc::CreateObject& create) = 0;
  virtual void OnSealObject(const ClientInfo& client, const rpc::SealObject& seal) = 0;
  virtual void OnAbortObject(const ClientInfo& client, const rpc::AbortObject& abort) = 0;
  virtual void OnSubscribe(const ClientInfo& client, const rpc::Subscribe& subscribe) = 0;
  virtual void OnRefUpdate(const ClientInfo& client, const rpc::RefUpdate& update) = 0;
  virtual void OnReleasePins(const ClientInfo& client, const rpc::ReleasePins& release) = 0;
  // A peer says where an argument of a task it is about to submit lives.
  virtual void OnObjectLocation(const ClientInfo& client, const rpc::ObjectLocation& location) = 0;
  // A peer holds copies of objects owned here now, or no longer does.
  virtual void OnObjectCopies(const ClientInfo& client, const rpc::ObjectCopies& copies) = 0;

  virtual void OnKvPut(const ClientInfo& client, rpc::KvPut& put) = 0;
  virtual void OnKvGet(const ClientInfo& client, const rpc::KvGet& get) = 0;
  virtual void OnRegisterActorName(const ClientInfo& client, rpc::RegisterActorName& request) = 0;
  virtual void OnLookupActor(const ClientInfo& client, const rpc::LookupActor& request) = 0;
  virtual void OnListNamedActors(const ClientInfo& client,
                                 const rpc::ListNamedActors& request) = 0;
  virtual void OnClusterInfo(const ClientInfo& client, const rpc::ClusterInfoRequest& request) = 0;
  virtual void OnStoreStats(const ClientInfo& client, const rpc::StoreStatsRequest& request) = 0;
  virtual void OnLogLines(const rpc::LogLines& lines) = 0;

  virtual void OnKillActor(const rpc::KillActor& kill) = 0;
  virtual void OnGeneratorYield(const ClientInfo& client, rpc::GeneratorYield& items) = 0;
  virtual void OnReleaseGenerator(const ClientInfo& client,
                                  const rpc::ReleaseGenerator& release) = 0;
  virtual void OnCreatePlacementGroup(const ClientInfo& client,
                                      const rpc::CreatePlacementGroup& create) = 0;
  virtual void OnRemovePlacementGroup(const ClientInfo& client,
                                      const rpc::RemovePlacementGroup& remove) = 0;
  virtual void OnPlacementGroupTable(const ClientInfo& client,
                                     const rpc::PlacementGroupTableRequest& request) = 0;
  virtual void OnRegisterPlacementGroup(const ClientInfo& client,
                                        rpc::RegisterPlacementGroup& request) = 0;
  virtual void OnJobInfo(const ClientInfo& client, const rpc::JobInfoRequest& request) = 0;
  // Another node reserving bundles of its placement group here (only a
  // PEER may).
  virtual void OnPrepareBundles(const ClientInfo& client, const rpc::PrepareBundles& request) = 0;
  virtual void OnCommitBundles(const ClientInfo& client, const rpc::CommitBundles& commit) = 0;
  virtual void OnReturnBundles(const ClientInfo& client, const rpc::ReturnBundles& give_back) = 0;
};

class LocalServer : public Connection::Handler, public ClientChannel {
 public:
  // `arena_fd` goes to every client that registers.
  explicit LocalServer(int arena_fd) : arena_fd_(arena_fd) {}

  // REQUIRES: called once, before the first Accept.
  void set_handler(LocalRequestHandler* handler) { handler_ = handler; }
  void Accept(Connection::Socket socket);
  // A client on another kind of link (a peer node's stream). The link calls
  // OnLinkMessage and OnLinkClosed with the id this returns.
  ClientId AddLink(std::shared_ptr<ClientLink> link);
  void OnLinkMessage(ClientId client, rpc::Message& message);
  void OnLinkClosed(ClientId client);

  // ClientChannel.
  void Send(ClientId client, const rpc::Message& message) override;
  const ClientInfo* Find(ClientId client) const override;
  std::vector<ClientId> All() const override;

  // Connection::Handler.
  void OnMessage(Connection& connection, rpc::Message& message) override;
  void OnClosed(Connection& connection) override;

 private:
  struct Client {
    std::shared_ptr<ClientLink> link;
    bool peer_link = false;  // a node's stream: only a PEER may register on it
    ClientInfo info;
    bool registering = false;  // waiting for the handler's reply
    bool registered = false;
    bool refused = false;  // dropped for a protocol error: the rest it sends is ignored
  };
  void Register(Client& client, const rpc::RegisterClient& request);
  void FinishRegister(ClientId id, rpc::RegisterReply body);
  void Dispatch(const ClientInfo& client, rpc::Message& message);
  // Drops a client that broke the protocol: a log line, and the link closes
  // telling it `why` where it can.
  void Refuse(Client& client, const absl::Status& why);

  int arena_fd_;
  LocalRequestHandler* handler_ = nullptr;
  ClientId next_client_id_ = 1;
  absl::flat_hash_map<ClientId, Client> clients_;
};

}  // namespace flare

#endif  // FLARE_RAYLET_LOCAL_SERVER_H_
