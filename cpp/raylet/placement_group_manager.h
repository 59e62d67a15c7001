// Placement groups across the cluster.
//
// The node where a group is created (its creator) chooses a node for each
// bundle from its cluster view (bundle_placement.h), then reserves them in
// a round: each chosen node is asked to prepare its bundles (this node
// directly, the others over the peer links: PrepareBundles), and only when
// every one has said yes are they committed (CommitBundles); when one
// refuses (the view was stale) or leaves, what was prepared is returned
// (ReturnBundles) and the group tries again on the next cluster view. So a
// group is reserved all or nothing. Groups are reserved in creation order:
// one without room now holds back the ones created after it. A group the
// cluster as it is can never hold (a bundle larger than any node, more
// STRICT_SPREAD bundles than nodes) holds back no other: its creator's job
// is warned at once (what it needs, the largest node) and it stays PENDING,
// tried again on each new cluster view, until nodes that can hold it join
// or it is removed (as in Ray; its ready object stays pending meanwhile).
//
// Every node holding bundles of a group, its own or another node's, takes
// them out of its resources when it prepares them and, once committed,
// offers them again under the group's own names (bundle i's CPU as
// "CPU_group_i_<id>", this node's part of the group as "CPU_group_<id>"),
// so the scheduler needs nothing new. A commit tells every holder where
// each bundle is, so any of them routes a task to its bundle's node
// (NodesFor).
//
// When a node holding bundles of a reserved group leaves, the group is
// RESCHEDULING (in the GCS) and goes first among the pending ones: the
// bundles that were there are placed again (bundle_placement.h, the others
// staying where they are) and reserved in a round of their own, all or
// nothing, tried again on each new cluster view while there is no room.
// Its commit tells every holder the new map. Meanwhile its ready object
// stays ready, tasks that need a lost bundle (new ones, and those retried
// after running there) wait as for a group not reserved yet, on its
// creator and on every holder (while the creator is alive), and the
// bundles that stay serve as before.
//
// No I/O: resources move in the Scheduler, the ready object is stored
// through the ReturnStore, the creator reports each group's state to the
// GCS (its placement-group records), messages to other nodes go through the
// PeerChannel, warnings to the creator's job through the ClientChannel. What
// runs in a removed group is the caller's to end. Thread-compatible: the raylet's event loop is its only
// user.
#ifndef FLARE_RAYLET_PLACEMENT_GROUP_MANAGER_H_
#define FLARE_RAYLET_PLACEMENT_GROUP_MANAGER_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "common/ids.h"
#include "flare.pb.h"
#include "gcs/gcs_client.h"
#include "object_store/object_table.h"
#include "raylet/clients.h"
#include "raylet/node_io.h"
#include "raylet/resources.h"
#include "raylet/return_store.h"
#include "raylet/scheduler.h"
#include "raylet/scheduling_policy.h"

namespace flare {

class PlacementGroupManager {
 public:
  // Borrows its collaborators, which must outlive it.
  PlacementGroupManager(Scheduler& scheduler, ObjectTable& objects, ReturnStore& returns,
                        GcsClient& gcs, PeerChannel& peers, ClientChannel& clients,
                        NodeId node_id)
      : scheduler_(scheduler),
        objects_(objects),
        returns_(returns),
        gcs_(gcs),
        peers_(peers),
        clients_(clients),
        node_id_(node_id) {}

  // ---- the creator ----------------------------------------------------------

  // `owner` asks for a group. Its ready object is pending for the owner
  // until the group is reserved (ReservePending).
  void Create(ClientId owner, const rpc::CreatePlacementGroup& request);
  // Starts reserving pending groups that the view has room for, in creation
  // order, and takes the view's room for the bundles asked of other nodes.
  // Returns the tasks that waited for the groups reserved since the last
  // call, to be placed now.
  std::vector<TaskId> ReservePending(ClusterResourceView& view);
  bool has_pending() const { return !pending_.empty() || !released_.empty(); }
  // A node answered a prepare of this node's round.
  void OnPrepareReply(const NodeId& node, const rpc::BundlesPrepared& reply);
  // A new cluster view: groups whose round was refused, and groups the
  // cluster could not hold, try again.
  void OnViewChanged();
  // `node` left: a round waiting for it fails (and is tried again), tasks
  // no longer go to the bundles that were there, and a reserved group
  // created here places those again (RESCHEDULING).
  void OnNodeGone(const NodeId& node);

  // ---- a node holding bundles of another node's group -----------------------

  // `creator` (a peer, on `creator_node`) asks this node to take bundles
  // out of its resources (for a group held here already: more of them,
  // those held stay).
  rpc::BundlesPrepared OnPrepare(ClientId creator, const rpc::PrepareBundles& request,
                                 const NodeId& creator_node = NodeId());
  // The round's bundles are offered under the group's names; a group held
  // here already takes the commit's map (its bundles placed again).
  void OnCommit(const rpc::CommitBundles& commit);
  // A refused round's bundles go back (nothing happens if `round` is not
  // the one prepared here). Removal (round 0) is Remove.
  void ReturnPrepared(const PlacementGroupId& group_id, uint64_t round);

  // ---- every node -------------------------------------------------------------

  // Whether the group exists here (created here, or bundles held here).
  bool Contains(const PlacementGroupId& group_id) const { return groups_.contains(group_id); }
  // The peer that asked this node to hold the group's bundles (nullopt for
  // a group created here, or unknown).
  std::optional<ClientId> CreatorPeer(const PlacementGroupId& group_id) const {
    auto it = groups_.find(group_id);
    if (it == groups_.end() || it->second.created_here) return std::nullopt;
    return it->second.owner;
  }
  // The group `demand` names, if it exists here.
  std::optional<PlacementGroupId> GroupOf(const ResourceSet& demand) const;
  // When `demand` names a group created here and not reserved yet, a group
  // whose bundles here are prepared and not committed yet, or a group being
  // placed again whose bundles that stay cannot hold it, the task waits for
  // it (true); false when the task can be placed now.
  bool Park(const TaskId& task_id, const ResourceSet& demand);
  // Whether `task_id` waits for `group_id` (it never reached the scheduler).
  bool IsWaiting(const PlacementGroupId& group_id, const TaskId& task_id) const;
  // For a demand naming a reserved group known here: the nodes alive whose
  // bundles of the group could hold it, this node first (empty: none).
  // nullopt when the demand names no such group.
  std::optional<std::vector<NodeId>> NodesFor(const ResourceSet& demand) const;
  // What the whole group offers, on whichever nodes (for messages).
  ResourceSet Offered(const PlacementGroupId& group_id) const;
  // Where each bundle is (empty until reserved; a bundle placed again: its
  // old node until the new one is committed).
  std::vector<NodeId> BundleNodes(const PlacementGroupId& group_id) const;
  // Whether the group is reserved but lost bundles with a node that left,
  // and its creator (this node, or one alive) places them again.
  bool IsRescheduling(const PlacementGroupId& group_id) const;

  // Frees what this node holds of the group. On its creator, also the
  // other nodes' bundles (ReturnBundles, round 0), its ready object fails
  // if it was still pending, and the GCS records it REMOVED, which frees
  // its name. REQUIRES: what ran in it here has been ended.
  void Remove(const PlacementGroupId& group_id);
  // A driver or worker here removes a group this node knows nothing of
  // (another node created it, and none of its bundles are here): each of
  // `nodes` (the others alive) is asked to remove it — its creator removes
  // it everywhere, a node holding bundles passes the request on to it —
  // and the GCS records it REMOVED (which frees its name even if its
  // creator is gone). REQUIRES: !Contains(group_id).
  void RemoveElsewhere(const PlacementGroupId& group_id, const std::vector<NodeId>& nodes);
  // The groups `owner` created here that go with it (all but detached
  // ones), and those whose bundles `owner` (a peer) asked this node to hold.
  std::vector<PlacementGroupId> OwnedBy(ClientId owner) const;

 private:
  // A bundle this node holds, out of the scheduler's resources.
  struct Held {
    int index = 0;
    ResourceSet resources;
    bool committed = false;  // offered under the group's names
  };
  struct Group {
    std::vector<ResourceSet> bundles;  // on a holder: known once committed
    std::vector<NodeId> nodes;         // each bundle's reserved node (empty until reserved)
    absl::flat_hash_set<NodeId, IdHash> gone;  // nodes of bundles that left
    std::vector<Held> here;                    // what this node holds
    uint64_t round = 0;  // the round under way (0: none)
    ClientId owner = 0;  // who asked: a client here, or the creator peer
    NodeId creator_node;  // a holder's: where the creator is
    bool creator_gone = false;
    std::vector<TaskId> waiting;  // submitted before it was reserved, or while placed again
    // The creator's.
    bool created_here = false;
    std::string strategy;
    bool detached = false;
    ObjectId ready_id;
    std::string ready_value;
    bool reserved = false;
    // The round under way: each bundle asked for, and the node asked.
    std::vector<std::pair<int, NodeId>> asked;
    absl::flat_hash_set<NodeId, IdHash> awaiting;  // prepares not answered yet
    bool refused = false;                          // in this round
    bool wait_for_view = false;  // refused, or infeasible: tries again on a new view
    bool infeasible = false;     // the cluster as it is cannot hold it (warned)
  };

  // The bundles of a reserved group whose node left (none otherwise).
  static std::vector<int> Lost(const Group& group);
  // Reserved, with no bundle lost.
  static bool Settled(const Group& group) { return group.reserved && Lost(group).empty(); }
  // This node's bundles of the group, committed ones or the others, under
  // the group's names.
  static ResourceSet OfferedHere(const PlacementGroupId& group_id, const Group& group,
                                 bool committed);
  // `bundles` (index, resources) of the group held here from now on, along
  // with those held already; false (and nothing more held) when the node
  // has not the room.
  bool PrepareHere(Group& group, const std::vector<std::pair<int, ResourceSet>>& bundles);
  void CommitHere(const PlacementGroupId& group_id, Group& group);
  // Gives back what is held here (only what is not committed yet).
  void ReleaseHere(const PlacementGroupId& group_id, Group& group);
  void ReleaseUncommitted(Group& group);
  // The creator asks each chosen node for its bundles: `asked` pairs each
  // bundle index with its node.
  void StartRound(const PlacementGroupId& group_id, Group& group,
                  std::vector<std::pair<int, NodeId>> asked, ClusterResourceView& view);
  // Every node answered: commit, or return what was prepared.
  void FinishRound(const PlacementGroupId& group_id, Group& group);
  // Sends `message` (a commit or a return) to each of `nodes` but this one
  // and those gone, once each.
  void SendTo(const Group& group, const std::vector<NodeId>& nodes, const rpc::Message& message);
  static std::vector<NodeId> NodesAsked(const Group& group);
  // Tasks that waited for the group go to be placed (ReservePending).
  void ReleaseWaiting(Group& group);
  // The group cannot be held by the cluster as it is: recorded so in the
  // GCS and its creator's job warned (once until it could be held again);
  // it waits for the next view.
  void MarkInfeasible(const PlacementGroupId& group_id, Group& group, const std::string& why);

  Scheduler& scheduler_;
  ObjectTable& objects_;
  ReturnStore& returns_;
  GcsClient& gcs_;
  PeerChannel& peers_;
  ClientChannel& clients_;
  NodeId node_id_;
  absl::flat_hash_map<PlacementGroupId, Group, IdHash> groups_;
  absl::flat_hash_map<std::string, PlacementGroupId> by_hex_;
  std::deque<PlacementGroupId> pending_;  // created here, not reserved, in creation order
  std::vector<TaskId> released_;          // waited for groups reserved since ReservePending
  uint64_t next_round_ = 0;
};

}  // namespace flare

#endif  // FLARE_RAYLET_PLACEMENT_GROUP_MANAGER_H_
