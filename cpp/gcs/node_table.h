// The GCS node table: every node of the cluster, its address, liveness and
// resources. On a single node it holds the head itself.
//
// Thread-compatible: the raylet's event loop is its only user.
#ifndef FLARE_GCS_NODE_TABLE_H_
#define FLARE_GCS_NODE_TABLE_H_

#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/ids.h"
#include "flare.pb.h"

namespace flare {

// All() lists nodes in the order they first registered.
class NodeTable {
 public:
  void Upsert(const rpc::NodeInfo& node);
  // Each returns whether the table changed (false: unknown or already dead).
  bool MarkDead(const NodeId& node);
  bool UpdateAvailable(const NodeId& node, const rpc::ResourceSet& available);
  std::vector<rpc::NodeInfo> All() const;
  const rpc::NodeInfo* Find(const NodeId& node) const;

 private:
  absl::flat_hash_map<NodeId, rpc::NodeInfo, IdHash> nodes_;
  std::vector<NodeId> order_;  // registration order, as All() lists them
};

}  // namespace flare

#endif  // FLARE_GCS_NODE_TABLE_H_
