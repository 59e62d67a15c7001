// Where a task should run: on this node, on another node, or nowhere
// (infeasible), decided from a resource demand, a scheduling strategy and
// the raylet's view of the cluster's nodes. The decision only names a
// place; queueing there (or spilling the task to another raylet, which may
// refuse it) is the caller's.
//
// Today the view holds only the local node, so the only answers reached are
// Local and Infeasible; the remote answers are specified (and tested) for
// the multi-node raylet, whose view also holds the nodes the GCS reports.
//
// No I/O. Thread-compatible: the raylet's event loop is its only user.
#ifndef FLARE_RAYLET_SCHEDULING_POLICY_H_
#define FLARE_RAYLET_SCHEDULING_POLICY_H_

#include <cstddef>
#include <map>

#include "common/ids.h"
#include "raylet/resources.h"

namespace flare {

// The resources of the cluster's nodes as this raylet last heard of them:
// its own live (borrowed from its scheduler), the others' as reported
// (possibly stale).
class ClusterResourceView {
 public:
  struct Node {
    ResourceSet total;
    ResourceSet available;
  };

  // Borrows `local_total` and `local_available`, which must outlive this.
  ClusterResourceView(NodeId local_id, const ResourceSet& local_total,
                      const ResourceSet& local_available)
      : local_id_(local_id), local_total_(local_total), local_available_(local_available) {}

  // Another node's last report (added or replaced). REQUIRES: `id` is not
  // the local node.
  void UpdateNode(const NodeId& id, Node node) { remote_[id] = std::move(node); }
  // The node died or left.
  void RemoveNode(const NodeId& id) { remote_.erase(id); }
  // A task was just sent to `id`: its resources count as taken there until
  // the node's next report.
  void Take(const NodeId& id, const ResourceSet& demand);
  // A task sent to `id` ended there: its resources count as free there
  // again (never beyond the node's total), without waiting for the node's
  // next report, so the next task can follow it at once.
  void Give(const NodeId& id, const ResourceSet& demand);
  // Whether some other node has a CPU free, as last heard.
  bool HasRemoteRoom() const;
  // The total resources of the largest node (by CPUs), for messages: its
  // own, without the names its placement groups' bundles are offered under.
  ResourceSet LargestNode() const;

  const NodeId& local_id() const { return local_id_; }
  const ResourceSet& local_total() const { return local_total_; }
  const ResourceSet& local_available() const { return local_available_; }
  // The other nodes, by id.
  const std::map<NodeId, Node>& remote_nodes() const { return remote_; }
  size_t num_nodes() const { return 1 + remote_.size(); }

 private:
  NodeId local_id_;
  const ResourceSet& local_total_;
  const ResourceSet& local_available_;
  std::map<NodeId, Node> remote_;
};

// How the caller wants its task placed.
struct SchedulingStrategy {
  enum class Kind {
    kDefault,       // hybrid: here while it fits here, else where it fits now
    kSpread,        // across the nodes that fit it now, in turn
    kNodeAffinity,  // on `node`
  };
  Kind kind = Kind::kDefault;
  NodeId node;        // kNodeAffinity: the node asked for
  bool soft = false;  // kNodeAffinity: another node will do when `node` cannot
};

// What the policy decided.
class SchedulingDecision {
 public:
  enum class Kind { kLocal, kRemote, kInfeasible };

  static SchedulingDecision Local() { return SchedulingDecision(Kind::kLocal, NodeId()); }
  static SchedulingDecision Remote(const NodeId& node) {
    return SchedulingDecision(Kind::kRemote, node);
  }
  // No node in the view could ever hold the demand.
  static SchedulingDecision Infeasible() {
    return SchedulingDecision(Kind::kInfeasible, NodeId());
  }

  Kind kind() const { return kind_; }
  bool is_local() const { return kind_ == Kind::kLocal; }
  bool is_infeasible() const { return kind_ == Kind::kInfeasible; }
  // REQUIRES: kind() == kRemote.
  const NodeId& node() const { return node_; }

  bool operator==(const SchedulingDecision& other) const {
    return kind_ == other.kind_ && node_ == other.node_;
  }

 private:
  SchedulingDecision(Kind kind, const NodeId& node) : kind_(kind), node_(node) {}
  Kind kind_;
  NodeId node_;
};

class SchedulingPolicy {
 public:
  virtual ~SchedulingPolicy() = default;
  // Where a task demanding `demand` should run.
  virtual SchedulingDecision Schedule(const ResourceSet& demand,
                                      const SchedulingStrategy& strategy,
                                      const ClusterResourceView& view) = 0;
};

// The raylet's policy, one rule per strategy:
//  - kDefault: this node when it has the demand available now; else the
//    other node with it available now and the most headroom left; else
//    this node if it could ever hold it (the task queues here); else any
//    node that could (it queues there); else Infeasible.
//  - kSpread: the nodes that could hold the demand take tasks in turn (this
//    node first, then by id), skipping a node without room now for the
//    next that has it; when none has room, the task queues on the node
//    whose turn it is.
//  - kNodeAffinity: the node asked for when it could ever hold the demand;
//    else, if soft, as kDefault; else Infeasible.
class ClusterSchedulingPolicy : public SchedulingPolicy {
 public:
  SchedulingDecision Schedule(const ResourceSet& demand, const SchedulingStrategy& strategy,
                              const ClusterResourceView& view) override;

 private:
  SchedulingDecision Hybrid(const ResourceSet& demand, const ClusterResourceView& view) const;
  SchedulingDecision Spread(const ResourceSet& demand, const ClusterResourceView& view);
  SchedulingDecision Affinity(const ResourceSet& demand, const SchedulingStrategy& strategy,
                              const ClusterResourceView& view) const;

  size_t spread_next_ = 0;  // the turn of the next spread task
};

}  // namespace flare

#endif  // FLARE_RAYLET_SCHEDULING_POLICY_H_
