// The raylet's message handling: it owns the node's state machines (object
// table, scheduler, worker pool) and performs the actions they decide on the
// client connections. Cluster state (nodes, KV, jobs, named actors,
// placement-group records) is the GCS's, reached through an injected
// GcsClient. Every method runs on the event loop.
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
#include "absl/container/flat_hash_set.h"
#include "common/ids.h"
#include "flare.pb.h"
#include "gcs/gcs_client.h"
#include "object_store/arena.h"
#include "object_store/object_table.h"
#include "raylet/clients.h"
#include "raylet/gcs_requests.h"
#include "raylet/local_server.h"
#include "raylet/resources.h"
#include "raylet/return_store.h"
#include "raylet/generator_manager.h"
#include "raylet/gpu_slots.h"
#include "raylet/lease_manager.h"
#include "raylet/node_io.h"
#include "raylet/placement_group_manager.h"
#include "raylet/scheduler.h"
#include "raylet/spill_manager.h"
#include "raylet/task_args.h"
#include "raylet/worker_pool.h"

namespace flare {

struct NodeOptions {
  ResourceSet resources;
  NodeId node_id;  // nil: a random one
  std::string session_dir;
  std::string socket_path;
  size_t max_workers = 0;  // 0: derived from the CPU count
  pid_t driver_pid = 0;    // exit when this driver goes (0: run until stopped)
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
  void OnCancelTask(const rpc::CancelTask& request) override;
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
  void OnRemovePlacementGroup(const rpc::RemovePlacementGroup& request) override;
  void OnPlacementGroupTable(const ClientInfo& client,
                             const rpc::PlacementGroupTableRequest& request) override;

  const NodeId& node_id() const { return node_id_; }

 private:
  struct TaskRecord {
    rpc::TaskSpec spec;
    ClientId owner = 0;
    ResourceSet demand;
    std::vector<ObjectId> arg_refs;  // counted under kTaskArgHolder
    bool running = false;  // sent to a worker (running, or queued there)
    ClientId worker = 0;
    pid_t worker_pid = 0;
    bool cancelled = false;
    bool timed_out = false;      // killed by its timeout_s, to be retried
    bool clock_started = false;  // timeout_s counts from when it reaches a worker's front
    int retries_left = 0;
    int restore_attempts = 0;  // times its spilled arguments found no room
  };

  // A cancelled task that has not stopped this long after its interrupt
  // (stuck in C code, or catching KeyboardInterrupt) loses its worker.
  static constexpr std::chrono::milliseconds kCancelGrace{2000};
  // A spilled object a client asked for waits this long, this many times,
  // for room to come back into the arena.
  static constexpr std::chrono::milliseconds kRestoreRetry{20};
  static constexpr int kRestoreAttempts = 50;
  static constexpr int kTaskRestoreAttempts = 250;  // 5 s for a task's arguments
  // How long an actor that called exit_actor() may take to run its exit
  // handlers before its process is killed.
  static constexpr std::chrono::milliseconds kActorExitGrace{10000};

  // An actor: one dedicated worker running calls in arrival order. Its id is
  // its creation task's id; the record stays (dead) until its handle object
  // is freed, so late calls learn why it died.
  enum class ActorState { kCreating, kAlive, kRestarting, kDead };
  struct ActorRecord {
    rpc::TaskSpec creation;          // to construct it again on restart
    std::vector<ObjectId> arg_refs;  // the constructor's arguments, kept for restarts
    ActorState state = ActorState::kCreating;
    ClientId worker = 0;
    pid_t pid = 0;
    std::deque<TaskId> queue;        // calls not yet sent to the worker
    std::vector<TaskId> in_flight;   // sent, not done
    int restarts_left = 0;
    bool holds_lifetime = false;     // lifetime resources acquired
    std::vector<uint32_t> gpus;      // the devices its lifetime GPUs use
    bool out_of_scope = false;       // no handle left: ends once idle
    bool no_restart = false;         // killed for good
    std::string death;               // why it died
    // The process that created it: a non-detached actor dies with it, as
    // in Ray (0: unknown, e.g. the raylet's own restarts keep the first).
    ClientId owner = 0;
    pid_t owner_pid = 0;
  };

  // The GPU devices the task sent to `worker` may use (its lease's or its actor's).
  const std::vector<uint32_t>& GpusOf(ClientId worker) const;
  // Removes `task_id` from its worker's lease; ends the lease (returning its
  // resources and the worker to the pool) when nothing is left on it.
  void RemoveFromLease(ClientId worker, const TaskId& task_id);
  // Sends a task just put on `worker`'s lease, failing it instead when an
  // argument failed (it then leaves the lease).
  void Send(const TaskId& task_id, ClientId worker);
  // Asks a worker with unstarted queued tasks to hand them back, so that an
  // idle worker can take them.
  void MaybeRebalance();
  // A top-level argument of `spec` that holds an error, if any.
  const ObjectEntry* FailedDependency(const rpc::TaskSpec& spec) const;

  // Fails the task's returns with `code` at once and stops it: dropped if
  // queued, interrupted (then killed after kCancelGrace) or, with `force`,
  // killed if running. Never retried.
  void CancelTask(const TaskId& task_id, bool force, rpc::ErrorCode code,
                  const std::string& message);
  // `root` and, transitively, every task submitted by it.
  std::vector<TaskId> TaskTree(const TaskId& root) const;
  // Starts the timeout_s clock of the task at the front of `worker`'s lease.
  void StartTimeoutClock(ClientId worker);
  void OnTaskTimeout(const TaskId& task_id, uint32_t attempt);
  // Runs `action` on the event loop after `delay`.
  void After(std::chrono::milliseconds delay, std::function<void()> action);
  // A line for the drivers of the task's job, as "(raylet) ...".
  void LogToDriver(const TaskRecord& record, const std::string& line);
  void LogToJob(const std::string& job_id, const std::string& line);
  // Sends the task to `worker`; fails it instead when an argument failed
  // (false).
  bool SendTask(const TaskId& task_id, TaskRecord& record, ClientId worker);
  // Stores what a finished task returned and wakes whoever waits for it.
  void StoreReturns(rpc::TaskDone& done);
  // The task's argument objects that exist but are not ready yet.
  std::vector<ObjectId> UnreadyArgs(const rpc::TaskSpec& spec) const;

  // ReturnStore: stores one return and wakes whoever waits for it.
  void Store(rpc::ReturnObject& ret) override;
  void StoreError(const ObjectId& id, rpc::ErrorCode code, const std::string& message,
                  const std::string& payload = "") override;

  // ---- actors (node_manager_actors.cc) ----
  void SubmitActorCall(const TaskId& task_id, TaskRecord& record);
  // Sends queued calls whose arguments are ready, in order, to a live actor.
  void PumpActor(const TaskId& actor_id);
  // An out-of-order actor: sends every queued call whose arguments are ready.
  void PumpReadyCalls(ActorRecord& actor);
  void SendActorCall(ActorRecord& actor, const TaskId& task_id, TaskRecord& record);
  void HandleActorCreated(ClientId worker, const TaskId& task_id, TaskRecord& record,
                          rpc::TaskDone& done);
  void HandleActorCallDone(const TaskId& task_id, rpc::TaskDone& done);
  // Ends what runs in the group, then frees it.
  void RemovePlacementGroup(const TaskId& group_id);
  // Reserves waiting placement groups that fit now, in creation order, and
  // queues the tasks that waited for them.
  void ReservePlacementGroups();

  // Asks every client to drop cached values no reader holds (the arena is
  // full of mapped objects).
  void AskClientsToUnpin();
  // Brings a spilled object back before it is read; false while there is no
  // room (clients were asked to unpin). A lost one is described as an error.
  bool Restore(const ObjectId& id);
  void OnActorWorkerLost(const TaskId& actor_id, const std::string& cause);
  // Its last handle is gone.
  void OnActorOutOfScope(const TaskId& actor_id);
  // Queues the constructor to run (again) on a fresh worker.
  void ScheduleActorCreation(const TaskId& actor_id, ActorRecord& actor);
  // Fails every pending call, frees what it holds, drops its name.
  void MarkActorDead(const TaskId& actor_id, const std::string& reason);
  void FailActorCall(const TaskId& task_id, const std::string& reason);
  // Gives back what a live actor holds for its life (resources, GPU devices).
  void ReleaseLifetime(ActorRecord& actor);
  // A finished creation task that did not bring its actor up.
  void OnActorCreationFinished(const TaskId& task_id, TaskRecord& record);
  // The GCS's node records, this node's with its available resources now.
  rpc::Message ClusterInfoReply(uint64_t request_id,
                                absl::StatusOr<std::vector<rpc::NodeInfo>> nodes) const;

  // Sends a ready object to the clients that waited for it and wakes tasks
  // that depended on it.
  void ObjectReady(const ObjectId& id, const std::vector<ClientId>& waiting);
  void SendObject(ClientId client, const ObjectId& id, int attempt = 0);
  // Stores `code` as the value of each of the task's returns.
  void FailTask(TaskRecord& record, rpc::ErrorCode code, const std::string& message,
                const std::string& payload = "");
  void ReleaseTaskArgs(TaskRecord& record);
  void FinishTask(const TaskId& task_id);
  void Enqueue(const TaskId& task_id, TaskRecord& record);
  void TryDispatch();

  void OnWorkerLost(const WorkerInfo& info, const std::string& cause);
  // A driver or worker left: the non-detached actors it created die with it.
  void EndActorsOwnedBy(ClientId owner);
  void CheckDriverAlive();


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
  PlacementGroupManager groups_{scheduler_, objects_, *this, gcs_, node_id_};

  absl::flat_hash_map<TaskId, TaskRecord, IdHash> tasks_;
  LeaseManager leases_{scheduler_, gpus_};
  absl::flat_hash_map<TaskId, ActorRecord, IdHash> actors_;
  absl::flat_hash_map<ClientId, TaskId> actor_by_worker_;
  absl::flat_hash_set<TaskId, IdHash> actors_waiting_args_;
  // Why a worker process is about to exit on its own (sys.exit()), by pid.
  absl::flat_hash_map<pid_t, std::string> exit_reasons_;
  int startup_failures_ = 0;
  bool warned_worker_limit_ = false;
  bool workers_broken_ = false;
  std::string workers_broken_reason_;
};

}  // namespace flare

#endif  // FLARE_RAYLET_NODE_MANAGER_H_
