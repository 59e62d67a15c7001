// Where the bundles of a placement group go: one node per bundle, chosen
// from the raylet's cluster view by the group's strategy. The choice only
// names nodes; reserving there (which a node refuses when the view was
// stale) is the placement group manager's.
//
//  - PACK: every bundle on one node when one has room for them all (this
//    node first); else bundle by bundle on a node already chosen, else the
//    first node with room (this node, then the others by id).
//  - SPREAD: bundle by bundle on a node not chosen yet that has room (in
//    the same order), else on the node with room chosen fewest times.
//  - STRICT_PACK: all on the first node with room for them together.
//  - STRICT_SPREAD: each on a different node, the first unchosen one with
//    room.
//
// Bundles placed again after their node left (the group's others stay
// where they are) count `holding`, the nodes of the bundles that stay, as
// chosen already: STRICT_SPREAD avoids them, SPREAD prefers other nodes,
// PACK prefers them, STRICT_PACK must use them (it has none left when its
// one node went, and then places them all anew).
//
// No I/O. A pure function of its arguments.
#ifndef FLARE_RAYLET_BUNDLE_PLACEMENT_H_
#define FLARE_RAYLET_BUNDLE_PLACEMENT_H_

#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "raylet/resources.h"
#include "raylet/scheduling_policy.h"

namespace flare {

struct BundlePlacement {
  enum class Kind {
    kPlaced,      // `nodes` holds each bundle's node
    kNoRoomNow,   // the cluster could hold them, but has not the room now
    kInfeasible,  // the cluster as it is never could (`why` says what it lacks)
  };
  Kind kind = Kind::kNoRoomNow;
  std::vector<NodeId> nodes;
  std::string why;
};

// REQUIRES: `strategy` is PACK, SPREAD, STRICT_PACK or STRICT_SPREAD.
BundlePlacement PlaceBundles(const std::vector<ResourceSet>& bundles, std::string_view strategy,
                             const ClusterResourceView& view,
                             const std::vector<NodeId>& holding = {});

}  // namespace flare

#endif  // FLARE_RAYLET_BUNDLE_PLACEMENT_H_
