#include "raylet/scheduling_policy.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <vector>

#include "common/placement_group_resources.h"

namespace flare {

namespace {

// How much of its scarcest demanded resource a node has left once it holds
// `demand`, as a fraction of its total: the larger, the less loaded.
double Headroom(const ResourceSet& demand, const ClusterResourceView::Node& node) {
  double headroom = 1.0;
  for (const auto& [name, amount] : demand.ToMap()) {
    const double total = node.total.Get(name);
    if (amount <= 0 || total <= 0) continue;
    headroom = std::min(headroom, (node.available.Get(name) - amount) / total);
  }
  return headroom;
}

}  // namespace

void ClusterResourceView::Take(const NodeId& id, const ResourceSet& demand) {
  auto it = remote_.find(id);
  if (it != remote_.end()) it->second.available.Subtract(demand);
}

void ClusterResourceView::Give(const NodeId& id, const ResourceSet& demand) {
  auto it = remote_.find(id);
  if (it == remote_.end()) return;
  Node& node = it->second;
  node.available.Add(demand);
  for (const auto& [name, amount] : demand.ToMap()) {
    if (node.available.Get(name) > node.total.Get(name)) {
      node.available.Set(name, node.total.Get(name));
    }
  }
}

bool ClusterResourceView::HasRemoteRoom() const {
  for (const auto& [id, node] : remote_) {
    if (node.available.Get("CPU") > 0) return true;
  }
  return false;
}

ResourceSet ClusterResourceView::LargestNode() const {
  const ResourceSet* largest = &local_total_;
  for (const auto& [id, node] : remote_) {
    if (node.total.Get("CPU") > largest->Get("CPU")) largest = &node.total;
  }
  // What the node has of its own: placement groups' names only re-offer
  // part of it (and a removed group's stay behind at zero).
  ResourceSet own;
  for (const auto& [name, amount] : largest->ToMap()) {
    if (amount > 0 && !GroupOfResource(name)) own.Set(name, amount);
  }
  return own;
}

SchedulingDecision ClusterSchedulingPolicy::Schedule(const ResourceSet& demand,
                                                     const SchedulingStrategy& strategy,
                                                     const ClusterResourceView& view) {
  switch (strategy.kind) {
    case SchedulingStrategy::Kind::kSpread:
      return Spread(demand, view);
    case SchedulingStrategy::Kind::kNodeAffinity:
      return Affinity(demand, strategy, view);
    case SchedulingStrategy::Kind::kDefault:
      break;
  }
  return Hybrid(demand, view);
}

SchedulingDecision ClusterSchedulingPolicy::Hybrid(const ResourceSet& demand,
                                                   const ClusterResourceView& view) const {
  const bool local_feasible = demand.IsSubsetOf(view.local_total());
  if (local_feasible && demand.IsSubsetOf(view.local_available())) {
    return SchedulingDecision::Local();
  }
  std::optional<NodeId> best_now;
  double best_headroom = -std::numeric_limits<double>::infinity();
  std::optional<NodeId> first_feasible;
  for (const auto& [id, node] : view.remote_nodes()) {
    if (!demand.IsSubsetOf(node.total)) continue;
    if (!first_feasible) first_feasible = id;
    if (!demand.IsSubsetOf(node.available)) continue;
    const double headroom = Headroom(demand, node);
    if (headroom > best_headroom) {  // ties keep the lowest id
      best_headroom = headroom;
      best_now = id;
    }
  }
  if (best_now) return SchedulingDecision::Remote(*best_now);
  if (local_feasible) return SchedulingDecision::Local();
  if (first_feasible) return SchedulingDecision::Remote(*first_feasible);
  return SchedulingDecision::Infeasible();
}

SchedulingDecision ClusterSchedulingPolicy::Spread(const ResourceSet& demand,
                                                   const ClusterResourceView& view) {
  // Every node that could hold it, in a fixed order: this node, then the
  // others by id. Turns go round them; a node without room now is passed
  // over for the next that has it, and when none has, the task queues on
  // the node whose turn it is.
  std::vector<const NodeId*> feasible;
  std::vector<bool> room;
  if (demand.IsSubsetOf(view.local_total())) {
    feasible.push_back(&view.local_id());
    room.push_back(demand.IsSubsetOf(view.local_available()));
  }
  for (const auto& [id, node] : view.remote_nodes()) {
    if (!demand.IsSubsetOf(node.total)) continue;
    feasible.push_back(&id);
    room.push_back(demand.IsSubsetOf(node.available));
  }
  if (feasible.empty()) return SchedulingDecision::Infeasible();
  size_t chosen = spread_next_ % feasible.size();
  for (size_t step = 0; step < feasible.size(); ++step) {
    const size_t candidate = (spread_next_ + step) % feasible.size();
    if (room[candidate]) {
      chosen = candidate;
      break;
    }
  }
  spread_next_ = chosen + 1;
  return feasible[chosen] == &view.local_id() ? SchedulingDecision::Local()
                                              : SchedulingDecision::Remote(*feasible[chosen]);
}

SchedulingDecision ClusterSchedulingPolicy::Affinity(const ResourceSet& demand,
                                                     const SchedulingStrategy& strategy,
                                                     const ClusterResourceView& view) const {
  if (strategy.node == view.local_id()) {
    if (demand.IsSubsetOf(view.local_total())) return SchedulingDecision::Local();
  } else if (auto it = view.remote_nodes().find(strategy.node);
             it != view.remote_nodes().end() && demand.IsSubsetOf(it->second.total)) {
    return SchedulingDecision::Remote(strategy.node);
  }
  return strategy.soft ? Hybrid(demand, view) : SchedulingDecision::Infeasible();
}

}  // namespace flare
