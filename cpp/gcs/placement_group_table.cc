#include "gcs/placement_group_table.h"

#include <utility>

namespace flare {

void PlacementGroupTable::Add(rpc::PlacementGroupInfo info) {
  const TaskId id = TaskId::FromBinary(info.pg_id());
  info.set_state(rpc::PG_PENDING);
  groups_.try_emplace(id, std::move(info));
}

rpc::PlacementGroupInfo* PlacementGroupTable::Live(const TaskId& id) {
  auto it = groups_.find(id);
  if (it == groups_.end() || it->second.state() == rpc::PG_REMOVED) return nullptr;
  return &it->second;
}

void PlacementGroupTable::MarkCreated(const TaskId& id, const NodeId& node) {
  rpc::PlacementGroupInfo* info = Live(id);
  if (info == nullptr) return;
  info->set_state(rpc::PG_CREATED);
  info->set_infeasible(false);
  info->clear_bundle_node_ids();
  for (int i = 0; i < info->bundles_size(); ++i) info->add_bundle_node_ids(node.Binary());
}

void PlacementGroupTable::MarkInfeasible(const TaskId& id) {
  if (rpc::PlacementGroupInfo* info = Live(id)) info->set_infeasible(true);
}

void PlacementGroupTable::MarkRemoved(const TaskId& id) {
  auto it = groups_.find(id);
  if (it == groups_.end() || it->second.state() == rpc::PG_REMOVED) return;
  it->second.set_state(rpc::PG_REMOVED);
  it->second.clear_bundle_node_ids();
  removed_.push_back(id);
  while (removed_.size() > max_removed_) {
    groups_.erase(removed_.front());
    removed_.pop_front();
  }
}

const rpc::PlacementGroupInfo* PlacementGroupTable::Find(const TaskId& id) const {
  auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : &it->second;
}

std::vector<const rpc::PlacementGroupInfo*> PlacementGroupTable::All() const {
  std::vector<const rpc::PlacementGroupInfo*> all;
  all.reserve(groups_.size());
  for (const auto& [id, info] : groups_) all.push_back(&info);
  return all;
}

}  // namespace flare
