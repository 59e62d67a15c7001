#include "raylet/task_manager.h"

#include <signal.h>

#include <cmath>
#include <deque>
#include <iostream>
#include <utility>

#include "common/compact.h"
#include "raylet/task_args.h"

namespace flare {

namespace {

// What the task raised, as the worker described it in its error returns.
std::string FirstErrorMessage(const rpc::TaskDone& done) {
  for (const auto& ret : done.returns()) {
    if (!ret.data().error_message().empty()) return ret.data().error_message();
  }
  return "an exception";
}

// The task's argument objects that exist but are not ready yet.
std::vector<ObjectId> UnreadyArgs(const ObjectTable& objects, const rpc::TaskSpec& spec) {
  std::vector<ObjectId> unready;
  for (const ObjectId& id : ArgumentIds(spec)) {
    if (objects.Contains(id) && !objects.IsReady(id)) unready.push_back(id);
  }
  return unready;
}

}  // namespace

TaskManager::TaskManager(const NodeUnits& units, SchedulingPolicy& policy,
                         ClusterResourceView& view, ActorTasks& actors)
    : objects_(units.objects),
      returns_(units.returns),
      scheduler_(units.scheduler),
      leases_(units.leases),
      pool_(units.pool),
      spill_(units.spill),
      generators_(units.generators),
      groups_(units.groups),
      clients_(units.clients),
      processes_(units.processes),
      timers_(units.timers),
      policy_(policy),
      view_(view),
      actors_(actors),
      remote_(units.remote),
      gcs_(units.gcs) {}

// ---- submission and placement ------------------------------------------------

void TaskManager::Submit(const ClientInfo& owner, rpc::TaskSpec& spec) {
  const TaskId task_id = TaskId::FromBinary(spec.task_id());
  auto [it, inserted] = tasks_.try_emplace(task_id);
  if (!inserted) return;  // duplicate submission
  TaskRecord& record = it->second;
  record.owner = owner.id;
  record.owner_is_peer = owner.kind == rpc::PEER;
  record.demand = ResourceSet::FromProto(spec.resources());
  record.retries_left = spec.max_retries();
  record.seq = next_seq_++;
  for (uint32_t i = 1; i <= spec.num_returns(); ++i) {
    const ObjectId id = ObjectIdFor(task_id, i);
    objects_.AddPending(owner.id, id);
    // The caller gets its results pushed as soon as they exist.
    objects_.Subscribe(owner.id, id);
  }
  if (spec.streaming()) generators_.OnSubmitted(task_id, owner.id, record.owner_is_peer);
  // The task holds what it reads and the refs nested in its arguments.
  record.arg_refs = ArgumentIds(spec);
  for (const auto& nested : spec.nested_refs()) {
    record.arg_refs.push_back(ObjectId::FromBinary(nested));
  }
  // Refs nested in the arguments of a task another node placed here are
  // borrowed from that node (its top-level arguments came before it).
  std::vector<ObjectId> borrowed;
  if (record.owner_is_peer && !owner.node_id.IsNil()) {
    for (const ObjectId& id : record.arg_refs) {
      if (remote_.borrowed().Borrow(owner.node_id, id)) borrowed.push_back(id);
    }
  }
  for (const ObjectId& id : record.arg_refs) objects_.AddRef(kTaskArgHolder, id);
  for (const ObjectId& id : borrowed) remote_.borrowed().EndHold(id);
  record.spec = std::move(spec);

  if (record.is_actor_call()) {
    const ActorId actor_id = ActorId::FromBinary(record.spec.actor_id());
    const bool here = record.spec.actor_node_id().empty() ||
                      record.spec.actor_node_id() == view_.local_id().Binary();
    if (auto elsewhere = actors_elsewhere_.find(actor_id);
        here && elsewhere != actors_elsewhere_.end()) {
      // A handle made here: the call goes on to the actor's node.
      if (!elsewhere->second.death.empty()) {
        Fail(task_id, rpc::ACTOR_DIED, elsewhere->second.death);
        return;
      }
      record.spec.set_actor_node_id(elsewhere->second.node.Binary());
      if (record.owner_is_peer) TellRoute(owner, actor_id, elsewhere->second);
    } else if (auto death = deaths_.find(actor_id); here && death != deaths_.end()) {
      Fail(task_id, rpc::ACTOR_DIED, death->second);
      return;
    }
    if (here && CreationHeldBack(actor_id)) {
      // Its creation waits for a node that fits, or for its placement
      // group: so do its calls, in order.
      remote_calls_[actor_id].push_back(task_id);
      return;
    }
    const std::string& host = record.spec.actor_node_id();
    if (!host.empty() && host != view_.local_id().Binary()) {
      record.remote = NodeId::FromBinary(host);
      remote_calls_[actor_id].push_back(task_id);
      SendRemoteCalls();
      return;
    }
    actors_.OnCallSubmitted(task_id, record);
    return;
  }
  if (record.is_actor_creation()) {
    // In a group not reserved yet, it waits before its node is chosen.
    if (groups_.Park(task_id, record.demand)) {
      parked_creations_.emplace(task_id, owner);
      return;
    }
    if (ReleaseCreation(owner, task_id, record)) return;
  }
  Place(task_id, record);
}

bool TaskManager::ReleaseCreation(const ClientInfo& creator, const TaskId& task_id,
                                  TaskRecord& record) {
  const ActorId actor_id = ActorIdOf(task_id);
  if (PlaceActorElsewhere(creator, task_id, record)) {
    // Its calls made meanwhile follow it there.
    if (auto elsewhere = actors_elsewhere_.find(actor_id); elsewhere != actors_elsewhere_.end()) {
      PointQueuedCalls(actor_id, elsewhere->second.node);
    }
    return true;
  }
  if (actors_elsewhere_.contains(actor_id)) {
    // A restart that waited for its placement group: hosted here from now
    // on, with its calls.
    EraseActorElsewhere(actor_id);
    PointQueuedCalls(actor_id, NodeId());
  }
  actors_.OnCreationSubmitted(actor_id, creator, record.spec);
  return false;
}

void TaskManager::PointQueuedCalls(const ActorId& actor_id, const NodeId& node) {
  auto calls = remote_calls_.find(actor_id);
  if (calls == remote_calls_.end()) return;
  for (const TaskId& call : calls->second) {
    TaskRecord* waiting = Find(call);
    if (waiting == nullptr) continue;
    waiting->remote = node;
    if (node.IsNil()) {
      waiting->spec.clear_actor_node_id();
    } else {
      waiting->spec.set_actor_node_id(node.Binary());
    }
  }
}

void TaskManager::Place(const TaskId& task_id, TaskRecord& record) {
  if (workers_broken_) {
    Fail(task_id, rpc::WORKER_CRASHED, *workers_broken_);
    return;
  }
  if (groups_.Park(task_id, record.demand)) return;
  Route(task_id, record);
  Dispatch();
}

bool TaskManager::RunsHereOnly(const TaskRecord& record) const {
  // An actor being created here restarts here; issue 14 moves it.
  const bool hosted_here =
      record.is_actor_creation() &&
      actors_.Hosts(ActorIdOf(TaskId::FromBinary(record.spec.task_id())));
  return record.owner_is_peer || hosted_here || record.is_actor_call();
}

SchedulingDecision TaskManager::InGroup(const ResourceSet& demand,
                                        const std::vector<NodeId>& nodes) const {
  auto at = [this](const NodeId& node) {
    return node == view_.local_id() ? SchedulingDecision::Local() : SchedulingDecision::Remote(node);
  };
  // A node of its bundles with room now, this node first; else the first
  // one alive, where it queues.
  for (const NodeId& node : nodes) {
    if (node == view_.local_id()) {
      if (demand.IsSubsetOf(view_.local_available())) return at(node);
    } else if (auto it = view_.remote_nodes().find(node);
               it != view_.remote_nodes().end() && demand.IsSubsetOf(it->second.available)) {
      return at(node);
    }
  }
  for (const NodeId& node : nodes) {
    if (node == view_.local_id() || view_.remote_nodes().count(node) > 0) return at(node);
  }
  return SchedulingDecision::Infeasible();
}

std::optional<std::string> TaskManager::GroupMisfit(const TaskRecord& record) const {
  const std::optional<std::vector<NodeId>> nodes = groups_.NodesFor(record.demand);
  if (!nodes || !nodes->empty()) return std::nullopt;
  const PlacementGroupId group = *groups_.GroupOf(record.demand);
  return "task " + record.spec.function_name() + " requires " + record.demand.DebugString() +
         " but its placement group offers " + groups_.Offered(group).DebugString() +
         " and none of its bundles on a node still in the cluster can hold that";
}

SchedulingDecision TaskManager::Decide(const TaskRecord& record) {
  if (RunsHereOnly(record)) {
    // Only this node's resources count.
    ClusterResourceView here(view_.local_id(), view_.local_total(), view_.local_available());
    return policy_.Schedule(record.demand, SchedulingStrategy(), here);
  }
  if (const std::optional<std::vector<NodeId>> nodes = groups_.NodesFor(record.demand)) {
    return InGroup(record.demand, *nodes);
  }
  SchedulingStrategy strategy;
  const rpc::SchedulingStrategySpec& spec = record.spec.strategy();
  // Where its large arguments are, if that node has room now.
  if (const std::optional<NodeId> node = ArgumentNode(record)) {
    return SchedulingDecision::Remote(*node);
  }
  if (spec.kind() == rpc::SchedulingStrategySpec::SPREAD) {
    strategy.kind = SchedulingStrategy::Kind::kSpread;
  } else if (spec.kind() == rpc::SchedulingStrategySpec::NODE_AFFINITY) {
    strategy.kind = SchedulingStrategy::Kind::kNodeAffinity;
    strategy.node = NodeId::FromBinary(spec.node_id());
    strategy.soft = spec.soft();
  }
  return policy_.Schedule(record.demand, strategy, view_);
}

void TaskManager::Route(const TaskId& task_id, TaskRecord& record) {
  // Placed anew: a node chosen before (one that went) is no longer its place.
  record.remote = NodeId();
  const SchedulingDecision decision = Decide(record);
  if (decision.is_infeasible()) {
    if (record.owner_is_peer) {  // its owner's view of this node was stale
      SpillBackToOwner(task_id, record);
      return;
    }
    // Its bundle's node left and the bundle is being placed again: it waits.
    if (!record.is_actor_creation() && groups_.Park(task_id, record.demand)) return;
    if (const std::optional<std::string> misfit = GroupMisfit(record)) {
      Fail(task_id, rpc::INFEASIBLE, *misfit);
      return;
    }
    if (WaitForAFittingNode(task_id, record, nullptr)) return;
    Fail(task_id, rpc::INFEASIBLE, InfeasibleReason(record));
    return;
  }
  if (decision.is_local()) {
    Enqueue(task_id, record);
    return;
  }
  record.remote = decision.node();
  if (!ArgsReady(record.spec)) {
    awaiting_remote_[task_id] = decision.node();
    return;
  }
  Forward(task_id, record, decision.node());
}

void TaskManager::Enqueue(const TaskId& task_id, TaskRecord& record) {
  record.running = false;
  record.worker = 0;
  record.clock_started = false;
  // Arguments made on other nodes are pulled here first: the task waits
  // for them as for arguments not made yet.
  std::vector<ObjectId> unready = UnreadyArgs(objects_, record.spec);
  std::vector<ObjectId> elsewhere;
  for (const ObjectId& id : ArgumentIds(record.spec)) {
    if (objects_.NeedsFetch(id)) elsewhere.push_back(id);
  }
  unready.insert(unready.end(), elsewhere.begin(), elsewhere.end());
  scheduler_.Add(task_id, record.demand, unready, record.is_actor_creation() ? "actor" : "");
  for (const ObjectId& id : elsewhere) remote_.Fetch(id);
}

void TaskManager::QueueTasksOfReservedGroups() {
  for (const TaskId& task_id : groups_.ReservePending(view_)) {
    auto task = tasks_.find(task_id);
    if (task == tasks_.end()) continue;
    TaskRecord& record = task->second;
    if (auto creation = parked_creations_.extract(task_id);
        creation && ReleaseCreation(creation.mapped(), task_id, record)) {
      continue;
    }
    Route(task_id, record);  // to its bundle's node
  }
}

void TaskManager::ScheduleActorCreation(const ActorId& actor_id, const rpc::TaskSpec& creation) {
  const TaskId task_id = CreationTaskOf(actor_id);
  auto [it, inserted] = tasks_.try_emplace(task_id);
  if (!inserted) return;  // already queued
  TaskRecord& record = it->second;
  record.spec = creation;
  record.demand = ResourceSet::FromProto(record.spec.resources());
  record.owner = 0;  // the raylet's own
  Enqueue(task_id, record);
}

TaskRecord* TaskManager::Find(const TaskId& task_id) {
  auto it = tasks_.find(task_id);
  return it == tasks_.end() ? nullptr : &it->second;
}

bool TaskManager::ArgsReady(const rpc::TaskSpec& spec) const {
  for (const ObjectId& id : ArgumentIds(spec)) {
    if (objects_.Contains(id) && !objects_.IsReady(id)) return false;
  }
  return true;
}

bool TaskManager::ArgsLocal(const rpc::TaskSpec& spec) const {
  for (const ObjectId& id : ArgumentIds(spec)) {
    if (objects_.NeedsFetch(id) || (objects_.Contains(id) && !objects_.IsReady(id))) return false;
  }
  return true;
}

bool TaskManager::ArgsHere(const rpc::TaskSpec& spec) {
  bool here = true;
  for (const ObjectId& id : ArgumentIds(spec)) {
    if (objects_.NeedsFetch(id)) {
      remote_.Fetch(id);
      here = false;
    } else if (objects_.Contains(id) && !objects_.IsReady(id)) {
      here = false;
    }
  }
  if (!here) return false;
  // Spilled ones are read back first, off the loop; a call whose arguments
  // found no room fails as a task's would (OnArgumentsRestored).
  const TaskId task_id = TaskId::FromBinary(spec.task_id());
  return spill_.Restore(ArgumentIds(spec), [this, task_id](SpillManager::Restored outcome) {
    if (outcome == SpillManager::Restored::kNoRoom) OnArgumentsRestored(task_id, outcome);
    actors_.OnObjectReady();
  }) != SpillManager::Restored::kPending;
}

// ---- dispatch -------------------------------------------------------------------

void TaskManager::Dispatch() {
  if (groups_.has_pending()) QueueTasksOfReservedGroups();
  if (!awaiting_remote_.empty()) ForwardAwaiting();
  if (!remote_calls_.empty()) SendRemoteCalls();
  // New leases: ready tasks whose demand fits go to idle workers.
  while (pool_.num_idle() > 0 && scheduler_.num_dispatchable() > 0) {
    std::vector<TaskId> ready = scheduler_.Dispatch(pool_.num_idle());
    if (ready.empty()) break;
    for (const TaskId& task_id : ready) {
      auto it = tasks_.find(task_id);
      if (it == tasks_.end()) continue;
      auto worker = pool_.PopIdle(task_id);
      if (!worker) {  // cannot happen: at most num_idle were taken
        scheduler_.Release(it->second.demand);
        Enqueue(task_id, it->second);
        continue;
      }
      leases_.Grant(*worker, task_id, it->second.demand, it->second.is_actor_creation());
      SendLeased(task_id, *worker);
    }
  }
  // Other nodes with room take what has none here.
  if (!view_.remote_nodes().empty() && scheduler_.num_dispatchable() > 0) SpillBack();
  // Tasks that wait only because the node's resources are taken queue
  // behind running tasks of the same shape (which hold those resources), so
  // short tasks run back to back. Tasks that fit now get a worker of their
  // own instead (the pool grows), and a worker that goes idle pulls queued
  // tasks back (Rebalance): a long task never holds others hostage.
  if (scheduler_.num_dispatchable() > 0) {
    for (const LeaseManager::Slot& slot : leases_.PipelineSlots()) {
      for (const TaskId& task_id : scheduler_.TakeQueued(slot.shape, slot.room)) {
        leases_.Append(slot.worker, task_id);
        SendLeased(task_id, slot.worker);
      }
      if (scheduler_.num_dispatchable() == 0) break;
    }
  }
  if (!workers_broken_ && pool_.num_idle() == 0) {
    const size_t fitting = scheduler_.NumFittingNow();
    pool_.Grow(fitting);
    if (fitting > 0 && pool_.at_hard_limit() && pool_.num_starting() == 0 &&
        !warned_worker_limit_) {
      warned_worker_limit_ = true;
      std::cerr << "flare-raylet: " << pool_.size()
                << " worker processes exist, most blocked in get/wait on tasks that have no "
                   "worker left; no more will be started (nested tasks this deep may not "
                   "finish)\n";
    }
  }
}

void TaskManager::Rebalance() {
  if (scheduler_.num_dispatchable() > 0 || (pool_.num_idle() == 0 && !view_.HasRemoteRoom())) {
    return;
  }
  rpc::Message message;
  message.mutable_return_tasks();
  auto room_elsewhere = [this](const ResourceSet& demand) {
    for (const auto& [node, view] : view_.remote_nodes()) {
      if (demand.IsSubsetOf(view.available)) return true;
    }
    return false;
  };
  for (ClientId worker : leases_.TakeRebalanceRequests(room_elsewhere)) {
    clients_.Send(worker, message);
  }
}

void TaskManager::OnArgumentsRestored(const TaskId& task_id, SpillManager::Restored outcome) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end() || it->second.running || it->second.cancelled) return;
  if (outcome == SpillManager::Restored::kNoRoom) {
    Fail(task_id, rpc::OBJECT_STORE_FULL,
         "task " + it->second.spec.function_name() + " could not start: its arguments were "
         "spilled to disk and the object store stayed too full to bring them back");
    return;
  }
  Enqueue(task_id, it->second);  // a lost argument fails it as it is sent
  Dispatch();
}

void TaskManager::SendLeased(const TaskId& task_id, ClientId worker) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return;
  if (!SendTo(task_id, it->second, worker)) RemoveFromLease(worker, task_id);
}

bool TaskManager::SendTo(const TaskId& task_id, TaskRecord& record, ClientId worker) {
  record.running = true;
  record.worker = worker;
  if (const WorkerInfo* info = pool_.Find(worker)) record.worker_pid = info->pid;
  // Spilled arguments come back first (one that cannot be read back is
  // lost); a failed argument fails the task without running it. While they
  // are read back (or wait for room), the task waits off its worker.
  const SpillManager::Restored restored =
      spill_.Restore(ArgumentIds(record.spec), [this, task_id](SpillManager::Restored outcome) {
        OnArgumentsRestored(task_id, outcome);
      });
  if (restored == SpillManager::Restored::kPending) {
    record.running = false;
    record.worker = 0;
    return false;
  }
  if (!record.is_actor_creation() && !record.is_actor_call() && !ArgsLocal(record.spec)) {
    // An argument is being made again, or its copy here went, since the
    // task was queued: it waits for it again (pulled here first).
    Enqueue(task_id, record);
    return false;
  }
  if (const ObjectEntry* failed = FailedArgument(objects_, record.spec)) {
    std::vector<ObjectId> not_fetched;
    if (record.owner_is_peer && !not_fetched_.empty()) {
      for (const ObjectId& id : ArgumentIds(record.spec)) {
        if (not_fetched_.contains(id)) not_fetched.push_back(id);
      }
    }
    if (!not_fetched.empty()) {
      SpillBackToOwner(task_id, record, not_fetched);
    } else {
      FailWithErrorOf(task_id, *failed);
    }
    return false;
  }
  rpc::Message message;
  auto* execute = message.mutable_execute_task();
  *execute->mutable_spec() = record.spec;
  const std::vector<uint32_t>* gpus = leases_.Devices(worker);
  if (gpus == nullptr) gpus = actors_.Devices(worker);
  if (gpus != nullptr) {
    for (uint32_t gpu : *gpus) execute->add_gpu_ids(gpu);
  }
  for (const auto& dep : record.spec.dependencies()) {
    objects_.DescribeAndPin(worker, ObjectId::FromBinary(dep), execute->add_resolved());
  }
  if (!record.spec.args_object_id().empty()) {
    objects_.DescribeAndPin(worker, ObjectId::FromBinary(record.spec.args_object_id()),
                            execute->mutable_args_data());
  }
  clients_.Send(worker, message);
  StartTimeoutClock(worker);
  return true;
}

void TaskManager::RemoveFromLease(ClientId worker, const TaskId& task_id) {
  if (leases_.Remove(worker, task_id)) {
    pool_.OnTaskFinished(worker);
  } else {
    StartTimeoutClock(worker);
  }
}

void TaskManager::OnTasksReturned(ClientId worker, const rpc::TasksReturned& returned) {
  leases_.OnTasksReturned(worker);
  for (const auto& binary : returned.task_ids()) {
    const TaskId task_id = TaskId::FromBinary(binary);
    auto it = tasks_.find(task_id);
    if (it == tasks_.end() || it->second.worker != worker) continue;
    RemoveFromLease(worker, task_id);
    Enqueue(task_id, it->second);
  }
  Dispatch();
}

void TaskManager::OnWorkerBlocked(ClientId worker, bool blocked) {
  if (!leases_.Running(worker)) return;
  pool_.SetBlocked(worker, blocked);
  if (leases_.SetBlocked(worker, blocked)) Dispatch();
}

// ---- results, retries and failures ---------------------------------------------

void TaskManager::OnTaskDone(ClientId worker, rpc::TaskDone& done) {
  const TaskId task_id = TaskId::FromBinary(done.task_id());
  auto it = tasks_.find(task_id);
  if (it == tasks_.end() || it->second.worker != worker) return;
  TaskRecord& record = it->second;
  if (record.is_actor_creation()) {
    actors_.OnCreationDone(worker, ActorIdOf(task_id), record, done);
    return;
  }
  if (record.is_actor_call()) {
    actors_.OnCallDone(task_id, done);
    return;
  }
  RemoveFromLease(worker, task_id);
  record.running = false;
  if (done.retryable()) {
    FailedAttempt raised;
    raised.raised = &done;
    if (RetryOrFail(task_id, record, raised)) {
      Dispatch();
      return;
    }
  } else {
    StoreReturns(done);
    Finish(task_id);
  }
  Dispatch();
  Rebalance();
}

void TaskManager::OnWorkerLost(const WorkerInfo& info, const std::string& cause) {
  if (info.client == 0) return;
  const std::deque<TaskId> tasks = leases_.End(info.client);
  // Tasks queued behind the running one never started: they simply go back.
  for (size_t i = 1; i < tasks.size(); ++i) {
    auto it = tasks_.find(tasks[i]);
    if (it != tasks_.end()) Enqueue(tasks[i], it->second);
  }
  if (tasks.empty()) return;
  auto it = tasks_.find(tasks.front());
  if (it == tasks_.end()) return;
  it->second.running = false;
  FailedAttempt crashed;
  crashed.worker_pid = info.pid;
  crashed.cause = cause;
  RetryOrFail(tasks.front(), it->second, crashed);
}

bool TaskManager::MayRetry(const TaskId& task_id, const TaskRecord& record) const {
  return !record.cancelled && record.retries_left != 0 && generators_.Restartable(task_id);
}

bool TaskManager::TakeRetry(const TaskId& task_id, TaskRecord& record) {
  if (!MayRetry(task_id, record)) return false;
  if (record.retries_left > 0) record.retries_left--;
  record.timed_out = false;
  record.spec.set_attempt(record.spec.attempt() + 1);
  return true;
}

bool TaskManager::RetryOrFail(const TaskId& task_id, TaskRecord& record,
                              const FailedAttempt& attempt) {
  const std::string name = record.spec.function_name();
  // A task lost with its node had no worker of ours.
  const std::string worker = attempt.worker_pid > 0
                                 ? "(pid " + std::to_string(attempt.worker_pid) + ")"
                                 : "process";
  const bool timed_out = record.timed_out;
  if (TakeRetry(task_id, record)) {
    const std::string retrying =
        "; retrying (attempt " + std::to_string(record.spec.attempt() + 1) + ")";
    LogToJob(clients_, record.spec.job_id(),
             attempt.raised != nullptr
                 ? "task " + name + " raised " + FirstErrorMessage(*attempt.raised) + retrying
                 : "task " + name + (timed_out ? " timed out" : "") + ": its worker " + worker +
                       " " + attempt.cause + retrying);
    record.remote = NodeId();
    Route(task_id, record);
    return true;
  }
  if (attempt.raised != nullptr) {
    StoreReturns(*attempt.raised);
  } else if (record.cancelled) {
    FailReturns(record, rpc::TASK_CANCELLED,
                "task " + name + " was cancelled (its worker was killed)");
  } else if (!attempt.node.IsNil()) {
    FailReturns(record, rpc::NODE_DIED,
                "task " + name + " " + attempt.cause + ", and the task has no retries left");
  } else if (!generators_.Restartable(task_id)) {
    FailReturns(record, rpc::WORKER_CRASHED,
                "the worker " + worker + " running generator " + name + " " + attempt.cause +
                    " after it had yielded items, so it is not run again");
  } else {
    FailReturns(record, rpc::WORKER_CRASHED,
                "the worker " + worker + " running task " + name + " " + attempt.cause +
                    " and the task has no retries left");
  }
  Finish(task_id);
  return false;
}

void TaskManager::StoreReturns(rpc::TaskDone& done) {
  const TaskId task_id = TaskId::FromBinary(done.task_id());
  for (auto& ret : *done.mutable_returns()) {
    const ObjectId id = ObjectId::FromBinary(ret.data().object_id());
    if (TaskOfObject(id) != task_id) {
      // Another task's object: not this report's to complete.
      std::cerr << "flare-raylet: the report of task " << task_id.Hex()
                << " holds object " << id.Hex() << ", which it does not return; ignored\n";
      continue;
    }
    returns_.Store(ret);
  }
}

bool TaskManager::WritesReturnsOf(ClientId client, const ObjectId& id) const {
  auto it = tasks_.find(TaskOfObject(id));
  return it != tasks_.end() && it->second.running && it->second.worker == client;
}

void TaskManager::FailReturns(const TaskRecord& record, rpc::ErrorCode code,
                              const std::string& message, const std::string& payload) {
  const TaskId task_id = TaskId::FromBinary(record.spec.task_id());
  for (uint32_t i = 1; i <= record.spec.num_returns(); ++i) {
    returns_.StoreError(ObjectIdFor(task_id, i), code, message, payload);
  }
}

void TaskManager::Fail(const TaskId& task_id, rpc::ErrorCode code, const std::string& message,
                       const std::string& payload) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return;
  FailReturns(it->second, code, message, payload);
  Finish(task_id);
}

void TaskManager::FailWithErrorOf(const TaskId& task_id, const ObjectEntry& failed) {
  // Copied first: storing the task's errors may rehash the table `failed` is in.
  rpc::ReturnObject error;
  error.mutable_data()->set_error(failed.error);
  error.mutable_data()->set_error_message(failed.error_message);
  error.mutable_data()->set_inline_data(failed.inline_data);
  for (const ObjectId& inner : failed.contained) error.add_contained_refs(inner.Binary());
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return;
  const uint32_t num_returns = it->second.spec.num_returns();
  for (uint32_t i = 1; i <= num_returns; ++i) {
    rpc::ReturnObject ret = error;
    ret.mutable_data()->set_object_id(ObjectIdFor(task_id, i).Binary());
    returns_.Store(ret);
  }
  Finish(task_id);
}

void TaskManager::Finish(const TaskId& task_id) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return;
  // Out of the table first: what follows may finish other tasks.
  TaskRecord record = std::move(it->second);
  tasks_.erase(it);
  if (record.spec.streaming()) generators_.OnFinished(task_id);
  if (record.is_actor_creation()) actors_.OnCreationFinished(ActorIdOf(task_id), record);
  if (!record.remote.IsNil()) {
    remote_.Forget(task_id);
    awaiting_remote_.erase(task_id);
  }
  if (!sent_via_.empty() && record.is_actor_call()) {
    const ActorId actor_id = ActorId::FromBinary(record.spec.actor_id());
    auto via = sent_via_.find(actor_id);
    if (via != sent_via_.end() && via->second.erase(task_id) > 0 && via->second.empty()) {
      sent_via_.erase(via);
      // Its actor's queued calls may take their route now.
      if (remote_calls_.contains(actor_id)) timers_.Post([this] { SendRemoteCalls(); });
    }
  }
  // Results whose only copy stayed on the node that ran it: what making
  // them again needs is kept while they live (before its arguments go).
  std::vector<ObjectId> only_elsewhere;
  for (uint32_t i = 1; i <= record.spec.num_returns(); ++i) {
    const ObjectId id = ObjectIdFor(task_id, i);
    if (objects_.NeedsFetch(id)) only_elsewhere.push_back(id);
  }
  lineage_.Keep(task_id, record, only_elsewhere);
  if (record.waited_infeasible) infeasible_.erase(task_id);
  parked_creations_.erase(task_id);
  for (const ObjectId& id : record.arg_refs) objects_.RemoveRef(kTaskArgHolder, id);
}

void TaskManager::OnWorkersBroken(const std::string& reason) {
  workers_broken_ = reason;
  std::vector<TaskId> queued;
  for (const auto& [task_id, record] : tasks_) {
    if (!record.running) queued.push_back(task_id);
  }
  for (const TaskId& task_id : queued) {
    scheduler_.Remove(task_id);
    Fail(task_id, rpc::WORKER_CRASHED, reason);
  }
}

void TaskManager::Compact() {
  ShrinkIfSparse(tasks_);
  ShrinkIfSparse(awaiting_remote_);
  ShrinkIfSparse(infeasible_);
}

}  // namespace flare
