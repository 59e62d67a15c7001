// Placement groups on one node: bundles reserved out of the node's
// resources together, then offered again under the group's own names
// (bundle i's CPU as "CPU_group_i_<id>", the group's as "CPU_group_<id>"),
// so the scheduler needs nothing new: a task placed in a group simply asks
// for those names. Groups are reserved in creation order once they fit; a
// task submitted to a group that is not reserved yet waits for it.
//
// No I/O: resources move in the Scheduler, the ready object is stored
// through the ReturnStore, and every group's state is reported to the GCS
// (its placement-group records). What runs in a removed group is the
// caller's to end.
// Thread-compatible: the raylet's event loop is its only user.
#ifndef FLARE_RAYLET_PLACEMENT_GROUP_MANAGER_H_
#define FLARE_RAYLET_PLACEMENT_GROUP_MANAGER_H_

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/ids.h"
#include "flare.pb.h"
#include "object_store/object_table.h"
#include "gcs/gcs_client.h"
#include "raylet/resources.h"
#include "raylet/return_store.h"
#include "raylet/scheduler.h"

namespace flare {

class PlacementGroupManager {
 public:
  // Borrows its collaborators, which must outlive it.
  PlacementGroupManager(Scheduler& scheduler, ObjectTable& objects, ReturnStore& returns,
                        GcsClient& gcs, NodeId node_id)
      : scheduler_(scheduler), objects_(objects), returns_(returns), gcs_(gcs), node_id_(node_id) {}

  // `owner` asks for a group. Its ready object is pending for the owner
  // until the group is reserved (ReservePending), or holds INFEASIBLE at
  // once when this node can never hold it.
  void Create(ClientId owner, const rpc::CreatePlacementGroup& request);

  // Reserves pending groups that fit now, in creation order (a group that
  // does not fit holds back the ones created after it). Returns the tasks
  // that waited for the groups reserved, to be queued now.
  std::vector<TaskId> ReservePending();
  bool has_pending() const { return !pending_.empty(); }
  // Whether the group exists (created and not removed).
  bool Contains(const PlacementGroupId& group_id) const { return groups_.contains(group_id); }

  // The group `demand` names, if it exists.
  std::optional<PlacementGroupId> GroupOf(const ResourceSet& demand) const;
  // When `demand` names a group not reserved yet, the task waits for it
  // (true); false when the task can be queued now.
  bool Park(const TaskId& task_id, const ResourceSet& demand);
  // Whether `task_id` waits for `group_id` (it never reached the scheduler).
  bool IsWaiting(const PlacementGroupId& group_id, const TaskId& task_id) const;
  // What the group offers the scheduler once reserved.
  ResourceSet Offered(const PlacementGroupId& group_id) const;

  // Frees the group: its resources go back (or its ready object fails, if it
  // was still pending) and the GCS records it REMOVED, which frees its name.
  // REQUIRES: what ran in it has been ended.
  void Remove(const PlacementGroupId& group_id);
  // The groups `owner` created that go with it (all but detached ones).
  std::vector<PlacementGroupId> OwnedBy(ClientId owner) const;

 private:
  struct Group {
    std::vector<ResourceSet> bundles;
    ResourceSet total;  // the bundles together
    ObjectId ready_id;
    std::string ready_value;
    bool reserved = false;
    ClientId owner = 0;
    bool detached = false;
    std::vector<TaskId> waiting;  // submitted before it was reserved
  };
  static ResourceSet Offered(const PlacementGroupId& group_id, const Group& group);
  // Why this node can never hold the group ("" if it can).
  std::string Infeasibility(const rpc::CreatePlacementGroup& request, const Group& group) const;

  Scheduler& scheduler_;
  ObjectTable& objects_;
  ReturnStore& returns_;
  GcsClient& gcs_;
  NodeId node_id_;
  absl::flat_hash_map<PlacementGroupId, Group, IdHash> groups_;
  absl::flat_hash_map<std::string, PlacementGroupId> by_hex_;
  std::deque<PlacementGroupId> pending_;
};

}  // namespace flare

#endif  // FLARE_RAYLET_PLACEMENT_GROUP_MANAGER_H_
