#include "gcs/node_table.h"

#include <string>

namespace flare {

absl::Status NodeTable::Load() {
  if (absl::Status status = nodes_.Load(nullptr); !status.ok()) return status;
  std::vector<rpc::NodeInfo> loaded = All();
  for (rpc::NodeInfo& node : loaded) {
    node.set_alive(false);
    const NodeId id = NodeId::FromBinary(node.node_id());
    if (absl::Status status = nodes_.Put(id, std::move(node)); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status NodeTable::Upsert(const rpc::NodeInfo& node) {
  if (node.node_id().size() != NodeId::kSize) {
    return absl::InvalidArgumentError("node id must be " + std::to_string(NodeId::kSize) +
                                      " bytes, got " + std::to_string(node.node_id().size()));
  }
  return nodes_.Put(NodeId::FromBinary(node.node_id()), node);
}

absl::StatusOr<bool> NodeTable::MarkDead(const NodeId& node) {
  const rpc::NodeInfo* known = nodes_.Find(node);
  if (known == nullptr || !known->alive()) return false;
  rpc::NodeInfo dead = *known;
  dead.set_alive(false);
  if (absl::Status status = nodes_.Put(node, std::move(dead)); !status.ok()) return status;
  return true;
}

std::vector<rpc::NodeInfo> NodeTable::All() const {
  std::vector<rpc::NodeInfo> out;
  out.reserve(nodes_.size());
  for (const auto& [id, node] : nodes_.records()) out.push_back(node);
  return out;
}

const rpc::NodeInfo* NodeTable::Find(const NodeId& node) const { return nodes_.Find(node); }

}  // namespace flare
