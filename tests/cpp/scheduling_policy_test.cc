// Specification of the scheduling policy: local, another node or
// infeasible, from a demand, a strategy and a view of the cluster's nodes.
// No I/O.
#include "raylet/scheduling_policy.h"

#include <gtest/gtest.h>

namespace flare {
namespace {

using Kind = SchedulingStrategy::Kind;

ResourceSet Cpus(double amount) { return ResourceSet::FromMap({{"CPU", amount}}); }

class SchedulingPolicyTest : public ::testing::Test {
 protected:
  SchedulingDecision Schedule(const ResourceSet& demand, SchedulingStrategy strategy = {}) {
    return policy_.Schedule(demand, strategy, view_);
  }
  // Adds a node with `total` CPUs, `available` of them free.
  NodeId AddNode(double total, double available) {
    const NodeId id = NodeId::FromRandom();
    view_.UpdateNode(id, {Cpus(total), Cpus(available)});
    return id;
  }

  ResourceSet local_total_ = Cpus(2);
  ResourceSet local_available_ = Cpus(2);
  ClusterResourceView view_{NodeId::FromRandom(), local_total_, local_available_};
  ClusterSchedulingPolicy policy_;
};

TEST_F(SchedulingPolicyTest, ADemandTheOnlyNodeCanHoldRunsLocallyEvenWhenItIsBusy) {
  EXPECT_EQ(Schedule(Cpus(1)), SchedulingDecision::Local());
  local_available_ = Cpus(0);
  EXPECT_EQ(Schedule(Cpus(2)), SchedulingDecision::Local()) << "it queues here until it fits";
}

TEST_F(SchedulingPolicyTest, ADemandNoNodeCanEverHoldIsInfeasible) {
  EXPECT_TRUE(Schedule(Cpus(3)).is_infeasible());
  EXPECT_TRUE(Schedule(ResourceSet::FromMap({{"GPU", 1}})).is_infeasible());
  AddNode(2, 2);
  EXPECT_TRUE(Schedule(Cpus(3)).is_infeasible()) << "no node of two has 3 CPUs";
}

TEST_F(SchedulingPolicyTest, TheLargestNodeIsDescribedByWhatItHasOfItsOwn) {
  const std::string group = "CPU_group_00000001e6579b1c5bd7d42512000000";
  view_.UpdateNode(NodeId::FromRandom(),
                   {ResourceSet::FromMap({{"CPU", 4}, {"gadget", 0}, {group, 2}}), Cpus(0)});
  EXPECT_EQ(view_.LargestNode().DebugString(), "{CPU: 4}")
      << "its placement groups' names and what it has none of are left out";
}

TEST_F(SchedulingPolicyTest, TheLocalViewIsLive) {
  local_total_ = Cpus(4);  // e.g. a placement group's bundle offered on top
  EXPECT_EQ(Schedule(Cpus(3)), SchedulingDecision::Local());
}

TEST_F(SchedulingPolicyTest, ABusyNodeSpillsToAnotherNodeWithRoomNow) {
  const NodeId other = AddNode(4, 4);
  EXPECT_EQ(Schedule(Cpus(1)), SchedulingDecision::Local()) << "this node has room: it stays";
  local_available_ = Cpus(0);
  EXPECT_EQ(Schedule(Cpus(1)), SchedulingDecision::Remote(other));
}

TEST_F(SchedulingPolicyTest, AmongNodesWithRoomTheLeastLoadedIsChosen) {
  local_available_ = Cpus(0);
  AddNode(4, 1);
  const NodeId roomy = AddNode(4, 3);
  EXPECT_EQ(Schedule(Cpus(1)), SchedulingDecision::Remote(roomy));
}

TEST_F(SchedulingPolicyTest, WhenNoNodeHasRoomNowTheTaskQueuesLocallyIfItCouldEverFitHere) {
  local_available_ = Cpus(0);
  AddNode(4, 0);
  EXPECT_EQ(Schedule(Cpus(1)), SchedulingDecision::Local());
}

TEST_F(SchedulingPolicyTest, ADemandOnlyAnotherNodeCanHoldGoesThereEvenWhenItIsBusy) {
  const NodeId big = AddNode(8, 0);
  EXPECT_EQ(Schedule(Cpus(6)), SchedulingDecision::Remote(big));
}

TEST_F(SchedulingPolicyTest, ARemovedNodeIsNoLongerChosen) {
  const NodeId big = AddNode(8, 8);
  view_.RemoveNode(big);
  EXPECT_TRUE(Schedule(Cpus(6)).is_infeasible());
  EXPECT_EQ(view_.num_nodes(), 1u);
}

TEST_F(SchedulingPolicyTest, SpreadTasksTakeTheNodesWithRoomInTurn) {
  const NodeId other = AddNode(2, 2);
  SchedulingStrategy spread{Kind::kSpread};
  EXPECT_EQ(Schedule(Cpus(1), spread), SchedulingDecision::Local());
  EXPECT_EQ(Schedule(Cpus(1), spread), SchedulingDecision::Remote(other));
  EXPECT_EQ(Schedule(Cpus(1), spread), SchedulingDecision::Local());
  local_available_ = Cpus(0);
  EXPECT_EQ(Schedule(Cpus(1), spread), SchedulingDecision::Remote(other))
      << "a node without room now takes no turn";
}

TEST_F(SchedulingPolicyTest, NodeAffinityPicksTheNodeAskedForEvenWhenItIsBusy) {
  const NodeId other = AddNode(2, 0);
  SchedulingStrategy affinity{Kind::kNodeAffinity, other};
  EXPECT_EQ(Schedule(Cpus(1), affinity), SchedulingDecision::Remote(other));
  affinity.node = view_.local_id();
  EXPECT_EQ(Schedule(Cpus(1), affinity), SchedulingDecision::Local());
}

TEST_F(SchedulingPolicyTest, HardNodeAffinityToANodeThatCannotHoldTheTaskIsInfeasible) {
  const NodeId small = AddNode(1, 1);
  SchedulingStrategy hard{Kind::kNodeAffinity, small, /*soft=*/false};
  EXPECT_TRUE(Schedule(Cpus(2), hard).is_infeasible());
  hard.node = NodeId::FromRandom();  // not in the view (dead, or never was)
  EXPECT_TRUE(Schedule(Cpus(1), hard).is_infeasible());
}

TEST_F(SchedulingPolicyTest, SoftNodeAffinityFallsBackToTheDefaultRule) {
  const NodeId small = AddNode(1, 1);
  SchedulingStrategy soft{Kind::kNodeAffinity, small, /*soft=*/true};
  EXPECT_EQ(Schedule(Cpus(2), soft), SchedulingDecision::Local());
  soft.node = NodeId::FromRandom();
  EXPECT_EQ(Schedule(Cpus(1), soft), SchedulingDecision::Local());
}

}  // namespace
}  // namespace flare
