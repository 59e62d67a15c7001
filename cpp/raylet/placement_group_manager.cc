#include "raylet/placement_group_manager.h"

#include <algorithm>
#include <map>
#include <utility>

#include "common/placement_group_resources.h"

namespace flare {

ResourceSet PlacementGroupManager::Offered(const PlacementGroupId& group_id, const Group& group) {
  const std::string hex = group_id.Hex();
  std::map<std::string, double> offered;
  for (size_t i = 0; i < group.bundles.size(); ++i) {
    for (const auto& [name, amount] : group.bundles[i].ToMap()) {
      offered[GroupResourceName(name, hex, static_cast<int64_t>(i))] += amount;
      offered[GroupResourceName(name, hex)] += amount;
    }
  }
  return ResourceSet::FromMap(offered);
}

ResourceSet PlacementGroupManager::Offered(const PlacementGroupId& group_id) const {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? ResourceSet() : Offered(group_id, it->second);
}

std::optional<PlacementGroupId> PlacementGroupManager::GroupOf(const ResourceSet& demand) const {
  if (groups_.empty()) return std::nullopt;
  for (const auto& [name, amount] : demand.ToMap()) {
    const std::optional<std::string_view> group_hex = GroupOfResource(name);
    if (!group_hex) continue;
    auto hex = by_hex_.find(std::string(*group_hex));
    if (hex != by_hex_.end() && groups_.contains(hex->second)) return hex->second;
  }
  return std::nullopt;
}

bool PlacementGroupManager::Park(const TaskId& task_id, const ResourceSet& demand) {
  const std::optional<PlacementGroupId> group_id = GroupOf(demand);
  if (!group_id) return false;
  Group& group = groups_.at(*group_id);
  if (group.reserved) return false;
  group.waiting.push_back(task_id);
  return true;
}

bool PlacementGroupManager::IsWaiting(const PlacementGroupId& group_id,
                                      const TaskId& task_id) const {
  auto it = groups_.find(group_id);
  return it != groups_.end() &&
         std::find(it->second.waiting.begin(), it->second.waiting.end(), task_id) !=
             it->second.waiting.end();
}

std::string PlacementGroupManager::Infeasibility(const rpc::CreatePlacementGroup& request,
                                                 const Group& group) const {
  // One node: bundles that must each have a node of their own cannot all be
  // placed, and bundles the node cannot hold never will be.
  if (request.strategy() == "STRICT_SPREAD" && group.bundles.size() > 1) {
    return "STRICT_SPREAD needs a node for each of its " + std::to_string(group.bundles.size()) +
           " bundles and the cluster has one node";
  }
  if (!group.total.IsSubsetOf(scheduler_.total())) {
    ResourceSet has;
    for (const auto& [name, amount] : group.total.ToMap()) has.Add(scheduler_.total().Only(name));
    return "its bundles need " + group.total.DebugString() + " together but the node has " +
           has.DebugString();
  }
  return "";
}

void PlacementGroupManager::Create(ClientId owner, const rpc::CreatePlacementGroup& request) {
  const PlacementGroupId group_id = PlacementGroupId::FromBinary(request.pg_id());
  auto [it, inserted] = groups_.try_emplace(group_id);
  if (!inserted) return;
  Group& group = it->second;
  by_hex_[group_id.Hex()] = group_id;
  group.owner = owner;
  group.detached = request.detached();
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
  objects_.AddPending(owner, group.ready_id);
  objects_.Subscribe(owner, group.ready_id);
  // Any handle's ready() refers to it while the group exists.
  objects_.AddRef(kTaskArgHolder, group.ready_id);
  const std::string why = Infeasibility(request, group);
  if (!why.empty()) {
    gcs_.ReportPlacementGroupInfeasible(group_id, nullptr);
    returns_.StoreError(group.ready_id, rpc::INFEASIBLE,
                        "placement group " + group_id.Hex() + " cannot be placed: " + why);
    return;
  }
  pending_.push_back(group_id);
}

std::vector<TaskId> PlacementGroupManager::ReservePending() {
  std::vector<TaskId> released;
  while (!pending_.empty()) {
    const PlacementGroupId group_id = pending_.front();
    auto it = groups_.find(group_id);
    if (it == groups_.end()) {  // removed while waiting
      pending_.pop_front();
      continue;
    }
    Group& group = it->second;
    if (!group.total.IsSubsetOf(scheduler_.available())) break;  // later ones wait their turn
    pending_.pop_front();
    scheduler_.Acquire(group.total);
    scheduler_.AddCapacity(Offered(group_id, group));
    group.reserved = true;
    gcs_.ReportPlacementGroupCreated(group_id, node_id_, nullptr);
    rpc::ReturnObject ready;
    ready.mutable_data()->set_object_id(group.ready_id.Binary());
    ready.mutable_data()->set_inline_data(group.ready_value);
    returns_.Store(ready);
    for (const TaskId& task_id : std::exchange(group.waiting, {})) released.push_back(task_id);
  }
  return released;
}

void PlacementGroupManager::Remove(const PlacementGroupId& group_id) {
  auto it = groups_.find(group_id);
  if (it == groups_.end()) return;
  Group& group = it->second;
  if (group.reserved) {
    scheduler_.RemoveCapacity(Offered(group_id, group));
    scheduler_.Release(group.total);
  } else if (objects_.Contains(group.ready_id) && !objects_.IsReady(group.ready_id)) {
    returns_.StoreError(group.ready_id, rpc::TASK_CANCELLED,
                        "placement group " + group_id.Hex() + " was removed before it was placed");
  }
  objects_.RemoveRef(kTaskArgHolder, group.ready_id);
  by_hex_.erase(group_id.Hex());
  groups_.erase(it);
  gcs_.ReportPlacementGroupRemoved(group_id, nullptr);
}

std::vector<PlacementGroupId> PlacementGroupManager::OwnedBy(ClientId owner) const {
  std::vector<PlacementGroupId> owned;
  for (const auto& [group_id, group] : groups_) {
    if (group.owner == owner && !group.detached) owned.push_back(group_id);
  }
  return owned;
}

}  // namespace flare
