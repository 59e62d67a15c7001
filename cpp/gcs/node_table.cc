#include "gcs/node_table.h"

namespace flare {

void NodeTable::Upsert(const rpc::NodeInfo& node) {
  nodes_[NodeId::FromBinary(node.node_id())] = node;
}

void NodeTable::MarkDead(const NodeId& node) {
  auto it = nodes_.find(node);
  if (it != nodes_.end()) it->second.set_alive(false);
}

std::vector<rpc::NodeInfo> NodeTable::All() const {
  std::vector<rpc::NodeInfo> out;
  out.reserve(nodes_.size());
  for (const auto& [id, node] : nodes_) out.push_back(node);
  return out;
}

const rpc::NodeInfo* NodeTable::Find(const NodeId& node) const {
  auto it = nodes_.find(node);
  return it == nodes_.end() ? nullptr : &it->second;
}

}  // namespace flare
