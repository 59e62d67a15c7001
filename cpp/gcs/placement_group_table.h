// The GCS's placement-group records (Ray's placement_group_table()): each
// group's name, namespace, strategy, bundles and state,
// PENDING -> CREATED (<-> RESCHEDULING) -> REMOVED. A name belongs to one group of its
// namespace that is not removed; removal frees it. Removed groups are
// remembered, the most recent `max_removed` of them, so that asking after a
// removal says REMOVED while memory stays bounded however many groups come
// and go.
//
// Each change is written through to the store (table kTable, keyed by
// group id) before it is applied, so a failed write changes nothing; Load
// reads the table back after a restart.
//
// Borrows the store, which must outlive it. Thread-compatible: the GCS's
// owner (the head raylet's event loop) is its only user.
#ifndef FLARE_GCS_PLACEMENT_GROUP_TABLE_H_
#define FLARE_GCS_PLACEMENT_GROUP_TABLE_H_

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "common/ids.h"
#include "flare.pb.h"
#include "gcs/record_table.h"

namespace flare {

class PlacementGroupTable {
 public:
  static constexpr size_t kDefaultMaxRemoved = 1000;
  static constexpr char kTable[] = "placement_groups";

  explicit PlacementGroupTable(Store& store, size_t max_removed = kDefaultMaxRemoved)
      : groups_(store, kTable, max_removed) {}

  // Loads every group the store holds.
  // REQUIRES: the table is empty (nothing was recorded since construction).
  absl::Status Load();

  // Records a new group as PENDING (whatever `info.state` says); a named one
  // takes its name in its namespace. A known id is left as it is (a named
  // group is registered by its creator before its node adds it).
  // REQUIRES: `info.pg_id` is a PlacementGroupId (else InvalidArgument).
  // AlreadyExists when a group of the namespace that is not removed has the
  // name.
  absl::Status Add(rpc::PlacementGroupInfo info);
  // The transitions below ignore ids that are unknown or already removed.
  // Its bundles are reserved, bundle i on `bundle_nodes[i]`.
  // REQUIRES: one node per bundle (else InvalidArgument).
  absl::Status MarkCreated(const PlacementGroupId& id, const std::vector<NodeId>& bundle_nodes);
  // It stays PENDING: the cluster as it is can never hold it.
  absl::Status MarkInfeasible(const PlacementGroupId& id);
  // A CREATED group lost bundles with their node: RESCHEDULING (keeping the
  // nodes of the others) until MarkCreated. Other states are left as they are.
  absl::Status MarkRescheduling(const PlacementGroupId& id);
  // The group is gone and its name free; beyond `max_removed` removed
  // groups, the one removed longest ago is forgotten.
  absl::Status MarkRemoved(const PlacementGroupId& id);

  // The group's record, or nullptr when it is unknown (or forgotten).
  const rpc::PlacementGroupInfo* Find(const PlacementGroupId& id) const;
  // The group holding `name` in `name_space` (not removed), or nullptr.
  const rpc::PlacementGroupInfo* LookupNamed(const std::string& name_space,
                                             const std::string& name) const;
  // Every group kept, live and removed, in no particular order.
  std::vector<const rpc::PlacementGroupInfo*> All() const;

  size_t size() const { return groups_.size(); }

 private:
  using NameKey = std::pair<std::string, std::string>;  // (namespace, name)

  // The record of a group not removed, or nullptr.
  const rpc::PlacementGroupInfo* Live(const PlacementGroupId& id) const;

  RecordTable<PlacementGroupId, rpc::PlacementGroupInfo> groups_;  // removed ones count as ended
  absl::flat_hash_map<NameKey, PlacementGroupId> live_names_;
};

}  // namespace flare

#endif  // FLARE_GCS_PLACEMENT_GROUP_TABLE_H_
