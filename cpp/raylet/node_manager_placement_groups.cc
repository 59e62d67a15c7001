// Placement groups: what the NodeManager does around PlacementGroupManager —
// queueing the tasks that waited for a group once it is reserved, and ending
// what ran in a removed one.
#include <algorithm>

#include "raylet/node_manager.h"

namespace flare {

void NodeManager::OnCreatePlacementGroup(const ClientInfo& client,
                                         const rpc::CreatePlacementGroup& request) {
  groups_.Create(client.id, request);
  TryDispatch();
}

void NodeManager::ReservePlacementGroups() {
  for (const TaskId& task_id : groups_.ReservePending()) {
    auto task = tasks_.find(task_id);
    if (task == tasks_.end()) continue;
    if (!task->second.demand.IsSubsetOf(scheduler_.total())) {
      const std::optional<TaskId> group = groups_.GroupOf(task->second.demand);
      FailTask(task->second, rpc::INFEASIBLE,
               "task " + task->second.spec.function_name() + " requires " +
                   task->second.demand.DebugString() + " but its placement group offers " +
                   (group ? groups_.Offered(*group).DebugString() : std::string("nothing")));
      FinishTask(task_id);
      continue;
    }
    Enqueue(task_id, task->second);
  }
}

void NodeManager::RemovePlacementGroup(const TaskId& group_id) {
  if (!groups_.Contains(group_id)) return;
  const std::string reason = "its placement group " + group_id.Hex() + " was removed";
  // Actors placed in it die, and tasks in it (queued, waiting or running)
  // are cancelled: the resources they run on are going away.
  std::vector<TaskId> actors;
  for (const auto& [actor_id, actor] : actors_) {
    if (actor.state != ActorState::kDead &&
        groups_.GroupOf(ResourceSet::FromProto(actor.creation.resources())) == group_id) {
      actors.push_back(actor_id);
    }
  }
  for (const TaskId& actor_id : actors) {
    MarkActorDead(actor_id, "the actor " + actor_id.Hex() + " was ended: " + reason);
  }
  std::vector<TaskId> tasks;
  for (const auto& [task_id, record] : tasks_) {
    if (!record.spec.has_actor() && groups_.GroupOf(record.demand) == group_id) {
      tasks.push_back(task_id);
    }
  }
  for (const TaskId& task_id : tasks) {
    auto task = tasks_.find(task_id);
    if (task == tasks_.end()) continue;
    const std::string message =
        "task " + task->second.spec.function_name() + " was cancelled: " + reason;
    if (groups_.IsWaiting(group_id, task_id)) {  // never queued in the scheduler
      FailTask(task->second, rpc::TASK_CANCELLED, message);
      FinishTask(task_id);
    } else {
      CancelTask(task_id, /*force=*/true, rpc::TASK_CANCELLED, message);
    }
  }
  groups_.Remove(group_id);
  TryDispatch();
}

void NodeManager::OnPlacementGroupTable(const ClientInfo& client,
                                        const rpc::PlacementGroupTableRequest& request) {
  gcs_requests_.PlacementGroupTable(client.id, request);
}

}  // namespace flare
