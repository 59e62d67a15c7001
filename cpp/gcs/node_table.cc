#include "gcs/node_table.h"

namespace flare {

void NodeTable::Upsert(const rpc::NodeInfo& node) {
  const NodeId id = NodeId::FromBinary(node.node_id());
  auto [it, inserted] = nodes_.insert_or_assign(id, node);
  if (inserted) order_.push_back(id);
}

bool NodeTable::MarkDead(const NodeId& node) {
  auto it = nodes_.find(node);
  if (it == nodes_.end() || !it->second.alive()) return false;
  it->second.set_alive(false);
  it->second.clear_available();
  return true;
}

bool NodeTable::UpdateAvailable(const NodeId& node, const rpc::ResourceSet& available) {
  auto it = nodes_.find(node);
  if (it == nodes_.end() || !it->second.alive()) return false;
  *it->second.mutable_available() = available;
  return true;
}

std::vector<rpc::NodeInfo> NodeTable::All() const {
  std::vector<rpc::NodeInfo> out;
  out.reserve(nodes_.size());
  for (const NodeId& id : order_) out.push_back(nodes_.at(id));
  return out;
}

const rpc::NodeInfo* NodeTable::Find(const NodeId& node) const {
  auto it = nodes_.find(node);
  return it == nodes_.end() ? nullptr : &it->second;
}

}  // namespace flare
