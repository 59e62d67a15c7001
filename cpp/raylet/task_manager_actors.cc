// The task manager's side of actors placed on other nodes: where their
// creation goes, and what the node that placed them keeps telling the node
// that hosts them (no handle left here, the owner went). The hosting node's
// actor manager runs the actor like any of its own; see actor_manager.h.
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
  ActorElsewhere& actor = actors_elsewhere_[ActorIdOf(task_id)];
  actor.node = decision.node();
  actor.owner = record.owner;
  actor.detached = record.spec.actor().detached();
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

std::optional<NodeId> TaskManager::ActorNode(const ActorId& actor_id) const {
  auto it = actors_elsewhere_.find(actor_id);
  if (it == actors_elsewhere_.end()) return std::nullopt;
  return it->second.node;
}

void TaskManager::OnObjectFreed(const ObjectId& id) {
  if (lineage_.size() > 0) {
    // After this event: releasing the task's arguments calls the table.
    timers_.Post([this, id] { lineage_.Release(id); });
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
  actors_elsewhere_.erase(it);
}

void TaskManager::OnOwnerGone(ClientId owner) {
  for (auto it = actors_elsewhere_.begin(); it != actors_elsewhere_.end();) {
    const ActorElsewhere& actor = it->second;
    if (actor.owner != owner || actor.detached) {
      ++it;
      continue;
    }
    if (actor.death.empty()) {
      rpc::KillActor kill;
      kill.set_actor_id(it->first.Binary());
      kill.set_no_restart(true);
      kill.set_out_of_scope(true);
      kill.set_owner_died(true);
      remote_.SendKill(actor.node, kill);
    }
    actors_elsewhere_.erase(it++);
  }
}

}  // namespace flare
