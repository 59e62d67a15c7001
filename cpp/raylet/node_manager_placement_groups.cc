// Placement groups on one node: the NodeManager methods that reserve and
// free them, keeping the GCS's records of them current. Reserving a group takes its
// bundles out of the node's resources and offers them again under the
// group's names (bundle i's CPU as "CPU_group_i_<id>", the group's as
// "CPU_group_<id>"), so the scheduler needs nothing new: a task placed in a
// group simply asks for those names. Groups are reserved in creation order
// once they fit; a task submitted to a group that is not reserved yet waits
// for it.
#include <algorithm>

#include "raylet/node_manager.h"

namespace flare {

namespace {

constexpr char kGroupTag[] = "_group_";

}  // namespace

ResourceSet NodeManager::GroupResources(const TaskId& group_id, const PlacementGroup& group) {
  const std::string hex = group_id.Hex();
  std::map<std::string, double> offered;
  for (size_t i = 0; i < group.bundles.size(); ++i) {
    for (const auto& [name, amount] : group.bundles[i].ToMap()) {
      offered[name + kGroupTag + std::to_string(i) + "_" + hex] += amount;
      offered[name + kGroupTag + hex] += amount;
    }
  }
  return ResourceSet::FromMap(offered);
}

NodeManager::PlacementGroup* NodeManager::GroupOf(const ResourceSet& demand, TaskId* group_id) {
  if (placement_groups_.empty()) return nullptr;
  for (const auto& [name, amount] : demand.ToMap()) {
    if (name.find(kGroupTag) == std::string::npos) continue;
    auto hex = group_by_hex_.find(name.substr(name.rfind('_') + 1));
    if (hex == group_by_hex_.end()) continue;
    auto group = placement_groups_.find(hex->second);
    if (group == placement_groups_.end()) continue;
    if (group_id != nullptr) *group_id = hex->second;
    return &group->second;
  }
  return nullptr;
}

bool NodeManager::ParkForPlacementGroup(const TaskId& task_id, const ResourceSet& demand) {
  PlacementGroup* group = GroupOf(demand);
  if (group == nullptr || group->reserved) return false;
  group->waiting.push_back(task_id);
  return true;
}

void NodeManager::OnCreatePlacementGroup(const ClientInfo& client,
                                             const rpc::CreatePlacementGroup& request) {
  const TaskId group_id = TaskId::FromBinary(request.pg_id());
  auto [it, inserted] = placement_groups_.try_emplace(group_id);
  if (!inserted) return;
  PlacementGroup& group = it->second;
  group_by_hex_[group_id.Hex()] = group_id;
  group.owner = client.id;
  group.detached = request.detached();
  group.kv_keys.assign(request.kv_keys().begin(), request.kv_keys().end());
  group.ready_id = ObjectId::FromBinary(request.ready_id());
  group.ready_value = request.ready_value();
  for (const auto& bundle : request.bundles()) {
    group.bundles.push_back(ResourceSet::FromProto(bundle));
    group.total.Add(group.bundles.back());
  }
  rpc::PlacementGroupInfo info;
  info.set_pg_id(request.pg_id());
  info.set_name(request.name());
  info.set_strategy(request.strategy());
  *info.mutable_bundles() = request.bundles();
  gcs_.AddPlacementGroup(std::move(info), nullptr);
  objects_.AddPending(client.id, group.ready_id);
  objects_.Subscribe(client.id, group.ready_id);
  // Any handle's ready() refers to it while the group exists.
  objects_.AddRef(kTaskArgHolder, group.ready_id);
  // One node: bundles that must each have a node of their own cannot all
  // be placed, and bundles the node cannot hold never will be.
  std::string why;
  if (request.strategy() == "STRICT_SPREAD" && group.bundles.size() > 1) {
    why = "STRICT_SPREAD needs a node for each of its " + std::to_string(group.bundles.size()) +
          " bundles and the cluster has one node";
  } else if (!group.total.IsSubsetOf(scheduler_.total())) {
    ResourceSet has;
    for (const auto& [name, amount] : group.total.ToMap()) has.Add(scheduler_.total().Only(name));
    why = "its bundles need " + group.total.DebugString() + " together but the node has " +
          has.DebugString();
  }
  if (!why.empty()) {
    gcs_.ReportPlacementGroupInfeasible(group_id, nullptr);
    StoreError(group.ready_id, rpc::INFEASIBLE,
               "placement group " + group_id.Hex() + " cannot be placed: " + why);
    return;
  }
  pending_groups_.push_back(group_id);
  TryDispatch();
}

void NodeManager::ReservePlacementGroups() {
  while (!pending_groups_.empty()) {
    const TaskId group_id = pending_groups_.front();
    auto it = placement_groups_.find(group_id);
    if (it == placement_groups_.end()) {  // removed while waiting
      pending_groups_.pop_front();
      continue;
    }
    PlacementGroup& group = it->second;
    if (!group.total.IsSubsetOf(scheduler_.available())) return;  // later ones wait their turn
    pending_groups_.pop_front();
    scheduler_.Acquire(group.total);
    scheduler_.AddCapacity(GroupResources(group_id, group));
    group.reserved = true;
    gcs_.ReportPlacementGroupCreated(group_id, node_id_, nullptr);
    rpc::TaskDone ready;
    auto* data = ready.add_returns()->mutable_data();
    data->set_object_id(group.ready_id.Binary());
    data->set_inline_data(group.ready_value);
    StoreReturns(ready);
    for (const TaskId& task_id : std::exchange(group.waiting, {})) {
      auto task = tasks_.find(task_id);
      if (task == tasks_.end()) continue;
      if (!task->second.demand.IsSubsetOf(scheduler_.total())) {
        FailTask(task->second, rpc::INFEASIBLE,
                 "task " + task->second.spec.function_name() + " requires " +
                     task->second.demand.DebugString() + " but its placement group offers " +
                     GroupResources(group_id, group).DebugString());
        FinishTask(task_id);
        continue;
      }
      Enqueue(task_id, task->second);
    }
  }
}

void NodeManager::RemovePlacementGroup(const TaskId& group_id) {
  auto it = placement_groups_.find(group_id);
  if (it == placement_groups_.end()) return;
  const std::string reason = "its placement group " + group_id.Hex() + " was removed";
  // Actors placed in it die, and tasks in it (queued, waiting or running)
  // are cancelled: the resources they run on are going away.
  std::vector<TaskId> actors;
  for (const auto& [actor_id, actor] : actors_) {
    TaskId in;
    if (actor.state != ActorState::kDead &&
        GroupOf(ResourceSet::FromProto(actor.creation.resources()), &in) != nullptr && in == group_id) {
      actors.push_back(actor_id);
    }
  }
  for (const TaskId& actor_id : actors) {
    MarkActorDead(actor_id, "the actor " + actor_id.Hex() + " was ended: " + reason);
  }
  std::vector<TaskId> tasks;
  for (const auto& [task_id, record] : tasks_) {
    TaskId in;
    if (!record.spec.has_actor() && GroupOf(record.demand, &in) != nullptr && in == group_id) {
      tasks.push_back(task_id);
    }
  }
  for (const TaskId& task_id : tasks) {
    auto task = tasks_.find(task_id);
    if (task == tasks_.end()) continue;
    const bool waiting = std::find(it->second.waiting.begin(), it->second.waiting.end(), task_id) !=
                         it->second.waiting.end();
    if (waiting) {  // never queued in the scheduler
      FailTask(task->second, rpc::TASK_CANCELLED,
               "task " + task->second.spec.function_name() + " was cancelled: " + reason);
      FinishTask(task_id);
    } else {
      CancelTask(task_id, /*force=*/true, rpc::TASK_CANCELLED,
                 "task " + task->second.spec.function_name() + " was cancelled: " + reason);
    }
  }
  PlacementGroup& group = it->second;
  if (group.reserved) {
    scheduler_.RemoveCapacity(GroupResources(group_id, group));
    scheduler_.Release(group.total);
  } else if (objects_.Contains(group.ready_id) && !objects_.IsReady(group.ready_id)) {
    StoreError(group.ready_id, rpc::TASK_CANCELLED,
               "placement group " + group_id.Hex() + " was removed before it was placed");
  }
  objects_.RemoveRef(kTaskArgHolder, group.ready_id);
  for (const std::string& key : group.kv_keys) gcs_.KvDelete(key, nullptr);
  group_by_hex_.erase(group_id.Hex());
  placement_groups_.erase(it);
  gcs_.ReportPlacementGroupRemoved(group_id, nullptr);
  TryDispatch();
}

void NodeManager::OnPlacementGroupTable(const ClientInfo& client,
                                        const rpc::PlacementGroupTableRequest& request) {
  gcs_requests_.PlacementGroupTable(client.id, request);
}

}  // namespace flare
