// The TaskManager's tasks on other nodes: sending them there (and actor
// calls to actors there), spilling queued ones back, their returns, the
// node their large arguments are on, and what a lost node takes with it.
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "raylet/task_args.h"
#include "raylet/task_manager.h"

namespace flare {

// ---- where arguments are ------------------------------------------------------

std::optional<NodeId> TaskManager::ArgumentNode(const TaskRecord& record) const {
  if (RunsHereOnly(record) || groups_.GroupOf(record.demand) ||
      record.spec.strategy().kind() != rpc::SchedulingStrategySpec::DEFAULT) {
    return std::nullopt;
  }
  absl::flat_hash_map<NodeId, uint64_t, IdHash> bytes;
  uint64_t here = 0;
  for (const ObjectId& id : ArgumentIds(record.spec)) {
    const ObjectEntry* entry = objects_.Find(id);
    if (entry == nullptr || entry->error != rpc::ERROR_NONE) continue;
    if (objects_.NeedsFetch(id)) {
      bytes[entry->elsewhere] += entry->size;
    } else if (entry->in_store || entry->spilled) {
      here += entry->size;
    }
  }
  std::optional<NodeId> best;
  uint64_t most = here;
  for (const auto& [node, size] : bytes) {
    if (size > most) {
      best = node;
      most = size;
    }
  }
  if (!best) return std::nullopt;
  // Room there by what this node has sent there: reports lag by tens of
  // milliseconds, and a task that just made the argument there would
  // still show as running. (Another owner's load there may make it queue.)
  auto view = view_.remote_nodes().find(*best);
  if (view == view_.remote_nodes().end()) return std::nullopt;
  ResourceSet room = view->second.total;
  room.Subtract(remote_.DemandOn(*best));
  if (!record.demand.IsSubsetOf(room)) return std::nullopt;
  return best;
}

void TaskManager::OnReadyElsewhere(const ObjectId& id) {
  bool needed_here = false;

  for (const TaskId& task_id : scheduler_.WaitingFor(id)) {
    auto it = tasks_.find(task_id);
    if (it == tasks_.end()) continue;
    TaskRecord& record = it->second;
    const std::optional<NodeId> node =
        ArgsReady(record.spec) ? ArgumentNode(record) : std::nullopt;
    if (!node) {
      needed_here = true;
      continue;
    }
    scheduler_.Remove(task_id);
    Forward(task_id, record, *node);
  }
  if (needed_here) remote_.Fetch(id);
}

// ---- tasks on other nodes ------------------------------------------------------

void TaskManager::Forward(const TaskId& task_id, TaskRecord& record, const NodeId& node) {
  record.remote = node;
  record.running = true;
  record.worker = 0;
  // A failed argument fails the task here, as it would before running.
  if (const ObjectEntry* failed = FailedArgument(objects_, record.spec)) {
    FailWithErrorOf(task_id, *failed);
    return;
  }
  // Spilled arguments are brought back for the other node to pull (its
  // pull waits for them: NodeManager::BringBackToSend).
  spill_.Restore(ArgumentIds(record.spec), [](SpillManager::Restored) {});
  const absl::Status sent = remote_.Send(node, task_id, record.spec, record.demand);
  if (absl::IsFailedPrecondition(sent)) {
    // An argument is not on this node (ArgsReady lets unknown ids pass), or
    // the task is too large to send: no attempt, here or anywhere, could run it.
    Fail(task_id, rpc::OBJECT_LOST,
         "task " + record.spec.function_name() + " could not be sent to node " + node.Hex() +
             ": " + std::string(sent.message()));
    return;
  }
  if (!sent.ok()) {
    // As if the node had died: it takes nothing more until its next report,
    // so the retry goes elsewhere (and cannot come straight back here).
    view_.RemoveNode(node);
    if (record.is_actor_creation()) {
      FailActorElsewhere(task_id, "node " + node.Hex() + " could not be reached: " +
                                      std::string(sent.message()));
      return;
    }
    record.running = false;
    FailedAttempt lost;
    lost.cause = "could not be sent to node " + node.Hex() + ": " + std::string(sent.message());
    lost.node = node;
    RetryOrFail(task_id, record, lost);
    return;
  }
  view_.Take(node, record.demand);
}

void TaskManager::SendRemoteCalls() {
  std::vector<ActorId> drained;
  absl::flat_hash_map<NodeId, std::string, IdHash> unreachable;
  for (auto it = remote_calls_.begin(); it != remote_calls_.end();) {
    std::deque<TaskId>& calls = it->second;
    const ActorId actor_id = it->first;
    // Calls on an actor placed elsewhere from here follow its creation.
    if (awaiting_remote_.contains(CreationTaskOf(actor_id)) || CreationHeldBack(actor_id)) {
      ++it;
      continue;
    }
    auto elsewhere = actors_elsewhere_.find(actor_id);
    const std::string death =
        elsewhere != actors_elsewhere_.end() ? elsewhere->second.death : std::string();
    while (!calls.empty()) {
      if (!death.empty()) {
        const TaskId call = calls.front();
        calls.pop_front();
        Fail(call, rpc::ACTOR_DIED, death);
        continue;
      }
      auto task = tasks_.find(calls.front());
      if (task == tasks_.end() || task->second.cancelled) {
        calls.pop_front();
        continue;
      }
      if (task->second.remote.IsNil()) {
        // Its creation waited for a node that fits and stayed here (or
        // failed): the actor manager takes it, in order.
        const TaskId task_id = calls.front();
        calls.pop_front();
        actors_.OnCallSubmitted(task_id, task->second);
        continue;
      }
      if (!ArgsReady(task->second.spec)) break;
      const TaskId task_id = calls.front();
      calls.pop_front();
      TaskRecord& record = task->second;
      if (TakeRoute(actor_id, record) && record.remote.IsNil()) {
        actors_.OnCallSubmitted(task_id, record);  // the actor runs here
        continue;
      }
      record.running = true;
      const absl::Status sent =
          remote_.Send(record.remote, task_id, record.spec, ResourceSet());
      if (!sent.ok()) {
        // As if its node had died (it may have, before the GCS said so):
        // the call waits for what becomes of the actor, a restart or death.
        record.running = false;
        calls.push_front(task_id);
        unreachable.emplace(record.remote, std::string(sent.message()));
        break;
      }
    }
    if (calls.empty()) {
      drained.push_back(actor_id);
      remote_calls_.erase(it++);
    } else {
      ++it;
    }
  }
  for (const ActorId& actor_id : drained) MaybeReleaseActorElsewhere(actor_id);
  for (const auto& [node, why] : unreachable) {
    view_.RemoveNode(node);  // until its next report
    OnNodeGone(node, "could not be reached (" + why + ")");
  }
}

void TaskManager::ForwardAwaiting() {
  std::vector<TaskId> ready;
  for (const auto& [task_id, node] : awaiting_remote_) {
    auto it = tasks_.find(task_id);
    if (it == tasks_.end() || ArgsReady(it->second.spec)) ready.push_back(task_id);
  }
  for (const TaskId& task_id : ready) {
    const NodeId node = awaiting_remote_[task_id];
    awaiting_remote_.erase(task_id);
    auto it = tasks_.find(task_id);
    if (it != tasks_.end() && !it->second.cancelled) Forward(task_id, it->second, node);
  }
}

void TaskManager::SpillBack() {
  for (const TaskId& task_id : scheduler_.PeekDispatchable(kSpillBatch)) {
    auto it = tasks_.find(task_id);
    if (it == tasks_.end() || RunsHereOnly(it->second)) continue;
    if (!ArgsReady(it->second.spec)) {
      // An argument is being made again since the task was queued (its
      // copy was lost): it waits for it again.
      scheduler_.Remove(task_id);
      Enqueue(task_id, it->second);
      continue;
    }
    const SchedulingDecision decision = Decide(it->second);
    if (decision.is_local() || decision.is_infeasible()) {
      if (!view_.HasRemoteRoom()) return;
      continue;
    }
    scheduler_.Remove(task_id);
    Forward(task_id, it->second, decision.node());
  }
}

void TaskManager::OnPeerObject(const NodeId& node, const rpc::ObjectData& data) {
  if (remote_.borrowed().OnObject(node, data)) {
    Dispatch();
    return;
  }
  const ObjectId id = ObjectId::FromBinary(data.object_id());
  if (IndexOfObject(id) >= 2 && remote_.Streams(node, TaskOfObject(id))) {
    // An item of a generator running there, in order.
    remote_.OnItem(node, data, generators_.OnRemoteItem(TaskOfObject(id), id));
    Dispatch();
    return;
  }
  const std::optional<TaskId> done = remote_.OnObject(node, data);
  if (!done) return;
  auto it = tasks_.find(*done);
  bool freed_room = false;
  if (it != tasks_.end()) {
    // What it took there is free there again (an actor's creation holds
    // its resources while the actor lives; a call takes none): the next
    // task may follow it before that node reports.
    if (!it->second.is_actor_creation() && !it->second.demand.Empty()) {
      view_.Give(node, it->second.demand);
      freed_room = true;
    }
    it->second.remote = NodeId();  // its returns are all here
    Finish(*done);
  }
  Dispatch();
  if (freed_room) Rebalance();  // tasks queued on a busy worker here may go there
}

void TaskManager::OnNodeGone(const NodeId& node, const std::string& why) {
  // Results only it held are made again, or lost (their readers hear it
  // when they look).
  OnCopiesLost(remote_.OnlyOn(node), "its only copy was on node " + node.Hex() + ", which " + why);
  groups_.OnNodeGone(node);
  remote_.borrowed().OnNodeGone(node);
  // Whether an actor placed from here was there, alive (its calls there
  // and its creation are then OnActorNodeGone's).
  auto hosted_there = [&](const ActorId& actor_id) {
    auto actor = actors_elsewhere_.find(actor_id);
    return actor != actors_elsewhere_.end() && actor->second.node == node &&
           actor->second.death.empty();
  };
  absl::flat_hash_map<ActorId, std::vector<TaskId>, IdHash> calls_there;
  std::vector<TaskId> routed_there;
  for (const TaskId& task_id : remote_.OnNodeGone(node)) {
    auto it = tasks_.find(task_id);
    if (it == tasks_.end()) continue;
    if (it->second.is_actor_call()) {
      const ActorId actor_id = ActorId::FromBinary(it->second.spec.actor_id());
      if (hosted_there(actor_id)) {
        calls_there[actor_id].push_back(task_id);
        continue;
      }
      if (!it->second.via.IsNil()) {
        routed_there.push_back(task_id);
        continue;
      }
      Fail(task_id, rpc::ACTOR_DIED,
           "the actor of call " + it->second.spec.function_name() + " was on node " +
               node.Hex() + ", which " + why);
      continue;
    }
    if (it->second.is_actor_creation()) {
      if (!hosted_there(ActorIdOf(task_id))) {
        FailActorElsewhere(task_id, "its node " + node.Hex() + " " + why);
      }
      continue;
    }
    it->second.running = false;
    it->second.remote = NodeId();
    FailedAttempt lost;
    lost.cause = "was on node " + node.Hex() + ", which " + why;
    lost.node = node;
    RetryOrFail(task_id, it->second, lost);
  }
  OnRouteLost(node, why, std::move(routed_there));
  // Tasks waiting for their arguments to go there choose again.
  std::vector<TaskId> waiting;
  for (const auto& [task_id, target] : awaiting_remote_) {
    if (target == node) waiting.push_back(task_id);
  }
  for (const TaskId& task_id : waiting) {
    awaiting_remote_.erase(task_id);
    auto it = tasks_.find(task_id);
    if (it == tasks_.end()) continue;
    if (!it->second.is_actor_creation()) {
      Route(task_id, it->second);
    } else if (!hosted_there(ActorIdOf(task_id))) {
      FailActorElsewhere(task_id, "its node " + node.Hex() + " " + why);
    }
  }
  // Actors there restart elsewhere while they may, or are dead.
  std::vector<ActorId> there;
  for (const auto& [actor_id, actor] : actors_elsewhere_) {
    if (hosted_there(actor_id)) there.push_back(actor_id);
  }
  for (const ActorId& actor_id : there) {
    OnActorNodeGone(actor_id, node, why, std::move(calls_there[actor_id]));
  }
  // Calls still to go there, on actors placed from another node (whose
  // owner was there): they cannot reach them, unless that node told where
  // the actor runs.
  std::vector<TaskId> stranded;
  for (const auto& [actor_id, calls] : remote_calls_) {
    auto route = routes_.find(actor_id);
    const bool routed = route != routes_.end() && route->second.via == node;
    // None of its calls is out through that node now (they failed above).
    if (routed) sent_via_.erase(actor_id);
    for (const TaskId& call : calls) {
      TaskRecord* record = Find(call);
      if (record == nullptr || record->remote != node) continue;
      if (routed) {
        TakeRoute(actor_id, *record);
      } else {
        stranded.push_back(call);
      }
    }
  }
  for (const TaskId& call : stranded) {
    Fail(call, rpc::ACTOR_DIED,
         "the actor of call " + tasks_.at(call).spec.function_name() + " is reached through node " +
             node.Hex() + ", which " + why);
  }
  SendRemoteCalls();  // drops the failed calls from their queues
  Dispatch();
}

void TaskManager::OnCopiesLost(const std::vector<ObjectId>& ids, const std::string& why) {
  // Every lost object is pending again (or an error) before any of the
  // tasks runs again, so one that reads another waits for it.
  std::vector<TaskId> again;
  for (const ObjectId& id : ids) {
    if (!objects_.NeedsFetch(id)) continue;  // a copy is here, or it is made again already
    const TaskId task_id = TaskOfObject(id);
    if (!lineage_.CanRebuild(id)) {
      objects_.MarkLost(id, why + "; it cannot be made again: " + lineage_.WhyNot(id),
                        Lineage::LostCode(id));
      continue;
    }
    bool pulling = false;
    for (uint32_t i = 1; i <= lineage_.NumReturns(task_id); ++i) {
      pulling = pulling || objects_.IsFetching(ObjectIdFor(task_id, i));
    }
    // A pull still writes into a copy here: decided when it ends (it fails
    // and comes back here, or the copy arrived after all).
    if (pulling) continue;
    std::optional<TaskRecord> record = lineage_.TakeForRebuild(id);
    // Its returns lost with it wait for the new run; those here stay.
    for (uint32_t i = 1; i <= record->spec.num_returns(); ++i) {
      objects_.Reopen(ObjectIdFor(task_id, i));
    }
    LogToJob(clients_, record->spec.job_id(),
             "object " + id.Hex() + " was lost (" + why + "); running task " +
                 record->spec.function_name() + " again to make it (attempt " +
                 std::to_string(record->spec.attempt() + 1) + ")");
    tasks_.emplace(task_id, std::move(*record));
    again.push_back(task_id);
  }
  for (const TaskId& task_id : again) {
    if (TaskRecord* record = Find(task_id)) Place(task_id, *record);
  }
}

}  // namespace flare
