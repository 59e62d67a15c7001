// The life of every task this raylet owns, from submission to its stored
// returns: placing it (the scheduling policy, then the scheduler), leasing
// it to a worker (or queueing it behind one), sending it, storing what it
// returned, running it again after a failed attempt (one retry rule for a
// crashed worker, a timeout and a retryable exception), cancelling it (and
// the tasks it submitted), and its timeout.
//
// An actor's creation and calls are tasks here too, but where a call goes
// and what a creation's end means belong to the actor manager, reached
// through the ActorTasks interface below.
//
// No I/O of its own: messages go out through the ClientChannel, workers are
// killed through ProcessControl, timeouts and grace periods run on Timers,
// returns go into the ReturnStore (see node_units.h), and the GCS is asked
// through the GcsClient, so its tests need no sockets, processes or clocks.
// Thread-compatible: the raylet's event loop is its only user.
#ifndef FLARE_RAYLET_TASK_MANAGER_H_
#define FLARE_RAYLET_TASK_MANAGER_H_

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "common/ids.h"
#include "flare.pb.h"
#include "raylet/clients.h"
#include "raylet/lineage.h"
#include "raylet/node_units.h"
#include "raylet/remote_tasks.h"
#include "raylet/resources.h"
#include "raylet/scheduling_policy.h"
#include "raylet/task_record.h"

namespace flare {

// What the TaskManager leaves to the actor manager.
class ActorTasks {
 public:
  virtual ~ActorTasks() = default;
  // `owner` submitted an actor's creation task; it is scheduled like any
  // task once this returns.
  virtual void OnCreationSubmitted(const ActorId& actor_id, const ClientInfo& owner,
                                   const rpc::TaskSpec& creation) = 0;
  // An actor call was submitted: the actor queues it and sends it
  // (TaskManager::SendTo) in its order.
  virtual void OnCallSubmitted(const TaskId& task_id, TaskRecord& record) = 0;
  // `worker` reports the creation task done (the constructor returned or
  // raised). The actor manager stores its returns and finishes it.
  virtual void OnCreationDone(ClientId worker, const ActorId& actor_id, TaskRecord& record,
                              rpc::TaskDone& done) = 0;
  // The actor's worker reports a call done. The actor manager stores its
  // returns and finishes it.
  virtual void OnCallDone(const TaskId& task_id, rpc::TaskDone& done) = 0;
  // A creation task left the table (done, failed or cancelled). `record`
  // still holds its arguments: the actor may keep them for restarts.
  virtual void OnCreationFinished(const ActorId& actor_id, TaskRecord& record) = 0;
  // The GPU devices of the actor `worker` hosts (nullptr: none, or no actor).
  virtual const std::vector<uint32_t>* Devices(ClientId worker) const = 0;
  // Whether the actor is this node's (being created, alive, restarting, or
  // dead with a handle left).
  virtual bool Hosts(const ActorId& actor_id) const = 0;
  // Objects calls wait for may be here now (e.g. read back from disk).
  virtual void OnObjectReady() {}
};

class TaskManager {
 public:
  // A cancelled task that has not stopped this long after its interrupt
  // (stuck in C code, or catching KeyboardInterrupt) loses its worker.
  static constexpr std::chrono::milliseconds kCancelGrace{2000};
  // A task whose argument a node could not fetch from a node still in the
  // view is placed again after this.
  static constexpr std::chrono::milliseconds kLostArgumentRetry{100};
  // Queued tasks looked at per dispatch for sending to other nodes.
  static constexpr size_t kSpillBatch = 64;
  // How long a task no node fits waits for one to join before it fails
  // (the raylet's --infeasible-grace-ms).
  static constexpr std::chrono::milliseconds kInfeasibleGrace{3000};

  // Borrows everything; all must outlive this. `view` is what `policy`
  // decides from (this node's resources, live).
  TaskManager(const NodeUnits& units, SchedulingPolicy& policy, ClusterResourceView& view,
              ActorTasks& actors);
  // Gives back the capacity a burst of tasks left behind.
  void Compact();

  // ---- events --------------------------------------------------------------

  // `owner` submitted a task. Its returns are pending for the owner (who is
  // sent each one as it is stored), it holds its arguments, and it is placed
  // (or fails at once: infeasible, or workers cannot start). A duplicate
  // submission is ignored.
  void Submit(const ClientInfo& owner, rpc::TaskSpec& spec);
  // `worker` reports a task it ran. A retryable exception runs it again
  // while retries are left; otherwise what it returned is stored.
  void OnTaskDone(ClientId worker, rpc::TaskDone& done);
  // `worker` handed back unstarted tasks queued behind its running one.
  void OnTasksReturned(ClientId worker, const rpc::TasksReturned& returned);
  // The worker running a leased task blocked in get/wait, or resumed.
  void OnWorkerBlocked(ClientId worker, bool blocked);
  // A pooled worker's process ended (`cause` says how: "was killed by signal
  // 9 (Killed)"). The task it ran is retried or failed; the tasks queued
  // behind it go back to the scheduler. REQUIRES: it hosted no actor.
  void OnWorkerLost(const WorkerInfo& info, const std::string& cause);
  // `sender` asked to cancel a task (and, if recursive, what it submitted).
  // Another node's raylet (a PEER) may cancel only a task it submitted
  // here; any other cancel it sends is ignored (and logged).
  void OnCancel(const ClientInfo& sender, const rpc::CancelTask& request);
  // A driver left: the tasks it submitted, and what they submitted, are
  // cancelled.
  void OnDriverGone(ClientId driver);
  // Worker processes fail to start: every queued task fails with `reason`
  // (WORKER_CRASHED), and so does every later submission.
  void OnWorkersBroken(const std::string& reason);
  // Placement group `group_id` is going: tasks placed in it are cancelled
  // (its actors are the actor manager's). REQUIRES: the group exists.
  void EndTasksInGroup(const PlacementGroupId& group_id, const std::string& reason);

  // Starts what can start now: queues the tasks of newly reserved placement
  // groups, leases ready tasks to idle workers, sends ready tasks that have
  // no room here to other nodes with room (spillback), queues the rest
  // behind running tasks of their shape, and grows the worker pool for the
  // tasks that fit.
  void Dispatch();

  // ---- tasks on other nodes (RemoteTasks) -----------------------------------

  // `node` sent an object the tasks placed there returned.
  void OnPeerObject(const NodeId& node, const rpc::ObjectData& data);
  // `node` spilled back a task this node sent there: it cannot run there
  // (the view of that node was stale, and is corrected with the total it
  // reports). The task is placed again — elsewhere, or it waits for a node
  // that fits as any infeasible task does; an actor's creation fails (its
  // calls may have gone there already). Retries are not spent.
  void OnSpilledBack(const NodeId& node, const rpc::TaskSpilledBack& back);
  // An argument a peer placed here could not be fetched from where that
  // peer said it was: the tasks that read it go back to their owner.
  void OnArgumentNotFetched(const ObjectId& id) { not_fetched_.insert(id); }
  // `node` left the cluster (or its link broke): the tasks sent there run
  // again elsewhere while they have retries, else fail.
  void OnNodeGone(const NodeId& node, const std::string& why);
  // The node hosting an actor whose creation this node sent elsewhere.
  std::optional<NodeId> ActorNode(const ActorId& actor_id) const;
  // An object was freed here. If it was the handle of an actor this node
  // placed elsewhere, that node hears that no handle is left here (once the
  // calls sent from here are on their way).
  void OnObjectFreed(const ObjectId& id);
  // A driver or worker left: the non-detached actors it created on other
  // nodes are killed there, as the ones here are.
  void OnOwnerGone(ClientId owner);
  // A kill of an actor this node placed elsewhere went on to its node. One
  // that does not let it restart ends it: calls through handles made here
  // fail, and a detached actor's record here goes.
  void OnActorKilled(const rpc::KillActor& kill);
  // `node`, which placed the actor, says where it runs: calls on it that
  // would go through `node` go straight there from now on, once none sent
  // through `node` is still out (so they keep their order).
  void OnActorLocation(const NodeId& node, const rpc::ActorLocation& location);
  // `node`, where this node placed an actor, says it died there: later calls
  // through handles made here fail with why, and a detached actor's record
  // here goes.
  void OnActorDied(const NodeId& node, const rpc::ActorDied& died);
  // Actors this node placed on other nodes that it still keeps a record of.
  size_t num_actors_elsewhere() const { return actors_elsewhere_.size(); }
  // The cluster view changed: tasks waiting for a node that fits them go
  // where one now does.
  void OnViewChanged();
  // Zero: a task no node fits fails at once.
  void set_infeasible_grace(std::chrono::milliseconds grace) { infeasible_grace_ = grace; }
  // Tasks waiting for a node that fits them.
  size_t num_infeasible() const { return infeasible_.size(); }
  // Tasks placed on another node and waiting here for their arguments.
  size_t num_awaiting_remote() const { return awaiting_remote_.size(); }
  // When tasks wait for nothing but a worker and a worker is idle, asks the
  // workers with unstarted tasks queued behind their running one to hand
  // them back (answered by OnTasksReturned).
  void Rebalance();

  // ---- what the actor manager does with its tasks --------------------------

  // nullptr once the task is finished (or never was).
  TaskRecord* Find(const TaskId& task_id);
  // Whether `client` is the worker running the task that returns `id` (so
  // it may write that return).
  bool WritesReturnsOf(ClientId client, const ObjectId& id) const;
  // Whether every argument of `spec` is ready (or unknown here), wherever
  // its bytes are: enough to send the task to another node.
  bool ArgsReady(const rpc::TaskSpec& spec) const;
  // Every argument is ready with its bytes on this node (none to pull).
  bool ArgsLocal(const rpc::TaskSpec& spec) const;
  // `id` became ready with its bytes on another node: the tasks queued here
  // that wait for it go to that node if it suits them better (ArgumentNode),
  // and it is pulled here for the others.
  void OnReadyElsewhere(const ObjectId& id);
  // Whether every argument is ready with its bytes on this node, as a
  // worker here needs them. Starts pulling those made on other nodes, and
  // reading back those spilled to disk (whoever waits for them is woken
  // once they are here: actor calls through ActorTasks::OnObjectReady).
  bool ArgsHere(const rpc::TaskSpec& spec);
  // Sends the task to `worker` (its arguments restored and pinned for it).
  // False when it did not go: an argument failed (the task failed with that
  // error and is finished), or spilled arguments are being brought back
  // (OnArgumentsRestored queues it again, or fails it when they found no
  // room).
  bool SendTo(const TaskId& task_id, TaskRecord& record, ClientId worker);
  void OnArgumentsRestored(const TaskId& task_id, SpillManager::Restored outcome);
  // The retry rule every failed attempt goes through: whether the task may
  // run again — it was not cancelled, has retries left (negative:
  // unlimited) and, if a generator, has yielded nothing yet (the caller may
  // have read items).
  bool MayRetry(const TaskId& task_id, const TaskRecord& record) const;
  // When MayRetry: spends one retry and moves the attempt number on (true);
  // the caller queues it again.
  bool TakeRetry(const TaskId& task_id, TaskRecord& record);
  // Queues `creation` again as a task of the raylet's own: an actor's
  // restart. Nothing happens if it is still queued.
  void ScheduleActorCreation(const ActorId& actor_id, const rpc::TaskSpec& creation);
  // Stores each of the task's returns (values or errors) as reported.
  void StoreReturns(rpc::TaskDone& done);
  // Stores `code` as every return of the task, then finishes it.
  void Fail(const TaskId& task_id, rpc::ErrorCode code, const std::string& message,
            const std::string& payload = "");
  // Stores the error that `failed` (an argument of the task) holds as every
  // return of the task, with the refs it holds (a large error is an object
  // of its own that they refer to), then finishes it.
  void FailWithErrorOf(const TaskId& task_id, const ObjectEntry& failed);
  // Forgets the task: its arguments are released, a generator takes no more
  // items, and an actor's creation is reported to the actor manager.
  void Finish(const TaskId& task_id);
  // Fails the task's returns with `code` at once and stops it: dropped if
  // queued, interrupted (then killed after kCancelGrace) or, with `force`,
  // killed if running. Never retried. A call sent to its actor is only
  // asked to stop: the worker reports how it ended.
  void Cancel(const TaskId& task_id, bool force, rpc::ErrorCode code, const std::string& message);

  size_t size() const { return tasks_.size(); }
  size_t lineage_size() const { return lineage_.size(); }

  // The only copies of ready objects `ids` (on other nodes) are lost
  // (`why`): the task of each runs again to make it (lineage) if it may,
  // else it becomes an OBJECT_LOST error saying why not.
  void OnCopiesLost(const std::vector<ObjectId>& ids, const std::string& why);

 private:
  using TaskMap = absl::flat_hash_map<TaskId, TaskRecord, IdHash>;

  // Places a new task: waits for its placement group, or routes it.
  void Place(const TaskId& task_id, TaskRecord& record);
  // Asks the policy where the task goes: queues it here, sends it to another
  // node (once its arguments are ready), or fails it as infeasible.
  void Route(const TaskId& task_id, TaskRecord& record);
  // The scheduling policy's answer for the task: its strategy over the
  // view, or this node alone for what cannot run elsewhere yet.
  SchedulingDecision Decide(const TaskRecord& record);
  // Whether only this node may run it (actor calls, an actor's restart,
  // and tasks another node placed here).
  bool RunsHereOnly(const TaskRecord& record) const;
  // The other node that holds more of the task's argument bytes than this
  // one, when it has room for the task now and may run it (default
  // strategy, no placement group): running there moves nothing.
  std::optional<NodeId> ArgumentNode(const TaskRecord& record) const;
  // Where a task in a placement group goes among `nodes`, those of its
  // bundles that could hold it (PlacementGroupManager::NodesFor).
  SchedulingDecision InGroup(const ResourceSet& demand, const std::vector<NodeId>& nodes) const;
  // Why a task in a reserved group can run on none of its bundles, if so.
  std::optional<std::string> GroupMisfit(const TaskRecord& record) const;
  // An actor's creation held back before the actor manager heard of it
  // (waiting for its group, or for a node that fits) goes on: to another
  // node (true), or to the actor manager here (false; the caller places it).
  bool ReleaseCreation(const ClientInfo& creator, const TaskId& task_id, TaskRecord& record);
  // Whether the actor's creation is held back here before its node is
  // chosen (ReleaseCreation has not run yet).
  bool CreationHeldBack(const ActorId& actor_id) const {
    const TaskId creation = CreationTaskOf(actor_id);
    return infeasible_.contains(creation) || parked_creations_.contains(creation);
  }
  // Sends a task to `node` (RemoteTasks). If the node cannot be reached, it
  // leaves the view until its next report and the task is retried or failed
  // as if that node had died; if an argument is not on this node, the task
  // fails OBJECT_LOST.
  void Forward(const TaskId& task_id, TaskRecord& record, const NodeId& node);
  // An actor creation that the policy places on another node goes there
  // (true); false when it stays here (the actor manager takes it).
  // An infeasible creation waits (true) before the actor manager hears of it.
  bool PlaceActorElsewhere(const ClientInfo& owner, const TaskId& task_id, TaskRecord& record);
  // No node fits the task: it waits up to the grace period for one that
  // does (the job is warned now). True when it waits; false when it waited
  // already, or must fail now (hard affinity, no grace).
  bool WaitForAFittingNode(const TaskId& task_id, TaskRecord& record, const ClientInfo* creator);
  // A waiting task goes where it fits now, or fails INFEASIBLE.
  void EndInfeasibleWait(const TaskId& task_id);
  // The grace of a waiting task is over: it ends its wait, unless it is in
  // a placement group made elsewhere that is still pending (it then waits
  // another grace).
  void OnInfeasibleGraceOver(const TaskId& task_id);
  // The placement group `demand` names when this node knows nothing of it
  // (another node made it, and holds its bundles), if any.
  std::optional<PlacementGroupId> GroupElsewhere(const ResourceSet& demand) const;
  // A task another node placed here does not fit this node: that node (its
  // owner) is told so, with why and this node's total, and places it again;
  // it ends here (its returns fail, after the owner has heard).
  // With `lost_args`, it is the arguments it could not fetch that send it
  // back (OBJECT_LOST here): the owner makes them again, or fails it.
  void SpillBackToOwner(const TaskId& task_id, const TaskRecord& record,
                        const std::vector<ObjectId>& lost_args = {});

  // Why no node fits the task, for its warning and its error.
  std::string InfeasibleReason(const TaskRecord& record);
  // An actor placed elsewhere could not be created there: it is dead for
  // the calls made here.
  void FailActorElsewhere(const TaskId& creation, const std::string& why);
  // Forgets an actor placed elsewhere once no call from here still waits to
  // go and, for a detached actor, it is dead, for any other, no handle is
  // left here (its node is then told so, if it is alive).
  void MaybeReleaseActorElsewhere(const ActorId& actor_id);
  // The calls on `actor_id` queued here go to `node` when sent (nil: to
  // the actor manager here).
  void PointQueuedCalls(const ActorId& actor_id, const NodeId& node);
  // Drops the record of an actor placed elsewhere (and the hold on its
  // arguments), remembering how it died.
  void EraseActorElsewhere(const ActorId& actor_id);
  // The node hosting an actor placed from here died with `in_flight` (its
  // calls sent there). With restarts left, it is created again where it
  // fits (here, or another node) and the calls that may run again go to it
  // first, in order; the others fail. With none left, it is dead.
  void OnActorNodeGone(const ActorId& actor_id, const NodeId& node, const std::string& why,
                       std::vector<TaskId> in_flight);
  // Sends queued tasks that have no room here to nodes with room.
  void SpillBack();
  // Sends tasks placed elsewhere whose arguments became ready.
  void ForwardAwaiting();
  // Calls on actors hosted by other nodes go there in submission order: the
  // oldest waits for its arguments, the others wait behind it.
  void SendRemoteCalls();
  // Queues the task in the scheduler again (not running, no worker).
  void Enqueue(const TaskId& task_id, TaskRecord& record);
  // Sends a task just put on `worker`'s lease; if it did not go, it leaves
  // the lease.
  void SendLeased(const TaskId& task_id, ClientId worker);
  // Takes the task off `worker`'s lease, ending the lease (the worker goes
  // back to the pool) when nothing is left on it.
  void RemoveFromLease(ClientId worker, const TaskId& task_id);
  // The tasks that waited for placement groups reserved just now go to
  // their bundles' nodes.
  void QueueTasksOfReservedGroups();

  // How an attempt ended without its result: its worker died, or it raised
  // a retryable exception (`raised`).
  struct FailedAttempt {
    pid_t worker_pid = 0;
    std::string cause;
    rpc::TaskDone* raised = nullptr;
    NodeId node;  // not nil: the task was lost with this node
  };
  // Runs the task again when TakeRetry allows (true), else ends it: with the
  // exception it raised, or as cancelled, or WORKER_CRASHED.
  bool RetryOrFail(const TaskId& task_id, TaskRecord& record, const FailedAttempt& attempt);

  // `root` and, transitively, every task submitted by it.
  std::vector<TaskId> TaskTree(const TaskId& root) const;
  // Starts the timeout_s clock of the task at the front of `worker`'s lease.
  void StartTimeoutClock(ClientId worker);
  void OnTimeout(const TaskId& task_id, uint32_t attempt);
  // Stores `code` as every return of the task (it stays in the table).
  void FailReturns(const TaskRecord& record, rpc::ErrorCode code, const std::string& message,
                   const std::string& payload = "");

  ObjectTable& objects_;
  ReturnStore& returns_;
  Scheduler& scheduler_;
  LeaseManager& leases_;
  WorkerPool& pool_;
  SpillManager& spill_;
  GeneratorManager& generators_;
  PlacementGroupManager& groups_;
  ClientChannel& clients_;
  ProcessControl& processes_;
  Timers& timers_;
  SchedulingPolicy& policy_;
  ClusterResourceView& view_;
  ActorTasks& actors_;
  RemoteTasks& remote_;
  GcsClient& gcs_;

  TaskMap tasks_;
  Lineage lineage_{objects_};  // finished tasks whose results only other nodes hold
  absl::flat_hash_map<TaskId, NodeId, IdHash> awaiting_remote_;  // placed elsewhere, args not ready
  // Calls not yet sent to actors on other nodes, per actor, in order.
  absl::flat_hash_map<ActorId, std::deque<TaskId>, IdHash> remote_calls_;
  // Actors whose creation this node sent to another node: handles made
  // here send their calls here, and they go on to that node.
  struct ActorElsewhere {
    NodeId node;
    ClientId owner = 0;         // who created it: it dies with its owner
    bool detached = false;      // ... unless detached
    bool out_of_scope = false;  // no handle to it is left here
    int max_task_retries = 0;   // of its calls
    std::string death;          // why it is dead (empty: alive, or not known dead)
    // What restarting it on another node takes, kept while restarts are
    // left (max_restarts): its creator, its creation (whose max_restarts
    // counts down with each restart here), and its arguments, held here
    // under kTaskArgHolder.
    std::optional<ClientInfo> creator;
    rpc::TaskSpec creation;
    ResourceSet demand;
    std::vector<ObjectId> args;
    // The nodes whose calls came through here and were told where it runs
    // (since it last moved).
    absl::flat_hash_set<NodeId, IdHash> told;
  };
  absl::flat_hash_map<ActorId, ActorElsewhere, IdHash> actors_elsewhere_;
  // How recent actors placed elsewhere died, after their records went (a
  // detached actor's goes at its death): calls through handles that outlive
  // them fail saying how. The oldest kMaxDeaths are kept.
  static constexpr size_t kMaxDeaths = 1000;
  absl::flat_hash_map<ActorId, std::string, IdHash> deaths_;
  std::deque<ActorId> death_order_;
  // Actors other nodes placed, where they run as their placers told
  // (OnActorLocation): calls addressed to `via` go to `host` instead.
  struct ActorRoute {
    NodeId via;
    NodeId host;
    int max_task_retries = 0;
  };
  absl::flat_hash_map<ActorId, ActorRoute, IdHash> routes_;
  // Per actor placed by another node, the calls sent through that node
  // that have not ended: while any is out, calls do not take its route.
  absl::flat_hash_map<ActorId, absl::flat_hash_set<TaskId, IdHash>, IdHash> sent_via_;
  // A call to an actor placed elsewhere, from a node that placed none:
  // told where the actor runs when it does (ActorLocation).
  void TellRoute(const ClientInfo& caller, const ActorId& actor_id, ActorElsewhere& actor);
  // The route the oldest call queued on `actor_id` (to `record.remote`)
  // may take now: true when it was redirected (to another node, or to the
  // actor manager here when the actor runs here).
  bool TakeRoute(const ActorId& actor_id, TaskRecord& record);
  // The calls sent straight to `node` on routes (lost with it) go back to
  // the actors' placers while max_task_retries allows; the rest fail.
  void OnRouteLost(const NodeId& node, const std::string& why, std::vector<TaskId> calls);
  // Submission order, for re-sending an actor's calls in order.
  uint64_t next_seq_ = 0;
  // Arguments peers placed here that could not be fetched (OnArgumentNotFetched).
  absl::flat_hash_set<ObjectId, IdHash> not_fetched_;
  // Tasks waiting for a node that fits them; for an actor's creation, the
  // creator when the actor manager has not heard of it yet.
  absl::flat_hash_map<TaskId, std::optional<ClientInfo>, IdHash> infeasible_;
  // Actor creations waiting for their placement group, with their creator
  // (the actor manager has not heard of them yet).
  absl::flat_hash_map<TaskId, ClientInfo, IdHash> parked_creations_;
  std::chrono::milliseconds infeasible_grace_ = kInfeasibleGrace;
  std::optional<std::string> workers_broken_;  // why no worker can start
  bool warned_worker_limit_ = false;
};

}  // namespace flare

#endif  // FLARE_RAYLET_TASK_MANAGER_H_
