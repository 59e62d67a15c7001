#include "gcs/node_table.h"

#include <string>
#include <utility>

namespace flare {

absl::Status NodeTable::Load() {
  if (absl::Status status = nodes_.Load(nullptr); !status.ok()) return status;
  for (const auto& [id, node] : nodes_.records()) order_.push_back(id);
  for (const NodeId& id : order_) {
    rpc::NodeInfo node = *nodes_.Find(id);
    // The head is the node that restarted; the others may still run.
    if (node.alive() && !node.is_head()) alive_before_load_.push_back(id);
    node.set_alive(false);
    node.clear_available();
    if (absl::Status status = nodes_.Put(id, std::move(node)); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status NodeTable::Upsert(const rpc::NodeInfo& node) {
  if (node.node_id().size() != NodeId::kSize) {
    return absl::InvalidArgumentError("node id must be " + std::to_string(NodeId::kSize) +
                                      " bytes, got " + std::to_string(node.node_id().size()));
  }
  const NodeId id = NodeId::FromBinary(node.node_id());
  const bool known = nodes_.Contains(id);
  if (absl::Status status = nodes_.Put(id, node); !status.ok()) return status;
  if (!known) order_.push_back(id);
  return absl::OkStatus();
}

absl::StatusOr<bool> NodeTable::MarkDead(const NodeId& node) {
  const rpc::NodeInfo* known = nodes_.Find(node);
  if (known == nullptr || !known->alive()) return false;
  rpc::NodeInfo dead = *known;
  dead.set_alive(false);
  dead.clear_available();
  if (absl::Status status = nodes_.Put(node, std::move(dead)); !status.ok()) return status;
  return true;
}

bool NodeTable::UpdateAvailable(const NodeId& node, const rpc::ResourceSet& available) {
  rpc::NodeInfo* known = nodes_.FindSoft(node);
  if (known == nullptr || !known->alive()) return false;
  *known->mutable_available() = available;
  return true;
}

std::vector<rpc::NodeInfo> NodeTable::All() const {
  std::vector<rpc::NodeInfo> out;
  out.reserve(order_.size());
  for (const NodeId& id : order_) out.push_back(*nodes_.Find(id));
  return out;
}

const rpc::NodeInfo* NodeTable::Find(const NodeId& node) const { return nodes_.Find(node); }

}  // namespace flare
