// The task manager's side of actors placed on other nodes: where their
// creation goes, and what the node that placed them keeps telling the node
// that hosts them (no handle left here, the owner went). The hosting node's
// actor manager runs the actor like any of its own; see actor_manager.h.
#include <algorithm>
#include <iostream>

#include "raylet/task_manager.h"

namespace flare {

bool TaskManager::PlaceActorElsewhere(const ClientInfo& owner, const TaskId& task_id,
                                      TaskRecord& record) {
  if (workers_broken_ || RunsHereOnly(record)) return false;
  const SchedulingDecision decision = Decide(record);
  if (decision.is_infeasible()) {
    // Until a node that fits joins, the actor manager does not hear of it
    // (it could then be created there); after that it fails as infeasible
    // here, through the actor manager (Route).
    return WaitForAFittingNode(task_id, record, &owner);
  }
  if (decision.is_local()) return false;
  auto [it, placed_first] = actors_elsewhere_.try_emplace(ActorIdOf(task_id));
  ActorElsewhere& actor = it->second;
  actor.node = decision.node();
  if (placed_first) {
    actor.owner = record.owner;
    actor.detached = record.spec.actor().detached();
    actor.max_task_retries = record.spec.actor().max_task_retries();
    if (record.spec.actor().max_restarts() != 0) {
      // What restarting it elsewhere takes, should its node die.
      actor.creator = owner;
      actor.creation = record.spec;
      actor.demand = record.demand;
      actor.args = record.arg_refs;
      for (const ObjectId& id : actor.args) objects_.AddRef(kTaskArgHolder, id);
    }
  }
  record.remote = decision.node();
  if (!ArgsReady(record.spec)) {
    awaiting_remote_[task_id] = decision.node();
    return true;
  }
  Forward(task_id, record, decision.node());
  return true;
}

void TaskManager::FailActorElsewhere(const TaskId& creation, const std::string& why) {
  auto task = tasks_.find(creation);
  const std::string name = task != tasks_.end() ? task->second.spec.actor().class_name() : "";
  const std::string death = "the actor " + name + " could not be created: " + why;
  auto actor = actors_elsewhere_.find(ActorIdOf(creation));
  if (actor != actors_elsewhere_.end()) actor->second.death = death;
  Fail(creation, rpc::ACTOR_DIED, death);
  SendRemoteCalls();  // the calls waiting for it fail too
  MaybeReleaseActorElsewhere(ActorIdOf(creation));
}

void TaskManager::OnActorDied(const NodeId& node, const rpc::ActorDied& died) {
  const ActorId actor_id = ActorId::FromBinary(died.actor_id());
  auto it = actors_elsewhere_.find(actor_id);
  if (it == actors_elsewhere_.end() || it->second.node != node) return;
  if (it->second.death.empty()) it->second.death = died.death();
  MaybeReleaseActorElsewhere(actor_id);
}

void TaskManager::OnActorKilled(const rpc::KillActor& kill) {
  const ActorId actor_id = ActorId::FromBinary(kill.actor_id());
  auto it = actors_elsewhere_.find(actor_id);
  // A kill that lets the actor restart leaves it alive.
  if (it == actors_elsewhere_.end() || !kill.no_restart() || kill.exiting()) return;
  if (it->second.death.empty()) {
    it->second.death = "the actor " + actor_id.Hex() + " was killed by kill()";
  }
  MaybeReleaseActorElsewhere(actor_id);
}

// ---- routes: calls from other nodes go straight to the actor's node ----------------

void TaskManager::TellRoute(const ClientInfo& caller, const ActorId& actor_id,
                            ActorElsewhere& actor) {
  // Only where it runs now: not while it is (re)created, when that node may
  // not know it yet.
  if (caller.node_id.IsNil() || caller.node_id == actor.node || !actor.death.empty() ||
      tasks_.contains(CreationTaskOf(actor_id)) || !actor.told.insert(caller.node_id).second) {
    return;
  }
  rpc::Message message;
  rpc::ActorLocation& location = *message.mutable_actor_location();
  location.set_actor_id(actor_id.Binary());
  location.set_node_id(actor.node.Binary());
  location.set_max_task_retries(actor.max_task_retries);
  clients_.Send(caller.id, message);
}

void TaskManager::OnActorLocation(const NodeId& node, const rpc::ActorLocation& location) {
  const NodeId host = NodeId::FromBinary(location.node_id());
  // A node this one no longer sees is not a route (its calls would be lost).
  if (host != view_.local_id() && !view_.remote_nodes().count(host)) return;
  routes_[ActorId::FromBinary(location.actor_id())] = {node, host, location.max_task_retries()};
  SendRemoteCalls();
}

bool TaskManager::TakeRoute(const ActorId& actor_id, TaskRecord& record) {
  if (actors_elsewhere_.contains(actor_id)) return false;
  const TaskId task_id = TaskId::FromBinary(record.spec.task_id());
  auto route = routes_.find(actor_id);
  auto via = sent_via_.find(actor_id);
  // Not before the others sent the long way have ended (this one may be
  // among them when it goes again).
  const bool others_out = via != sent_via_.end() &&
                          (via->second.size() > 1 || !via->second.contains(task_id));
  if (route == routes_.end() || route->second.via != record.remote || others_out) {
    // Sent the long way: later calls wait for it before they take a route.
    sent_via_[actor_id].insert(task_id);
    return false;
  }
  if (via != sent_via_.end()) sent_via_.erase(via);
  record.via = route->second.via;
  if (route->second.host == view_.local_id()) {
    record.remote = NodeId();
    record.spec.clear_actor_node_id();
  } else {
    record.remote = route->second.host;
    record.spec.set_actor_node_id(route->second.host.Binary());
  }
  return true;
}

void TaskManager::OnRouteLost(const NodeId& node, const std::string& why,
                              std::vector<TaskId> calls) {
  absl::flat_hash_map<ActorId, int, IdHash> max_resends;
  for (auto route = routes_.begin(); route != routes_.end();) {
    if (route->second.host == node) {
      max_resends[route->first] = route->second.max_task_retries;
      routes_.erase(route++);
    } else {
      ++route;
    }
  }
  std::sort(calls.begin(), calls.end(), [this](const TaskId& a, const TaskId& b) {
    return tasks_.at(a).seq < tasks_.at(b).seq;
  });
  for (auto call = calls.rbegin(); call != calls.rend(); ++call) {
    TaskRecord& record = tasks_.at(*call);
    const ActorId actor_id = ActorId::FromBinary(record.spec.actor_id());
    const int max = max_resends.contains(actor_id) ? max_resends[actor_id] : 0;
    const bool via_alive = view_.remote_nodes().count(record.via) > 0;
    if (!via_alive || (max >= 0 && record.resends >= max)) {
      Fail(*call, rpc::ACTOR_DIED,
           "the actor of call " + record.spec.function_name() + " was on node " + node.Hex() +
               ", which " + why +
               (via_alive ? " while this call ran (max_task_retries is exhausted)" : ""));
      continue;
    }
    // Back to the node that placed it, which restarts it or knows it dead.
    ++record.resends;
    record.running = false;
    record.remote = record.via;
    record.via = NodeId();
    record.spec.set_actor_node_id(record.remote.Binary());
    remote_calls_[actor_id].push_front(*call);
  }
}

std::optional<NodeId> TaskManager::ActorNode(const ActorId& actor_id) const {
  auto it = actors_elsewhere_.find(actor_id);
  if (it == actors_elsewhere_.end()) return std::nullopt;
  return it->second.node;
}

void TaskManager::OnObjectFreed(const ObjectId& id) {
  if (!not_fetched_.empty()) not_fetched_.erase(id);
  if (lineage_.size() > 0) {
    // After this event: releasing the task's arguments calls the table.
    timers_.Post([this, id] { lineage_.Release(id); });
  }
  if (!routes_.empty() && IndexOfObject(id) == 1) {
    // No handle here any more: its route goes with it.
    if (auto route = routes_.find(ActorIdOf(TaskOfObject(id)));
        route != routes_.end() && HandleOf(route->first) == id) {
      routes_.erase(route);
    }
  }
  if (actors_elsewhere_.empty()) return;
  const ActorId actor_id = ActorIdOf(TaskOfObject(id));
  auto it = actors_elsewhere_.find(actor_id);
  if (it == actors_elsewhere_.end() || HandleOf(actor_id) != id) return;
  it->second.out_of_scope = true;
  MaybeReleaseActorElsewhere(actor_id);
}

void TaskManager::MaybeReleaseActorElsewhere(const ActorId& actor_id) {
  auto it = actors_elsewhere_.find(actor_id);
  if (it == actors_elsewhere_.end() || remote_calls_.contains(actor_id) ||
      awaiting_remote_.contains(CreationTaskOf(actor_id))) {
    return;
  }
  // A detached actor lives on until it dies, whatever the handles here
  // (get_actor handles may still route through here); then its record goes,
  // or a driver making many of them would keep them all (later calls
  // through handles made here fail as calls on an unknown actor do). Any
  // other actor's record stays while handles here may call it, to fail
  // those calls with how it died.
  const bool dead = !it->second.death.empty();
  if (it->second.detached ? !dead : !it->second.out_of_scope) return;
  if (!dead) {
    rpc::KillActor release;
    release.set_actor_id(actor_id.Binary());
    release.set_out_of_scope(true);
    remote_.SendKill(it->second.node, release);
  }
  EraseActorElsewhere(actor_id);
}

void TaskManager::EraseActorElsewhere(const ActorId& actor_id) {
  auto it = actors_elsewhere_.find(actor_id);
  if (it == actors_elsewhere_.end()) return;
  std::vector<ObjectId> args = std::move(it->second.args);
  if (!it->second.death.empty()) {
    if (deaths_.size() >= kMaxDeaths) {
      deaths_.erase(death_order_.front());
      death_order_.pop_front();
    }
    if (deaths_.emplace(actor_id, it->second.death).second) death_order_.push_back(actor_id);
  }
  actors_elsewhere_.erase(it);
  for (const ObjectId& id : args) objects_.RemoveRef(kTaskArgHolder, id);
}

void TaskManager::OnActorNodeGone(const ActorId& actor_id, const NodeId& node,
                                  const std::string& why, std::vector<TaskId> in_flight) {
  auto it = actors_elsewhere_.find(actor_id);
  if (it == actors_elsewhere_.end()) return;
  ActorElsewhere& actor = it->second;
  const std::string name = actor.creation.has_actor() ? actor.creation.actor().class_name()
                                                      : actor_id.Hex();
  const int restarts_left = actor.creation.has_actor() ? actor.creation.actor().max_restarts() : 0;
  const std::string lost = "the actor " + name + " was on node " + node.Hex() + ", which " + why;
  // Where it goes now: with no restart left, or no node that fits, nowhere.
  TaskRecord creation;
  creation.spec = actor.creation;
  creation.demand = actor.demand;
  const SchedulingDecision decision =
      restarts_left != 0 && actor.creator ? Decide(creation) : SchedulingDecision::Infeasible();
  // Its placement group's bundle left with the node and is placed again:
  // it restarts there once it is.
  const std::optional<PlacementGroupId> group = groups_.GroupOf(actor.demand);
  const bool waits_for_group = decision.is_infeasible() && restarts_left != 0 &&
                               actor.creator && group && groups_.IsRescheduling(*group);
  if (decision.is_infeasible() && !waits_for_group) {
    const std::string death = restarts_left == 0
                                  ? lost + " (max_restarts is exhausted)"
                                  : lost + "; no node left in the cluster fits it to restart";
    for (const TaskId& call : in_flight) Fail(call, rpc::ACTOR_DIED, death);
    gcs_.ReportActorState(actor_id, rpc::ACTOR_DEAD, nullptr);
    if (tasks_.contains(CreationTaskOf(actor_id))) {
      // It was never up: its creation fails, and its calls with it.
      FailActorElsewhere(CreationTaskOf(actor_id), "its node " + node.Hex() + " " + why);
      return;
    }
    actor.death = death;
    MaybeReleaseActorElsewhere(actor_id);
    return;
  }
  std::cerr << "flare-raylet: " << lost << "; restarting it "
            << (waits_for_group        ? "once its placement group's bundle is placed again"
                : decision.is_local() ? "on this node"
                                      : "on node " + decision.node().Hex())
            << "\n";
  gcs_.ReportActorState(actor_id, rpc::ACTOR_RESTARTING, nullptr);
  if (restarts_left > 0) actor.creation.mutable_actor()->set_max_restarts(restarts_left - 1);
  actor.told.clear();  // callers hear where it runs next
  // The calls that were running there go again first, in the order they
  // were submitted, while max_task_retries allows; the others fail.
  const int max_resends = actor.creation.actor().max_task_retries();
  in_flight.erase(std::remove_if(in_flight.begin(), in_flight.end(),
                                 [this](const TaskId& call) { return !tasks_.contains(call); }),
                  in_flight.end());
  std::sort(in_flight.begin(), in_flight.end(), [this](const TaskId& a, const TaskId& b) {
    return tasks_.at(a).seq < tasks_.at(b).seq;
  });
  std::deque<TaskId>& queued = remote_calls_[actor_id];
  for (auto call = in_flight.rbegin(); call != in_flight.rend(); ++call) {
    TaskRecord& record = tasks_.at(*call);
    if (max_resends >= 0 && record.resends >= max_resends) {
      Fail(*call, rpc::ACTOR_DIED,
           lost + " while this call ran (it restarts; max_task_retries is exhausted)");
      continue;
    }
    ++record.resends;
    record.running = false;
    queued.push_front(*call);
  }
  // The creation runs again: a task of this node's, as when it was
  // submitted (its handle object is ready already, and stays as it is).
  const TaskId task_id = CreationTaskOf(actor_id);
  const ClientInfo creator = *actor.creator;
  auto [task, inserted] = tasks_.try_emplace(task_id);
  TaskRecord& record = task->second;
  if (inserted) {
    record.spec = actor.creation;
    record.owner = creator.id;
    record.demand = actor.demand;
    record.arg_refs = actor.args;
    record.seq = next_seq_++;
    for (const ObjectId& id : record.arg_refs) objects_.AddRef(kTaskArgHolder, id);
  }
  if (waits_for_group) {
    if (!groups_.Park(task_id, record.demand)) {  // the bundles that stayed hold it after all
      gcs_.ReportActorState(actor_id, rpc::ACTOR_DEAD, nullptr);
      FailActorElsewhere(task_id, "its node " + node.Hex() + " " + why +
                                      " and no node of its placement group can hold it");
      return;
    }
    // Its calls wait with it (CreationHeldBack); ReleaseCreation places it.
    parked_creations_.emplace(task_id, creator);
  } else if (decision.is_local()) {
    // Hosted here from now on: the actor manager runs it, and its calls.
    EraseActorElsewhere(actor_id);
    PointQueuedCalls(actor_id, NodeId());
    actors_.OnCreationSubmitted(actor_id, creator, record.spec);
    Place(task_id, record);
  } else {
    PointQueuedCalls(actor_id, decision.node());
    actor.node = decision.node();
    record.remote = decision.node();
    if (ArgsReady(record.spec)) {
      Forward(task_id, record, decision.node());
    } else {
      awaiting_remote_[task_id] = decision.node();
    }
  }
  SendRemoteCalls();
}

void TaskManager::OnOwnerGone(ClientId owner) {
  std::vector<ActorId> owned;
  for (const auto& [actor_id, actor] : actors_elsewhere_) {
    if (actor.owner == owner && !actor.detached) owned.push_back(actor_id);
  }
  for (const ActorId& actor_id : owned) {
    auto it = actors_elsewhere_.find(actor_id);
    if (it == actors_elsewhere_.end()) continue;
    if (it->second.death.empty()) {
      rpc::KillActor kill;
      kill.set_actor_id(actor_id.Binary());
      kill.set_no_restart(true);
      kill.set_out_of_scope(true);
      kill.set_owner_died(true);
      remote_.SendKill(it->second.node, kill);
    }
    EraseActorElsewhere(actor_id);
  }
}

}  // namespace flare
