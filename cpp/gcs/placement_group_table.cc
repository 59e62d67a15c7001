#include "gcs/placement_group_table.h"

#include <utility>

namespace flare {

absl::Status PlacementGroupTable::Load() {
  absl::Status status = groups_.Load(
      [](const rpc::PlacementGroupInfo& info) { return info.state() == rpc::PG_REMOVED; });
  for (const auto& [id, info] : groups_.records()) {
    if (info.state() != rpc::PG_REMOVED && !info.name().empty()) {
      live_names_.emplace(NameKey(info.namespace_(), info.name()), id);
    }
  }
  return status;
}

absl::Status PlacementGroupTable::Add(rpc::PlacementGroupInfo info) {
  if (info.pg_id().size() != PlacementGroupId::kSize) {
    return absl::InvalidArgumentError("placement group id must be " +
                                      std::to_string(PlacementGroupId::kSize) + " bytes, got " +
                                      std::to_string(info.pg_id().size()));
  }
  const PlacementGroupId id = PlacementGroupId::FromBinary(info.pg_id());
  if (groups_.Contains(id)) return absl::OkStatus();
  NameKey key(info.namespace_(), info.name());
  if (!info.name().empty() && live_names_.contains(key)) {
    return absl::AlreadyExistsError("a placement group named '" + info.name() +
                                    "' already exists in namespace '" + info.namespace_() + "'");
  }
  info.set_state(rpc::PG_PENDING);
  if (absl::Status status = groups_.Put(id, std::move(info)); !status.ok()) return status;
  if (!key.second.empty()) live_names_.emplace(std::move(key), id);
  return absl::OkStatus();
}

const rpc::PlacementGroupInfo* PlacementGroupTable::Live(const PlacementGroupId& id) const {
  const rpc::PlacementGroupInfo* info = groups_.Find(id);
  return info == nullptr || info->state() == rpc::PG_REMOVED ? nullptr : info;
}

absl::Status PlacementGroupTable::MarkCreated(const PlacementGroupId& id,
                                              const std::vector<NodeId>& bundle_nodes) {
  const rpc::PlacementGroupInfo* live = Live(id);
  if (live == nullptr) return absl::OkStatus();
  if (bundle_nodes.size() != static_cast<size_t>(live->bundles_size())) {
    return absl::InvalidArgumentError("placement group " + id.Hex() + " has " +
                                      std::to_string(live->bundles_size()) + " bundles but " +
                                      std::to_string(bundle_nodes.size()) + " nodes were given");
  }
  rpc::PlacementGroupInfo changed = *live;
  changed.set_state(rpc::PG_CREATED);
  changed.set_infeasible(false);
  changed.clear_bundle_node_ids();
  for (const NodeId& node : bundle_nodes) changed.add_bundle_node_ids(node.Binary());
  return groups_.Put(id, std::move(changed));
}

absl::Status PlacementGroupTable::MarkInfeasible(const PlacementGroupId& id) {
  const rpc::PlacementGroupInfo* live = Live(id);
  if (live == nullptr) return absl::OkStatus();
  rpc::PlacementGroupInfo changed = *live;
  changed.set_infeasible(true);
  return groups_.Put(id, std::move(changed));
}

absl::Status PlacementGroupTable::MarkRescheduling(const PlacementGroupId& id) {
  const rpc::PlacementGroupInfo* live = Live(id);
  if (live == nullptr || live->state() != rpc::PG_CREATED) return absl::OkStatus();
  rpc::PlacementGroupInfo changed = *live;
  changed.set_state(rpc::PG_RESCHEDULING);
  return groups_.Put(id, std::move(changed));
}

absl::Status PlacementGroupTable::MarkRemoved(const PlacementGroupId& id) {
  const rpc::PlacementGroupInfo* live = Live(id);
  if (live == nullptr) return absl::OkStatus();
  rpc::PlacementGroupInfo changed = *live;
  changed.set_state(rpc::PG_REMOVED);
  changed.clear_bundle_node_ids();
  auto named = live_names_.find(NameKey(changed.namespace_(), changed.name()));
  if (absl::Status status = groups_.Put(id, std::move(changed)); !status.ok()) return status;
  if (named != live_names_.end() && named->second == id) live_names_.erase(named);
  return groups_.End(id);
}

const rpc::PlacementGroupInfo* PlacementGroupTable::Find(const PlacementGroupId& id) const {
  return groups_.Find(id);
}

const rpc::PlacementGroupInfo* PlacementGroupTable::LookupNamed(const std::string& name_space,
                                                                const std::string& name) const {
  auto it = live_names_.find(NameKey(name_space, name));
  return it == live_names_.end() ? nullptr : Find(it->second);
}

std::vector<const rpc::PlacementGroupInfo*> PlacementGroupTable::All() const {
  std::vector<const rpc::PlacementGroupInfo*> all;
  all.reserve(groups_.size());
  for (const auto& [id, info] : groups_.records()) all.push_back(&info);
  return all;
}

}  // namespace flare
