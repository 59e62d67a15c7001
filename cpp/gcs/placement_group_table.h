// The GCS's placement-group records (Ray's placement_group_table()): each
// group's name, strategy, bundles and state,
// PENDING -> CREATED -> REMOVED. Removed groups are remembered, the most
// recent `max_removed` of them, so that asking after a removal says REMOVED
// while memory stays bounded however many groups come and go.
//
// No I/O. Thread-compatible: the GCS's owner (the head raylet's event loop)
// is its only user.
#ifndef FLARE_GCS_PLACEMENT_GROUP_TABLE_H_
#define FLARE_GCS_PLACEMENT_GROUP_TABLE_H_

#include <cstddef>
#include <deque>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/ids.h"
#include "flare.pb.h"

namespace flare {

class PlacementGroupTable {
 public:
  static constexpr size_t kDefaultMaxRemoved = 1000;

  explicit PlacementGroupTable(size_t max_removed = kDefaultMaxRemoved)
      : max_removed_(max_removed) {}

  // Records a new group as PENDING (whatever `info.state` says). A known id
  // is left as it is.
  void Add(rpc::PlacementGroupInfo info);
  // The transitions below ignore ids that are unknown or already removed.
  // Its bundles are reserved on `node`.
  void MarkCreated(const TaskId& id, const NodeId& node);
  // It stays PENDING: the cluster as it is can never hold it.
  void MarkInfeasible(const TaskId& id);
  // The group is gone; beyond `max_removed` removed groups, the one removed
  // longest ago is forgotten.
  void MarkRemoved(const TaskId& id);

  // The group's record, or nullptr when it is unknown (or forgotten).
  const rpc::PlacementGroupInfo* Find(const TaskId& id) const;
  // Every group kept, live and removed, in no particular order.
  std::vector<const rpc::PlacementGroupInfo*> All() const;

  size_t size() const { return groups_.size(); }

 private:
  // The record of a group not removed, or nullptr.
  rpc::PlacementGroupInfo* Live(const TaskId& id);

  size_t max_removed_;
  absl::flat_hash_map<TaskId, rpc::PlacementGroupInfo, IdHash> groups_;
  std::deque<TaskId> removed_;  // oldest first
};

}  // namespace flare

#endif  // FLARE_GCS_PLACEMENT_GROUP_TABLE_H_
