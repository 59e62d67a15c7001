// The raylet's composition root: it owns the node's units — object table,
// spill, scheduler and scheduling policy, worker pool, leases, tasks,
// actors, placement groups, generators — wires them to each other and to
// the I/O it is given (client channel, process control, timers, spill
// files, GCS client), and hands each local request to the unit that owns
// it. What a request does is the units' business; only registration,
// object wake-ups and worker process exits are handled here. Cluster state
// (nodes, KV, jobs, named actors, placement-group records) is the GCS's,
// reached through an injected GcsClient. Every method runs on the event
// loop.
#ifndef FLARE_RAYLET_NODE_MANAGER_H_
#define FLARE_RAYLET_NODE_MANAGER_H_

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/ids.h"
#include "flare.pb.h"
#include "gcs/gcs_client.h"
#include "object_store/arena.h"
#include "object_store/object_table.h"
#include "raylet/actor_manager.h"
#include "raylet/clients.h"
#include "raylet/gcs_requests.h"
#include "raylet/generator_manager.h"
#include "raylet/gpu_slots.h"
#include "raylet/lease_manager.h"
#include "raylet/local_server.h"
#include "raylet/node_io.h"
#include "raylet/node_units.h"
#include "raylet/placement_group_manager.h"
#include "raylet/remote_tasks.h"
#include "raylet/resources.h"
#include "raylet/return_store.h"
#include "raylet/scheduler.h"
#include "raylet/scheduling_policy.h"
#include "raylet/spill_manager.h"
#include "raylet/task_manager.h"
#include "raylet/worker_pool.h"

namespace flare {

struct NodeOptions {
  ResourceSet resources;
  NodeId node_id;  // nil: a random one
  std::string session_dir;
  std::string socket_path;
  size_t max_workers = 0;  // 0: derived from the CPU count
  pid_t driver_pid = 0;    // exit when this driver goes (0: run until stopped)
  // How the cluster sees this node.
  std::string ip = "127.0.0.1";
  int port = 0;  // its gRPC port
  bool is_head = false;
  std::string version;
  // A task no node fits waits this long for one to join (0: fails at once).
  std::chrono::milliseconds infeasible_grace{3000};
};

class NodeManager : public LocalRequestHandler, private ReturnStore {
 public:
  // `clients` (the local IPC server) carries what the raylet sends to its
  // drivers and workers. Borrows `clients` and `gcs`, which must outlive this.
  NodeManager(NodeOptions options, std::unique_ptr<Arena> arena,
              std::unique_ptr<WorkerLauncher> launcher, NodeIo node_io, ClientChannel& clients,
              GcsClient& gcs, std::function<void()> request_stop);

  // Prestarts the worker pool.
  absl::Status Start();
  // A child process exited with `status` (from waitpid).
  void OnChildExited(pid_t pid, int status);
  // Sends `signal` to every worker process.
  void SignalWorkers(int signal);

  // LocalRequestHandler: what local drivers and workers ask.
  void OnRegister(const ClientInfo& client, const rpc::RegisterClient& request,
                  RegisterDone done) override;
  void OnRegistered(const ClientInfo& client) override;
  void OnClientClosed(const ClientInfo& client) override;
  void OnSubmitTask(const ClientInfo& client, rpc::TaskSpec& spec) override;
  void OnTaskDone(const ClientInfo& client, rpc::TaskDone& done) override;
  void OnTasksReturned(const ClientInfo& client, const rpc::TasksReturned& returned) override;
  void OnWorkerBlocked(const ClientInfo& client, bool blocked) override;
  void OnWorkerExiting(const ClientInfo& client, const rpc::WorkerExiting& exiting) override;
  void OnCancelTask(const ClientInfo& client, const rpc::CancelTask& request) override;
  void OnPutInline(const ClientInfo& client, rpc::PutInline& put) override;
  void OnCreateObject(const ClientInfo& client, const rpc::CreateObject& request) override;
  void OnSealObject(const ClientInfo& client, const rpc::SealObject& seal) override;
  void OnAbortObject(const ClientInfo& client, const rpc::AbortObject& abort) override;
  void OnSubscribe(const ClientInfo& client, const rpc::Subscribe& request) override;
  void OnRefUpdate(const ClientInfo& client, const rpc::RefUpdate& update) override;
  void OnReleasePins(const ClientInfo& client, const rpc::ReleasePins& release) override;
  void OnKvPut(const ClientInfo& client, rpc::KvPut& put) override;
  void OnKvGet(const ClientInfo& client, const rpc::KvGet& get) override;
  void OnRegisterActorName(const ClientInfo& client, rpc::RegisterActorName& request) override;
  void OnLookupActor(const ClientInfo& client, const rpc::LookupActor& request) override;
  void OnListNamedActors(const ClientInfo& client, const rpc::ListNamedActors& request) override;
  void OnRegisterPlacementGroup(const ClientInfo& client,
                                rpc::RegisterPlacementGroup& request) override;
  void OnJobInfo(const ClientInfo& client, const rpc::JobInfoRequest& request) override;
  void OnClusterInfo(const ClientInfo& client, const rpc::ClusterInfoRequest& request) override;
  void OnStoreStats(const ClientInfo& client, const rpc::StoreStatsRequest& request) override;
  void OnLogLines(const rpc::LogLines& lines) override;
  void OnKillActor(const rpc::KillActor& request) override;
  void OnGeneratorYield(const ClientInfo& client, rpc::GeneratorYield& items) override;
  void OnReleaseGenerator(const ClientInfo& client, const rpc::ReleaseGenerator& release) override;
  void OnCreatePlacementGroup(const ClientInfo& client,
                              const rpc::CreatePlacementGroup& request) override;
  void OnRemovePlacementGroup(const ClientInfo& client,
                              const rpc::RemovePlacementGroup& request) override;
  void OnPlacementGroupTable(const ClientInfo& client,
                             const rpc::PlacementGroupTableRequest& request) override;
  void OnPrepareBundles(const ClientInfo& client, const rpc::PrepareBundles& request) override;
  void OnCommitBundles(const ClientInfo& client, const rpc::CommitBundles& commit) override;
  void OnReturnBundles(const ClientInfo& client, const rpc::ReturnBundles& give_back) override;

  const NodeId& node_id() const { return node_id_; }
  // This node's available resources as the cluster view shows them:
  // oversubscription while blocked workers resume shows as zero.
  rpc::ResourceSet AvailableForView() const;
  // Gives back the table capacity a burst of tasks and objects left behind
  // (the process then returns the freed heap to the system: main.cc).
  // Returns whether the node is quiet: no task of its own is queued or
  // running.
  bool Compact();

  // ---- the cluster --------------------------------------------------------
  // The GCS's view of every node: other nodes' resources feed the
  // scheduling policy; a node that died or left takes its tasks with it.
  void OnClusterView(const std::vector<rpc::NodeInfo>& nodes);
  // A message from another node's raylet, answering this one as its client.
  void OnPeerMessage(const NodeId& node, rpc::Message& message);
  // The link to `node` broke (`why`).
  void OnPeerLost(const NodeId& node, const std::string& why);
  void OnObjectLocation(const ClientInfo& client, const rpc::ObjectLocation& location) override;
  void OnObjectCopies(const ClientInfo& client, const rpc::ObjectCopies& copies) override;
  // What object transfer works on: the table and the arena it maps.
  ObjectTable& object_table() { return objects_; }
  uint8_t* arena_base() { return arena_->base(); }
  // Object transfer waits for room in the arena. `on_room` is posted onto
  // the loop (once for a burst) after objects are freed here.
  void SetRoomListener(std::function<void()> on_room) { on_room_ = std::move(on_room); }
  // Makes room for a pull of `bytes`: evicts a secondary copy, or spills
  // objects no client maps, or, when none can be, asks clients to drop the
  // values they only cache. `then` runs on the loop once there may be room:
  // right after an eviction, when a spill ends, shortly after asking (what
  // clients unpin can then be spilled).
  void MakeRoom(uint64_t bytes, std::function<void()> then);
  // Another node pulls `id` from here: a copy spilled to disk (a result
  // held here for its owner elsewhere may be) comes back into the arena
  // first, if there is room; `then` runs on the loop once it is back (or
  // could not be brought back), maybe inside this call.
  void BringBackToSend(const ObjectId& id, std::function<void()> then);
  // A copy pulled from another node was sealed here: `waiting` (the
  // clients subscribed to it) and the tasks that need it are told.
  void OnObjectPulled(const ObjectId& id, const std::vector<ClientId>& waiting) {
    ObjectReady(id, waiting);
    tasks_.Dispatch();
  }

 private:
  // The units' view of what this node owns.
  NodeUnits Units();
  // ReturnStore: stores one return and wakes whoever waits for it.
  void Store(rpc::ReturnObject& ret) override;
  void StoreError(const ObjectId& id, rpc::ErrorCode code, const std::string& message,
                  const std::string& payload = "") override;
  // Sends a ready object to the clients that waited for it and wakes the
  // tasks and actor calls that depended on it.
  void ObjectReady(const ObjectId& id, const std::vector<ClientId>& waiting);
  // A pull of an object made on another node (RemoteTasks::Fetch) ended:
  // the clients that asked for its value get it, or the error.
  void OnFetched(const ObjectId& id, const absl::Status& status);
  // Sends `client` where object `id` is, bringing it back from disk first
  // (SpillManager::Restore: it waits off the loop for the read, and for
  // room a bounded while).
  void SendObject(ClientId client, const ObjectId& id);
  void DescribeTo(ClientId client, const ObjectId& id);
  // Creates `request` for `client`, or queues it while spills make room.
  void TryCreate(ClientId client, const rpc::CreateObject& request);
  // A spill ended: queued creates try again, then pulls waiting for room.
  void OnRoomMade();
  // Whether `client` may create or put `id`: a new id (a put), or a return
  // of the task it runs. Logs a refusal.
  bool MayWrite(const ClientInfo& client, const ObjectId& id) const;
  // Whether `client` may seal or abort `id`: it created it (or `id` is not
  // in the table). Logs a refusal.
  bool IsWriterOf(const ClientInfo& client, const ObjectId& id) const;
  // Ends what runs in the group, then frees it.
  void RemovePlacementGroup(const PlacementGroupId& group_id);
  // The GCS's node records, this node's with its available resources now.
  rpc::Message ClusterInfoReply(uint64_t request_id,
                                absl::StatusOr<std::vector<rpc::NodeInfo>> nodes) const;
  void CheckDriverAlive();

  // A pull that found no room looks again this long after clients were
  // asked to unpin (its admission timeout bounds the tries).
  static constexpr std::chrono::milliseconds kRoomRetry{20};

  ClientChannel& clients_;
  NodeOptions options_;
  std::unique_ptr<Arena> arena_;
  std::unique_ptr<WorkerLauncher> launcher_;
  NodeIo node_io_;
  std::function<void()> request_stop_;
  NodeId node_id_;

  ObjectTable objects_;
  SpillManager spill_;
  GeneratorManager generators_{objects_, *this};
  Scheduler scheduler_;
  GpuSlots gpus_;
  WorkerPool pool_;
  GcsClient& gcs_;
  GcsRequests gcs_requests_;  // KV, named actors, placement-group table
  LeaseManager leases_{scheduler_, gpus_};
  // This node's resources, live, and the others' as the GCS reports them.
  ClusterResourceView cluster_{node_id_, scheduler_.total(), scheduler_.available()};
  absl::flat_hash_set<NodeId, IdHash> live_nodes_;  // the other nodes alive in the last view
  ClusterSchedulingPolicy policy_;
  // Where tasks and objects go when no cluster link was given.
  class NoPeers : public PeerChannel, public ObjectPuller {
   public:
    bool Send(const NodeId&, const rpc::Message&) override { return false; }
    void Pull(const ObjectId&, uint64_t, const NodeId&,
              std::function<void(const absl::Status&)> done) override {
      done(absl::FailedPreconditionError("this node has no cluster link"));
    }
  } no_peers_;
  RemoteTasks remote_{node_id_, objects_, *this,
                      node_io_.peers ? *node_io_.peers : static_cast<PeerChannel&>(no_peers_),
                      node_io_.puller ? *node_io_.puller : static_cast<ObjectPuller&>(no_peers_)};
  PlacementGroupManager groups_{
      scheduler_, objects_, *this, gcs_,
      node_io_.peers ? *node_io_.peers : static_cast<PeerChannel&>(no_peers_), clients_, node_id_};
  // Each borrows the other (through ActorTasks and TaskManager&).
  TaskManager tasks_{Units(), policy_, cluster_, actors_};
  ActorManager actors_{Units(), tasks_};

  // The local clients waiting for a copy of an object made elsewhere.
  absl::flat_hash_map<ObjectId, std::vector<ClientId>, IdHash> fetch_waiters_;
  std::function<void()> on_room_;
  // Creates waiting for spills under way to make room, in arrival order,
  // and pulls waiting for the same.
  struct PendingCreate {
    ClientId client;
    rpc::CreateObject request;
  };
  std::deque<PendingCreate> pending_creates_;
  std::vector<std::function<void()>> room_waiters_;
  bool room_posted_ = false;  // on_room_ is posted and has not run yet
  // Why a worker process is about to exit on its own (sys.exit()), by pid.
  absl::flat_hash_map<pid_t, std::string> exit_reasons_;
  int startup_failures_ = 0;
};

}  // namespace flare

#endif  // FLARE_RAYLET_NODE_MANAGER_H_
