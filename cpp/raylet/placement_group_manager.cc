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
                                               const Group& group, bool committed) {
  const std::string hex = group_id.Hex();
  ResourceSet offered;
  for (const Held& held : group.here) {
    if (held.committed == committed) offered.Add(Offer(hex, held.index, held.resources));
  }
  return offered;
}

std::vector<int> PlacementGroupManager::Lost(const Group& group) {
  std::vector<int> lost;
  if (!group.reserved || group.gone.empty()) return lost;
  for (size_t i = 0; i < group.nodes.size(); ++i) {
    if (group.gone.contains(group.nodes[i])) lost.push_back(static_cast<int>(i));
  }
  return lost;
}

bool PlacementGroupManager::IsRescheduling(const PlacementGroupId& group_id) const {
  auto it = groups_.find(group_id);
  return it != groups_.end() && !Lost(it->second).empty() &&
         (it->second.created_here || !it->second.creator_gone);
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
  if (!group.reserved) {
    // A holder waits only while its bundles are prepared and the commit is
    // on its way (a task another holder sent on the new map may come first).
    if (!group.created_here && (group.round == 0 || group.creator_gone)) return false;
  } else {
    // Placed again: it waits if the bundles that stay cannot hold it, and
    // someone (the creator) is placing the others.
    if (Lost(group).empty() || (!group.created_here && group.creator_gone)) return false;
    const std::optional<std::vector<NodeId>> nodes = NodesFor(demand);
    if (nodes && !nodes->empty()) return false;
  }
  if (std::find(group.waiting.begin(), group.waiting.end(), task_id) == group.waiting.end()) {
    group.waiting.push_back(task_id);
  }
  return true;
}

void PlacementGroupManager::ReleaseWaiting(Group& group) {
  for (const TaskId& task_id : std::exchange(group.waiting, {})) released_.push_back(task_id);
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
    if (group == groups_.end() || Settled(group->second)) {  // removed, or reserved meanwhile
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
    // All its bundles, or (placed again) those lost, the others staying.
    std::vector<int> indexes = Lost(pending);
    std::vector<NodeId> holding;
    if (indexes.empty()) {
      for (size_t i = 0; i < pending.bundles.size(); ++i) indexes.push_back(static_cast<int>(i));
    } else {
      for (const NodeId& node : pending.nodes) {
        if (!pending.gone.contains(node)) holding.push_back(node);
      }
    }
    std::vector<ResourceSet> bundles;
    for (int index : indexes) bundles.push_back(pending.bundles[index]);
    BundlePlacement placement = PlaceBundles(bundles, pending.strategy, view, holding);
    if (placement.kind == BundlePlacement::Kind::kInfeasible) {
      MarkInfeasible(*it, pending, placement.why);
      ++it;
      continue;
    }
    pending.infeasible = false;
    if (placement.kind == BundlePlacement::Kind::kNoRoomNow) break;
    std::vector<std::pair<int, NodeId>> asked;
    for (size_t i = 0; i < indexes.size(); ++i) asked.emplace_back(indexes[i], placement.nodes[i]);
    const PlacementGroupId group_id = *it;
    StartRound(group_id, pending, std::move(asked), view);
    if (!Settled(pending)) break;  // waiting for the other nodes
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
                                       std::vector<std::pair<int, NodeId>> asked,
                                       ClusterResourceView& view) {
  group.round = ++next_round_;
  group.asked = std::move(asked);
  group.refused = false;
  group.awaiting.clear();
  std::map<NodeId, rpc::PrepareBundles> asks;
  std::vector<std::pair<int, ResourceSet>> here;
  for (const auto& [index, node] : group.asked) {
    if (node == node_id_) {
      here.emplace_back(index, group.bundles[index]);
      continue;
    }
    rpc::PrepareBundles& ask = asks[node];
    ask.add_bundle_indexes(static_cast<uint32_t>(index));
    group.bundles[index].ToProto(ask.add_bundles());
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
    SendTo(group, NodesAsked(group), give_back);
    ReleaseUncommitted(group);  // bundles that stay stay
    group.round = 0;
    group.asked.clear();
    group.wait_for_view = true;
    return;
  }
  group.nodes.resize(group.bundles.size());
  for (const auto& [index, node] : group.asked) group.nodes[index] = node;
  group.asked.clear();
  rpc::Message message;
  rpc::CommitBundles& commit = *message.mutable_commit_bundles();
  commit.set_pg_id(group_id.Binary());
  commit.set_round(group.round);
  for (const NodeId& node : group.nodes) commit.add_bundle_node_ids(node.Binary());
  for (const ResourceSet& bundle : group.bundles) bundle.ToProto(commit.add_bundles());
  // Every holder, those of the bundles that stayed too, hears the new map.
  SendTo(group, group.nodes, message);
  CommitHere(group_id, group);
  group.round = 0;
  const bool placed_again = group.reserved;
  group.reserved = true;
  gcs_.ReportPlacementGroupCreated(group_id, group.nodes, nullptr);
  if (!placed_again) {  // ready once, as in Ray: placing again leaves it so
    rpc::ReturnObject ready;
    ready.mutable_data()->set_object_id(group.ready_id.Binary());
    ready.mutable_data()->set_inline_data(group.ready_value);
    returns_.Store(ready);
  }
  ReleaseWaiting(group);
}

std::vector<NodeId> PlacementGroupManager::NodesAsked(const Group& group) {
  std::vector<NodeId> nodes;
  for (const auto& [index, node] : group.asked) nodes.push_back(node);
  return nodes;
}

void PlacementGroupManager::SendTo(const Group& group, const std::vector<NodeId>& nodes,
                                   const rpc::Message& message) {
  absl::flat_hash_set<NodeId, IdHash> sent;
  for (const NodeId& node : nodes) {
    if (node == node_id_ || group.gone.contains(node) || !sent.insert(node).second) continue;
    peers_.Send(node, message);
  }
}

void PlacementGroupManager::OnViewChanged() {
  for (auto& [group_id, group] : groups_) group.wait_for_view = false;
}

void PlacementGroupManager::OnNodeGone(const NodeId& node) {
  for (auto& [group_id, group] : groups_) {
    if (!group.created_here && node == group.creator_node) {
      // No one places its lost bundles now: what waits for them goes (and
      // fails as not fitting the bundles left).
      group.creator_gone = true;
      ReleaseWaiting(group);
    }
    const bool held = std::find(group.nodes.begin(), group.nodes.end(), node) != group.nodes.end();
    const std::vector<NodeId> asked = NodesAsked(group);
    if (!held && std::find(asked.begin(), asked.end(), node) == asked.end()) continue;
    const bool was_settled = Settled(group);
    group.gone.insert(node);
    if (group.round != 0 && std::find(asked.begin(), asked.end(), node) != asked.end()) {
      // Prepared there or not, the round cannot hold: it is tried again.
      group.refused = true;
      group.awaiting.erase(node);
      if (group.awaiting.empty()) FinishRound(group_id, group);
    }
    if (!group.reserved) {
      group.gone.clear();  // the next round chooses from the nodes left
      continue;
    }
    if (!group.created_here || !held) continue;
    // Its bundles there are placed again, before any group created later.
    if (was_settled) gcs_.ReportPlacementGroupRescheduling(group_id, nullptr);
    if (std::find(pending_.begin(), pending_.end(), group_id) == pending_.end()) {
      pending_.push_front(group_id);
    }
  }
}

// ---- holding bundles ---------------------------------------------------------------------

bool PlacementGroupManager::PrepareHere(Group& group,
                                        const std::vector<std::pair<int, ResourceSet>>& bundles) {
  ResourceSet total;
  for (const auto& [index, bundle] : bundles) total.Add(bundle);
  if (!total.IsSubsetOf(scheduler_.available())) return false;
  scheduler_.Acquire(total);
  for (const auto& [index, bundle] : bundles) group.here.push_back({index, bundle, false});
  return true;
}

void PlacementGroupManager::CommitHere(const PlacementGroupId& group_id, Group& group) {
  const ResourceSet offered = OfferedHere(group_id, group, /*committed=*/false);
  if (offered.ToMap().empty()) return;
  scheduler_.AddCapacity(offered);
  for (Held& held : group.here) held.committed = true;
}

void PlacementGroupManager::ReleaseHere(const PlacementGroupId& group_id, Group& group) {
  const ResourceSet offered = OfferedHere(group_id, group, /*committed=*/true);
  if (!offered.ToMap().empty()) scheduler_.RemoveCapacity(offered);
  ReleaseUncommitted(group);
  ResourceSet total;
  for (const Held& held : group.here) total.Add(held.resources);
  scheduler_.Release(total);
  group.here.clear();
}

void PlacementGroupManager::ReleaseUncommitted(Group& group) {
  ResourceSet total;
  for (const Held& held : group.here) {
    if (!held.committed) total.Add(held.resources);
  }
  scheduler_.Release(total);
  group.here.erase(std::remove_if(group.here.begin(), group.here.end(),
                                  [](const Held& held) { return !held.committed; }),
                   group.here.end());
}

rpc::BundlesPrepared PlacementGroupManager::OnPrepare(ClientId creator,
                                                      const rpc::PrepareBundles& request,
                                                      const NodeId& creator_node) {
  const PlacementGroupId group_id = PlacementGroupId::FromBinary(request.pg_id());
  rpc::BundlesPrepared reply;
  reply.set_pg_id(request.pg_id());
  reply.set_round(request.round());
  auto [it, inserted] = groups_.try_emplace(group_id);
  Group& group = it->second;
  // An older round's, never returned, goes; bundles committed here stay
  // (the group's lost ones are placed again, some here).
  if (!inserted) ReleaseUncommitted(group);
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
    if (!group.reserved) {
      ReleaseWaiting(group);
      groups_.erase(it);
    }
    return reply;
  }
  group.owner = creator;
  group.creator_node = creator_node;
  group.round = request.round();
  by_hex_[group_id.Hex()] = group_id;
  reply.set_ok(true);
  return reply;
}

void PlacementGroupManager::OnCommit(const rpc::CommitBundles& commit) {
  const PlacementGroupId group_id = PlacementGroupId::FromBinary(commit.pg_id());
  auto it = groups_.find(group_id);
  if (it == groups_.end() || it->second.created_here) return;
  Group& group = it->second;
  // This node's round, or (its bundles staying) the map of another one.
  const bool prepared_here = group.round == commit.round();
  if (!prepared_here && !group.reserved) return;
  group.bundles.clear();
  for (const auto& bundle : commit.bundles()) group.bundles.push_back(ResourceSet::FromProto(bundle));
  group.nodes.clear();
  for (const auto& node : commit.bundle_node_ids()) group.nodes.push_back(NodeId::FromBinary(node));
  group.reserved = true;
  if (prepared_here) {
    group.round = 0;
    CommitHere(group_id, group);
  }
  ReleaseWaiting(group);
}

void PlacementGroupManager::ReturnPrepared(const PlacementGroupId& group_id, uint64_t round) {
  auto it = groups_.find(group_id);
  if (it == groups_.end() || it->second.created_here || it->second.round != round) return;
  Group& group = it->second;
  ReleaseUncommitted(group);
  group.round = 0;
  if (group.reserved) return;  // its committed bundles stay
  ReleaseWaiting(group);
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
    std::vector<NodeId> holders = group.nodes;
    for (const NodeId& node : NodesAsked(group)) holders.push_back(node);
    SendTo(group, holders, remove);
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
