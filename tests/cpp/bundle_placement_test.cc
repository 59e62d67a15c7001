// Specification of where a placement group's bundles go, per strategy,
// from a cluster view: this node and two others, b before c.
#include "raylet/bundle_placement.h"

#include <gtest/gtest.h>

#include <tuple>

#include "raylet_fakes.h"

namespace flare {
namespace {

using Kind = BundlePlacement::Kind;

class BundlePlacementTest : public ::testing::Test {
 protected:
  BundlePlacementTest() { std::tie(b_, c_) = testing::OrderedNodeIds(); }
  // `node` has `total` CPUs, `free` of them free.
  void Node(const NodeId& node, double total, double free) {
    view_.UpdateNode(node, {ResourceSet::FromMap({{"CPU", total}}),
                            ResourceSet::FromMap({{"CPU", free}})});
  }
  static std::vector<ResourceSet> Cpus(std::vector<double> amounts) {
    std::vector<ResourceSet> bundles;
    for (double amount : amounts) bundles.push_back(ResourceSet::FromMap({{"CPU", amount}}));
    return bundles;
  }

  NodeId self_ = NodeId::FromRandom();
  NodeId b_;
  NodeId c_;
  ResourceSet total_ = ResourceSet::FromMap({{"CPU", 2}});
  ResourceSet available_ = ResourceSet::FromMap({{"CPU", 2}});
  ClusterResourceView view_{self_, total_, available_};
};

TEST_F(BundlePlacementTest, PackPutsEverythingOnThisNodeWhenItHasRoom) {
  Node(b_, 4, 4);
  const BundlePlacement placed = PlaceBundles(Cpus({1, 1}), "PACK", view_);
  EXPECT_EQ(placed.kind, Kind::kPlaced);
  EXPECT_EQ(placed.nodes, (std::vector<NodeId>{self_, self_}));
}

TEST_F(BundlePlacementTest, PackPrefersOneOtherNodeToSplittingTheGroup) {
  Node(b_, 4, 4);
  EXPECT_EQ(PlaceBundles(Cpus({2, 2}), "PACK", view_).nodes, (std::vector<NodeId>{b_, b_}));
}

TEST_F(BundlePlacementTest, PackSplitsAcrossAsFewNodesAsItCanWhenNoneHoldsItAll) {
  Node(b_, 2, 2);
  Node(c_, 2, 2);
  EXPECT_EQ(PlaceBundles(Cpus({1, 1, 2}), "PACK", view_).nodes,
            (std::vector<NodeId>{self_, self_, b_}));
}

TEST_F(BundlePlacementTest, SpreadUsesEveryNodeBeforeDoublingUp) {
  Node(b_, 2, 2);
  Node(c_, 2, 2);
  EXPECT_EQ(PlaceBundles(Cpus({1, 1, 1, 1}), "SPREAD", view_).nodes,
            (std::vector<NodeId>{self_, b_, c_, self_}));
}

TEST_F(BundlePlacementTest, StrictPackNeedsOneNodeWithRoomForAll) {
  Node(b_, 4, 1);
  const BundlePlacement busy = PlaceBundles(Cpus({2, 2}), "STRICT_PACK", view_);
  EXPECT_EQ(busy.kind, Kind::kNoRoomNow) << "b could hold it once free";
  EXPECT_TRUE(busy.nodes.empty());
  Node(b_, 4, 4);
  EXPECT_EQ(PlaceBundles(Cpus({2, 2}), "STRICT_PACK", view_).nodes,
            (std::vector<NodeId>{b_, b_}));
  const BundlePlacement never = PlaceBundles(Cpus({4, 2}), "STRICT_PACK", view_);
  EXPECT_EQ(never.kind, Kind::kInfeasible);
  EXPECT_NE(never.why.find("STRICT_PACK"), std::string::npos) << never.why;
}

TEST_F(BundlePlacementTest, StrictSpreadPutsEachBundleOnANodeOfItsOwn) {
  Node(b_, 1, 1);
  Node(c_, 1, 1);
  EXPECT_EQ(PlaceBundles(Cpus({1, 1, 1}), "STRICT_SPREAD", view_).nodes,
            (std::vector<NodeId>{self_, b_, c_}));
  Node(c_, 1, 0);
  EXPECT_EQ(PlaceBundles(Cpus({1, 1, 1}), "STRICT_SPREAD", view_).kind, Kind::kNoRoomNow);
  const BundlePlacement more = PlaceBundles(Cpus({1, 1, 1, 1}), "STRICT_SPREAD", view_);
  EXPECT_EQ(more.kind, Kind::kInfeasible) << "four bundles, three nodes";
  EXPECT_NE(more.why.find("3 nodes"), std::string::npos) << more.why;
}

TEST_F(BundlePlacementTest, ABundleLargerThanEveryNodeIsInfeasible) {
  Node(b_, 4, 4);
  const BundlePlacement placed = PlaceBundles(Cpus({8}), "PACK", view_);
  EXPECT_EQ(placed.kind, Kind::kInfeasible);
  EXPECT_NE(placed.why.find("CPU: 8"), std::string::npos) << placed.why;
}

// ---- bundles placed again around those that stay (their nodes: `holding`) ----

TEST_F(BundlePlacementTest, StrictSpreadPlacesAgainOnlyOnNodesHoldingNoneOfItsBundles) {
  Node(b_, 4, 4);
  Node(c_, 1, 1);
  EXPECT_EQ(PlaceBundles(Cpus({1}), "STRICT_SPREAD", view_, {self_, b_}).nodes,
            std::vector<NodeId>{c_});
  const BundlePlacement none = PlaceBundles(Cpus({1, 1}), "STRICT_SPREAD", view_, {self_, b_});
  EXPECT_EQ(none.kind, Kind::kInfeasible) << "two bundles, one node holding none";
  EXPECT_NE(none.why.find("besides those holding its other 2"), std::string::npos) << none.why;
}

TEST_F(BundlePlacementTest, SpreadPlacesAgainOnANewNodeBeforeDoublingUp) {
  Node(b_, 2, 2);
  Node(c_, 2, 2);
  EXPECT_EQ(PlaceBundles(Cpus({1}), "SPREAD", view_, {self_, b_}).nodes,
            std::vector<NodeId>{c_});
  EXPECT_EQ(PlaceBundles(Cpus({1}), "SPREAD", view_, {self_, b_, c_, c_}).nodes,
            std::vector<NodeId>{self_})
      << "every node holds some: the one holding fewest";
}

TEST_F(BundlePlacementTest, PackPlacesAgainNextToTheBundlesThatStay) {
  Node(b_, 2, 2);
  Node(c_, 4, 4);
  EXPECT_EQ(PlaceBundles(Cpus({1, 1}), "PACK", view_, {c_}).nodes,
            (std::vector<NodeId>{c_, c_}))
      << "not this node, though it comes first and has room";
  EXPECT_EQ(PlaceBundles(Cpus({3, 2}), "PACK", view_, {c_}).nodes,
            (std::vector<NodeId>{c_, self_}))
      << "as many as fit beside them, the rest where there is room";
}

TEST_F(BundlePlacementTest, StrictPackPlacesAgainOnlyOnItsNode) {
  Node(b_, 4, 4);
  Node(c_, 2, 1);
  EXPECT_EQ(PlaceBundles(Cpus({1}), "STRICT_PACK", view_, {c_}).nodes, std::vector<NodeId>{c_});
  EXPECT_EQ(PlaceBundles(Cpus({2}), "STRICT_PACK", view_, {c_}).kind, Kind::kNoRoomNow)
      << "b has room, but the group's other bundles are on c";
}

}  // namespace
}  // namespace flare
