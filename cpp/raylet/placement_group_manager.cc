#include "raylet/placement_group_manager.h"

#include <algorithm>
#include <map>
#include <utility>

#include "common/placement_group_resources.h"
#include "raylet/bundle_placement.h"

namespace flare {

namespace {

ResourceSet Offer(const std::string& hex, int index, const ResourceSet& bundle) {
  std::map<std::string, double> offered;
  for (const auto& [name, amount] : bundle.ToMap()) {
    offered[GroupResourceName(name, hex, index)] += amount;
    offered[GroupResourceName(name, hex)] += amount;
  }
  return ResourceSet::FromMap(offered);
}

}  // namespace

// ---- what the group offers -------------------------------------------------------

ResourceSet PlacementGroupManager::OfferedHere(const PlacementGroupId& group_id,
                                               const Group& group) {
  const std::string hex = group_id.Hex();
  ResourceSet offered;
  for (const auto& [index, bundle] : group.here) offered.Add(Offer(hex, index, bundle));
  return offered;
}

ResourceSet PlacementGroupManager::Offered(const PlacementGroupId& group_id) const {
  auto it = groups_.find(group_id);
  if (it == groups_.end()) return ResourceSet();
  const std::string hex = group_id.Hex();
  ResourceSet offered;
  for (size_t i = 0; i < it->second.bundles.size(); ++i) {
    offered.Add(Offer(hex, static_cast<int>(i), it->second.bundles[i]));
  }
  return offered;
}

std::vector<NodeId> PlacementGroupManager::BundleNodes(const PlacementGroupId& group_id) const {
  auto it = groups_.find(group_id);
  if (it == groups_.end() || !it->second.reserved) return {};
  return it->second.nodes;
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

std::optional<std::vector<NodeId>> PlacementGroupManager::NodesFor(
    const ResourceSet& demand) const {
  const std::optional<PlacementGroupId> group_id = GroupOf(demand);
  if (!group_id) return std::nullopt;
  const Group& group = groups_.at(*group_id);
  if (!group.reserved || group.nodes.size() != group.bundles.size()) return std::nullopt;
  // Each node's part of the group, as that node offers it.
  const std::string hex = group_id->Hex();
  std::vector<std::pair<NodeId, ResourceSet>> parts;
  for (size_t i = 0; i < group.nodes.size(); ++i) {
    auto part = std::find_if(parts.begin(), parts.end(),
                             [&](const auto& p) { return p.first == group.nodes[i]; });
    if (part == parts.end()) part = parts.insert(parts.end(), {group.nodes[i], ResourceSet()});
    part->second.Add(Offer(hex, static_cast<int>(i), group.bundles[i]));
  }
  std::vector<NodeId> nodes;
  for (const auto& [node, offered] : parts) {
    if (group.gone.contains(node) || !demand.IsSubsetOf(offered)) continue;
    if (node == node_id_) {
      nodes.insert(nodes.begin(), node);
    } else {
      nodes.push_back(node);
    }
  }
  return nodes;
}

// ---- tasks waiting for their group ---------------------------------------------------

bool PlacementGroupManager::Park(const TaskId& task_id, const ResourceSet& demand) {
  const std::optional<PlacementGroupId> group_id = GroupOf(demand);
  if (!group_id) return false;
  Group& group = groups_.at(*group_id);
  if (group.reserved || !group.created_here) return false;
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

// ---- the creator ---------------------------------------------------------------------

void PlacementGroupManager::Create(ClientId owner, const rpc::CreatePlacementGroup& request) {
  const PlacementGroupId group_id = PlacementGroupId::FromBinary(request.pg_id());
  auto [it, inserted] = groups_.try_emplace(group_id);
  if (!inserted) return;
  Group& group = it->second;
  by_hex_[group_id.Hex()] = group_id;
  group.created_here = true;
  group.owner = owner;
  group.strategy = request.strategy();
  group.detached = request.detached();
  group.ready_id = ObjectId::FromBinary(request.ready_id());
  group.ready_value = request.ready_value();
  for (const auto& bundle : request.bundles()) group.bundles.push_back(ResourceSet::FromProto(bundle));
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
  pending_.push_back(group_id);
}

std::vector<TaskId> PlacementGroupManager::ReservePending(ClusterResourceView& view) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    auto group = groups_.find(*it);
    if (group == groups_.end() || group->second.reserved) {  // removed, or reserved meanwhile
      it = pending_.erase(it);
      continue;
    }
    Group& pending = group->second;
    if (pending.infeasible && pending.wait_for_view) {
      // It holds back nothing while it waits for nodes to join.
      ++it;
      continue;
    }
    if (pending.round != 0 || pending.wait_for_view) break;  // later ones wait their turn
    BundlePlacement placement = PlaceBundles(pending.bundles, pending.strategy, view);
    if (placement.kind == BundlePlacement::Kind::kInfeasible) {
      MarkInfeasible(*it, pending, placement.why);
      ++it;
      continue;
    }
    pending.infeasible = false;
    if (placement.kind == BundlePlacement::Kind::kNoRoomNow) break;
    const PlacementGroupId group_id = *it;
    StartRound(group_id, pending, std::move(placement.nodes), view);
    if (!pending.reserved) break;  // waiting for the other nodes
    it = pending_.erase(it);
  }
  return std::exchange(released_, {});
}

void PlacementGroupManager::MarkInfeasible(const PlacementGroupId& group_id, Group& group,
                                           const std::string& why) {
  group.wait_for_view = true;
  if (group.infeasible) return;
  group.infeasible = true;
  gcs_.ReportPlacementGroupInfeasible(group_id, nullptr);
  const ClientInfo* owner = clients_.Find(group.owner);
  LogToJob(clients_, owner != nullptr ? owner->job_id.Binary() : std::string(),
           "warning: placement group " + group_id.Hex() + " cannot be placed: " + why +
               "; it stays pending until nodes that can hold it join");
}

void PlacementGroupManager::StartRound(const PlacementGroupId& group_id, Group& group,
                                       std::vector<NodeId> nodes, ClusterResourceView& view) {
  group.round = ++next_round_;
  group.nodes = std::move(nodes);
  group.refused = false;
  group.awaiting.clear();
  std::map<NodeId, rpc::PrepareBundles> asks;
  std::vector<std::pair<int, ResourceSet>> here;
  for (size_t i = 0; i < group.nodes.size(); ++i) {
    const int index = static_cast<int>(i);
    if (group.nodes[i] == node_id_) {
      here.emplace_back(index, group.bundles[i]);
      continue;
    }
    rpc::PrepareBundles& ask = asks[group.nodes[i]];
    ask.add_bundle_indexes(static_cast<uint32_t>(i));
    group.bundles[i].ToProto(ask.add_bundles());
  }
  if (!here.empty() && !PrepareHere(group, here)) group.refused = true;
  for (auto& [node, ask] : asks) {
    ask.set_pg_id(group_id.Binary());
    ask.set_round(group.round);
    ResourceSet asked;
    for (const auto& bundle : ask.bundles()) asked.Add(ResourceSet::FromProto(bundle));
    rpc::Message message;
    *message.mutable_prepare_bundles() = std::move(ask);
    if (group.refused || !peers_.Send(node, message)) {
      group.refused = true;
      continue;
    }
    group.awaiting.insert(node);
    // Until that node's next report, its room is taken.
    view.Take(node, asked);
  }
  if (group.awaiting.empty()) FinishRound(group_id, group);
}

void PlacementGroupManager::OnPrepareReply(const NodeId& node,
                                           const rpc::BundlesPrepared& reply) {
  auto it = groups_.find(PlacementGroupId::FromBinary(reply.pg_id()));
  if (it == groups_.end()) return;
  Group& group = it->second;
  if (group.round != reply.round() || !group.awaiting.erase(node)) return;
  if (!reply.ok()) group.refused = true;
  if (group.awaiting.empty()) FinishRound(it->first, group);
}

void PlacementGroupManager::FinishRound(const PlacementGroupId& group_id, Group& group) {
  if (group.refused) {
    rpc::Message give_back;
    give_back.mutable_return_bundles()->set_pg_id(group_id.Binary());
    give_back.mutable_return_bundles()->set_round(group.round);
    SendToHolders(group, give_back);
    ReleaseHere(group_id, group);
    group.round = 0;
    group.nodes.clear();
    group.wait_for_view = true;
    return;
  }
  rpc::Message message;
  rpc::CommitBundles& commit = *message.mutable_commit_bundles();
  commit.set_pg_id(group_id.Binary());
  commit.set_round(group.round);
  for (const NodeId& node : group.nodes) commit.add_bundle_node_ids(node.Binary());
  for (const ResourceSet& bundle : group.bundles) bundle.ToProto(commit.add_bundles());
  SendToHolders(group, message);
  CommitHere(group_id, group);
  group.round = 0;
  group.reserved = true;
  gcs_.ReportPlacementGroupCreated(group_id, group.nodes, nullptr);
  rpc::ReturnObject ready;
  ready.mutable_data()->set_object_id(group.ready_id.Binary());
  ready.mutable_data()->set_inline_data(group.ready_value);
  returns_.Store(ready);
  for (const TaskId& task_id : std::exchange(group.waiting, {})) released_.push_back(task_id);
}

void PlacementGroupManager::SendToHolders(const Group& group, const rpc::Message& message) {
  absl::flat_hash_set<NodeId, IdHash> sent;
  for (const NodeId& node : group.nodes) {
    if (node == node_id_ || group.gone.contains(node) || !sent.insert(node).second) continue;
    peers_.Send(node, message);
  }
}

void PlacementGroupManager::OnViewChanged() {
  for (auto& [group_id, group] : groups_) group.wait_for_view = false;
}

void PlacementGroupManager::OnNodeGone(const NodeId& node) {
  for (auto& [group_id, group] : groups_) {
    if (std::find(group.nodes.begin(), group.nodes.end(), node) == group.nodes.end()) continue;
    group.gone.insert(node);
    if (group.round != 0 && group.awaiting.erase(node)) {
      group.refused = true;
      if (group.awaiting.empty()) FinishRound(group_id, group);
    }
    if (!group.reserved) group.gone.clear();  // the next round chooses from the nodes left
  }
}

// ---- holding bundles ---------------------------------------------------------------------

bool PlacementGroupManager::PrepareHere(Group& group,
                                        const std::vector<std::pair<int, ResourceSet>>& bundles) {
  ResourceSet total;
  for (const auto& [index, bundle] : bundles) total.Add(bundle);
  if (!total.IsSubsetOf(scheduler_.available())) return false;
  scheduler_.Acquire(total);
  group.here = bundles;
  return true;
}

void PlacementGroupManager::CommitHere(const PlacementGroupId& group_id, Group& group) {
  if (group.here.empty() || group.committed) return;
  scheduler_.AddCapacity(OfferedHere(group_id, group));
  group.committed = true;
}

void PlacementGroupManager::ReleaseHere(const PlacementGroupId& group_id, Group& group) {
  if (group.committed) scheduler_.RemoveCapacity(OfferedHere(group_id, group));
  ResourceSet total;
  for (const auto& [index, bundle] : group.here) total.Add(bundle);
  scheduler_.Release(total);
  group.here.clear();
  group.committed = false;
}

rpc::BundlesPrepared PlacementGroupManager::OnPrepare(ClientId creator,
                                                          const rpc::PrepareBundles& request) {
  const PlacementGroupId group_id = PlacementGroupId::FromBinary(request.pg_id());
  rpc::BundlesPrepared reply;
  reply.set_pg_id(request.pg_id());
  reply.set_round(request.round());
  auto [it, inserted] = groups_.try_emplace(group_id);
  Group& group = it->second;
  if (!inserted) ReleaseHere(group_id, group);  // an older round's, never returned
  std::vector<std::pair<int, ResourceSet>> bundles;
  for (int i = 0; i < request.bundle_indexes_size() && i < request.bundles_size(); ++i) {
    bundles.emplace_back(static_cast<int>(request.bundle_indexes(i)),
                         ResourceSet::FromProto(request.bundles(i)));
  }
  if (!PrepareHere(group, bundles)) {
    ResourceSet asked;
    for (const auto& [index, bundle] : bundles) asked.Add(bundle);
    reply.set_refusal("node " + node_id_.Hex() + " has " + scheduler_.available().DebugString() +
                      " free, not " + asked.DebugString());
    groups_.erase(it);
    return reply;
  }
  group.owner = creator;
  group.round = request.round();
  by_hex_[group_id.Hex()] = group_id;
  reply.set_ok(true);
  return reply;
}

void PlacementGroupManager::OnCommit(const rpc::CommitBundles& commit) {
  const PlacementGroupId group_id = PlacementGroupId::FromBinary(commit.pg_id());
  auto it = groups_.find(group_id);
  if (it == groups_.end() || it->second.created_here || it->second.round != commit.round()) return;
  Group& group = it->second;
  group.bundles.clear();
  for (const auto& bundle : commit.bundles()) group.bundles.push_back(ResourceSet::FromProto(bundle));
  group.nodes.clear();
  for (const auto& node : commit.bundle_node_ids()) group.nodes.push_back(NodeId::FromBinary(node));
  group.round = 0;
  group.reserved = true;
  CommitHere(group_id, group);
}

void PlacementGroupManager::ReturnPrepared(const PlacementGroupId& group_id, uint64_t round) {
  auto it = groups_.find(group_id);
  if (it == groups_.end() || it->second.created_here || it->second.round != round ||
      it->second.committed) {
    return;
  }
  ReleaseHere(group_id, it->second);
  by_hex_.erase(group_id.Hex());
  groups_.erase(it);
}

// ---- removal ---------------------------------------------------------------------------------

void PlacementGroupManager::Remove(const PlacementGroupId& group_id) {
  auto it = groups_.find(group_id);
  if (it == groups_.end()) return;
  Group& group = it->second;
  ReleaseHere(group_id, group);
  if (group.created_here) {
    // The other nodes give their bundles back and end what runs in them
    // (a round under way: what they prepared).
    rpc::Message remove;
    remove.mutable_return_bundles()->set_pg_id(group_id.Binary());
    remove.mutable_return_bundles()->set_round(group.reserved ? 0 : group.round);
    SendToHolders(group, remove);
    if (!group.reserved && objects_.Contains(group.ready_id) &&
        !objects_.IsReady(group.ready_id)) {
      returns_.StoreError(group.ready_id, rpc::TASK_CANCELLED,
                          "placement group " + group_id.Hex() + " was removed before it was placed");
    }
    objects_.RemoveRef(kTaskArgHolder, group.ready_id);
    gcs_.ReportPlacementGroupRemoved(group_id, nullptr);
  }
  by_hex_.erase(group_id.Hex());
  groups_.erase(it);
}

void PlacementGroupManager::RemoveElsewhere(const PlacementGroupId& group_id,
                                            const std::vector<NodeId>& nodes) {
  rpc::Message remove;
  remove.mutable_remove_placement_group()->set_pg_id(group_id.Binary());
  for (const NodeId& node : nodes) {
    if (node != node_id_) peers_.Send(node, remove);
  }
  gcs_.ReportPlacementGroupRemoved(group_id, nullptr);
}

std::vector<PlacementGroupId> PlacementGroupManager::OwnedBy(ClientId owner) const {
  std::vector<PlacementGroupId> owned;
  for (const auto& [group_id, group] : groups_) {
    if (group.owner == owner && !(group.created_here && group.detached)) owned.push_back(group_id);
  }
  return owned;
}

}  // namespace flare
