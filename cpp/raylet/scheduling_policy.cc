#include "raylet/scheduling_policy.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <vector>

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
  std::vector<const NodeId*> fitting;  // this node first, then the others by id
  if (demand.IsSubsetOf(view.local_total()) && demand.IsSubsetOf(view.local_available())) {
    fitting.push_back(&view.local_id());
  }
  for (const auto& [id, node] : view.remote_nodes()) {
    if (demand.IsSubsetOf(node.total) && demand.IsSubsetOf(node.available)) fitting.push_back(&id);
  }
  if (fitting.empty()) return Hybrid(demand, view);
  const NodeId* chosen = fitting[spread_next_++ % fitting.size()];
  return chosen == &view.local_id() ? SchedulingDecision::Local()
                                    : SchedulingDecision::Remote(*chosen);
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
