// The GCS node table: every node of the cluster, its address, liveness and
// resources. On a single node it holds the head itself. All() lists nodes
// in the order they first registered.
//
// Membership (registration, death) is written through to the store (table
// kTable, keyed by node id) before it is applied, and Load reads it back
// after a restart. What a node has available is soft state: kept in memory
// only, since a live node reports it again and again (it reaches the store
// with the node's next membership change).
//
// Borrows the store, which must outlive it. Thread-compatible: the GCS's
// owner is its only user.
#ifndef FLARE_GCS_NODE_TABLE_H_
#define FLARE_GCS_NODE_TABLE_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/ids.h"
#include "flare.pb.h"
#include "gcs/record_table.h"

namespace flare {

class NodeTable {
 public:
  static constexpr char kTable[] = "nodes";

  explicit NodeTable(Store& store) : nodes_(store, kTable) {}

  // Loads every node the store holds, each marked not alive: after a
  // restart of the GCS a node counts again once it registers again.
  // REQUIRES: the table is empty (nothing was recorded since construction).
  absl::Status Load();

  // Adds the node, or replaces the record of a known node id.
  // InvalidArgument when `node.node_id` is not a NodeId.
  absl::Status Upsert(const rpc::NodeInfo& node);
  // The node left or stopped answering; it stays in the table, not alive,
  // with nothing available. Returns whether that changed anything (false:
  // the node is unknown or was already dead).
  absl::StatusOr<bool> MarkDead(const NodeId& node);
  // What a live node has available now (soft state, see above). Returns
  // whether the table changed (false: unknown or dead node).
  bool UpdateAvailable(const NodeId& node, const rpc::ResourceSet& available);

  std::vector<rpc::NodeInfo> All() const;
  // The nodes other than the head that were alive when the store was last
  // written before Load (they may still run, and register again).
  const std::vector<NodeId>& alive_before_load() const { return alive_before_load_; }
  const rpc::NodeInfo* Find(const NodeId& node) const;

 private:
  RecordTable<NodeId, rpc::NodeInfo> nodes_;
  std::vector<NodeId> order_;  // registration order, as All() lists them
  std::vector<NodeId> alive_before_load_;
};

}  // namespace flare

#endif  // FLARE_GCS_NODE_TABLE_H_
