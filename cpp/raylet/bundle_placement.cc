#include "raylet/bundle_placement.h"

#include <algorithm>
#include <cstddef>

namespace flare {

namespace {

// One node as placement sees it: its room left once the bundles chosen for
// it so far are taken.
struct Candidate {
  NodeId id;
  ResourceSet room;
  size_t chosen = 0;  // bundles placed on it so far
};

ResourceSet Sum(const std::vector<ResourceSet>& bundles) {
  ResourceSet total;
  for (const ResourceSet& bundle : bundles) total.Add(bundle);
  return total;
}

// The first node that `eligible` allows and has room for `demand`, or nullptr.
template <typename Eligible>
Candidate* FirstWithRoom(std::vector<Candidate>& nodes, const ResourceSet& demand,
                         Eligible eligible) {
  for (Candidate& node : nodes) {
    if (eligible(node) && demand.IsSubsetOf(node.room)) return &node;
  }
  return nullptr;
}

// The strategy's rules (see the header) over `nodes`' room: each bundle's
// node, or nothing when they cannot all be placed.
std::vector<NodeId> Place(const std::vector<ResourceSet>& bundles, std::string_view strategy,
                          std::vector<Candidate> nodes) {
  std::vector<NodeId> chosen;
  auto choose = [&chosen](Candidate& node, const ResourceSet& bundle) {
    node.room.Subtract(bundle);
    node.chosen++;
    chosen.push_back(node.id);
  };
  auto any = [](const Candidate&) { return true; };
  auto holds = [](const Candidate& n) { return n.chosen > 0; };
  const bool holding = std::any_of(nodes.begin(), nodes.end(), holds);
  const bool pack = strategy == "PACK" || strategy == "STRICT_PACK";
  if (pack) {
    Candidate* together = FirstWithRoom(nodes, Sum(bundles), holds);
    if (together == nullptr && !(holding && strategy == "STRICT_PACK")) {
      together = FirstWithRoom(nodes, Sum(bundles), any);
    }
    if (Candidate* node = together) {
      for (const ResourceSet& bundle : bundles) choose(*node, bundle);
      return chosen;
    }
    if (strategy == "STRICT_PACK") return {};
  }
  for (const ResourceSet& bundle : bundles) {
    Candidate* node =
        pack ? FirstWithRoom(nodes, bundle, [](const Candidate& n) { return n.chosen > 0; })
             : FirstWithRoom(nodes, bundle, [](const Candidate& n) { return n.chosen == 0; });
    if (node == nullptr && strategy == "PACK") node = FirstWithRoom(nodes, bundle, any);
    if (node == nullptr && strategy == "SPREAD") {
      for (Candidate& candidate : nodes) {
        if (bundle.IsSubsetOf(candidate.room) &&
            (node == nullptr || candidate.chosen < node->chosen)) {
          node = &candidate;
        }
      }
    }
    if (node == nullptr) return {};
    choose(*node, bundle);
  }
  return chosen;
}

// Why the nodes can never hold the bundles, for the group's error.
std::string Explain(const std::vector<ResourceSet>& bundles, std::string_view strategy,
                    const ClusterResourceView& view, const std::vector<NodeId>& holding) {
  const std::string largest = " the largest node has " + view.LargestNode().DebugString();
  if (strategy == "STRICT_PACK") {
    return "STRICT_PACK needs " + Sum(bundles).DebugString() + " together on one node but" +
           largest;
  }
  for (const ResourceSet& bundle : bundles) {
    bool fits = bundle.IsSubsetOf(view.local_total());
    for (const auto& [id, node] : view.remote_nodes()) fits = fits || bundle.IsSubsetOf(node.total);
    if (!fits) return "its bundle " + bundle.DebugString() + " fits no node:" + largest;
  }
  if (strategy == "STRICT_SPREAD") {
    const std::string others =
        holding.empty() ? std::string()
                        : " besides those holding its other " + std::to_string(holding.size());
    return "STRICT_SPREAD needs a node for each of its " + std::to_string(bundles.size()) +
           " bundles" + others + " and the cluster has " + std::to_string(view.num_nodes()) +
           (view.num_nodes() == 1 ? " node" : " nodes") + " that could hold them";
  }
  return "its bundles need " + Sum(bundles).DebugString() +
         " together and the cluster's nodes cannot hold them all";
}

}  // namespace

BundlePlacement PlaceBundles(const std::vector<ResourceSet>& bundles, std::string_view strategy,
                             const ClusterResourceView& view, const std::vector<NodeId>& holding) {
  // This node first, then the others by id: once by what each has (could
  // the cluster ever hold the group?), then by what each has free now.
  std::vector<Candidate> totals{{view.local_id(), view.local_total()}};
  std::vector<Candidate> free_now{{view.local_id(), view.local_available()}};
  for (const auto& [id, node] : view.remote_nodes()) {
    totals.push_back({id, node.total});
    free_now.push_back({id, node.available});
  }
  for (const NodeId& held : holding) {
    for (std::vector<Candidate>* nodes : {&totals, &free_now}) {
      for (Candidate& node : *nodes) node.chosen += node.id == held ? 1 : 0;
    }
  }
  BundlePlacement placement;
  if (Place(bundles, strategy, std::move(totals)).empty()) {
    placement.kind = BundlePlacement::Kind::kInfeasible;
    placement.why = Explain(bundles, strategy, view, holding);
    return placement;
  }
  placement.nodes = Place(bundles, strategy, std::move(free_now));
  if (!placement.nodes.empty()) placement.kind = BundlePlacement::Kind::kPlaced;
  return placement;
}

}  // namespace flare
