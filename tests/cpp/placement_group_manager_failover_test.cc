// Specification of placement groups whose bundles' node leaves: the group is
// RESCHEDULING, the bundles that stay stay, only the lost ones are placed
// again (by the group's strategy, around those that stay) and reserved in a
// round of their own, all or nothing, tried again on each new view until
// there is room; tasks needing a lost bundle wait meanwhile, on the creator
// and on the holders, and every holder takes the new map. No I/O.
#include <gtest/gtest.h>

#include "placement_group_manager_harness.h"

namespace flare {
namespace {


class PlacementGroupFailoverTest : public testing::PlacementGroupManagerHarness {
 protected:
  // `node` leaves the cluster.
  void Leaves(const NodeId& node) {
    view_.RemoveNode(node);
    groups_.OnNodeGone(node);
  }
  // The bundle indexes of the last prepare sent to `node`.
  std::vector<uint32_t> AskedOf(const NodeId& node) {
    const auto prepares = peers_.Of(node, kPrepare);
    if (prepares.empty()) return {};
    const auto& indexes = prepares.back().prepare_bundles().bundle_indexes();
    return {indexes.begin(), indexes.end()};
  }
  std::vector<std::string> BundleNodes(const rpc::CreatePlacementGroup& request) {
    const rpc::PlacementGroupInfo record = Record(request);
    return {record.bundle_node_ids().begin(), record.bundle_node_ids().end()};
  }
  // A STRICT_SPREAD group of three one-CPU bundles: here, on b and on c.
  rpc::CreatePlacementGroup ReservedHereOnBAndOnC() {
    Report(b_, 1);
    Report(c_, 1);
    const auto request = Request({{{"CPU", 1}}, {{"CPU", 1}}, {{"CPU", 1}}}, "STRICT_SPREAD");
    groups_.Create(kDriver, request);
    ReservePending();
    Answers(b_, true);
    Answers(c_, true);
    return request;
  }
  // A commit of `group` (bundles of 1 and 3 CPUs) naming each bundle's node.
  static rpc::CommitBundles CommitOf(const PlacementGroupId& group, uint64_t round,
                                     const std::vector<NodeId>& nodes) {
    rpc::CommitBundles commit;
    commit.set_pg_id(group.Binary());
    commit.set_round(round);
    for (const NodeId& node : nodes) commit.add_bundle_node_ids(node.Binary());
    ResourceSet::FromMap({{"CPU", 1}}).ToProto(commit.add_bundles());
    ResourceSet::FromMap({{"CPU", 3}}).ToProto(commit.add_bundles());
    return commit;
  }
  // This node holds bundle 1 (3 CPUs) of a group c created, bundle 0 on b.
  PlacementGroupId HeldForC() {
    const PlacementGroupId group = PlacementGroupId::FromRandom();
    EXPECT_TRUE(groups_.OnPrepare(kCreatorPeer, PrepareOf(group, 5, 1, 3), c_).ok());
    groups_.OnCommit(CommitOf(group, 5, {b_, self_}));
    return group;
  }
};

// ---- the creator ------------------------------------------------------------------------

TEST_F(PlacementGroupFailoverTest, ALostBundleIsPlacedAgainAloneAndTheGroupIsCreatedAgain) {
  const auto request = ReservedHereAndOnB();
  const PlacementGroupId group = IdOf(request);
  Report(c_, 1);
  Leaves(b_);
  EXPECT_EQ(State(request), rpc::PG_RESCHEDULING);
  EXPECT_TRUE(IsReady(request)) << "ready() stays ready while it is placed again";
  EXPECT_EQ(BundleNodes(request), (std::vector<std::string>{self_.Binary(), b_.Binary()}))
      << "the record keeps the old map until the new one is committed";

  EXPECT_TRUE(ReservePending().empty());
  EXPECT_EQ(AskedOf(c_), std::vector<uint32_t>{1}) << "only the lost bundle is asked for";
  EXPECT_EQ(scheduler_.available().Get("CPU"), 3) << "bundle 0 stays here, untouched";
  EXPECT_EQ(State(request), rpc::PG_RESCHEDULING) << "nothing is committed before c agrees";
  Answers(c_, true);

  EXPECT_EQ(State(request), rpc::PG_CREATED);
  EXPECT_EQ(BundleNodes(request), (std::vector<std::string>{self_.Binary(), c_.Binary()}));
  ASSERT_EQ(peers_.Of(c_, kCommit).size(), 1u);
  const rpc::CommitBundles commit = peers_.Of(c_, kCommit)[0].commit_bundles();
  ASSERT_EQ(commit.bundle_node_ids_size(), 2);
  EXPECT_EQ(commit.bundle_node_ids(1), c_.Binary());
  EXPECT_TRUE(peers_.Of(b_, kCommit).size() == 1u) << "nothing more is sent to the node that left";
  EXPECT_EQ(groups_.NodesFor(Demand("CPU", group, 1, 1)), std::vector<NodeId>{c_});
  EXPECT_EQ(scheduler_.available().Get(GroupResourceName("CPU", group.Hex(), 0)), 1);
  EXPECT_FALSE(groups_.IsRescheduling(group));
  EXPECT_TRUE(ReservePending().empty());
  EXPECT_FALSE(groups_.has_pending());
}

TEST_F(PlacementGroupFailoverTest, ATaskNeedingTheLostBundleWaitsUntilItIsPlacedAgain) {
  const auto request = ReservedHereAndOnB();
  const PlacementGroupId group = IdOf(request);
  Leaves(b_);
  const TaskId needs_lost = TaskId::FromRandom();
  EXPECT_TRUE(groups_.Park(needs_lost, Demand("CPU", group, 1, 1)));
  EXPECT_TRUE(groups_.IsWaiting(group, needs_lost));
  EXPECT_FALSE(groups_.Park(TaskId::FromRandom(), Demand("CPU", group, 0, 1)))
      << "the bundle that stayed serves at once";
  EXPECT_FALSE(groups_.Park(TaskId::FromRandom(), Demand("CPU", group, -1, 1)))
      << "any bundle: the one here holds it";
  EXPECT_TRUE(ReservePending().empty()) << "no node has room: it still waits";

  Report(c_, 1);  // a node joins
  groups_.OnViewChanged();
  EXPECT_TRUE(ReservePending().empty()) << "released once reserved, not before";
  Answers(c_, true);
  EXPECT_EQ(ReservePending(), std::vector<TaskId>{needs_lost});
  EXPECT_FALSE(groups_.Park(TaskId::FromRandom(), Demand("CPU", group, 1, 1)));
}

TEST_F(PlacementGroupFailoverTest, StrictSpreadPlacesALostBundleOnlyOnANodeHoldingNoneOfIt) {
  const auto request = ReservedHereOnBAndOnC();
  ASSERT_EQ(State(request), rpc::PG_CREATED);
  Report(b_, 4);  // b has room for another bundle, but holds one
  Leaves(c_);
  ReservePending();
  EXPECT_EQ(peers_.Of(b_, kPrepare).size(), 1u) << "b already holds one of its bundles";
  EXPECT_EQ(scheduler_.available().Get("CPU"), 3) << "nor does this node take a second";
  EXPECT_EQ(State(request), rpc::PG_RESCHEDULING);

  const NodeId d = NodeId::FromRandom();
  Report(d, 1);  // a node holding none of it joins
  groups_.OnViewChanged();
  ReservePending();
  EXPECT_EQ(AskedOf(d), std::vector<uint32_t>{2});
  Answers(d, true);
  EXPECT_EQ(BundleNodes(request),
            (std::vector<std::string>{self_.Binary(), b_.Binary(), d.Binary()}));
}

TEST_F(PlacementGroupFailoverTest, StrictPackPlacesAllItsBundlesAgainTogether) {
  Report(b_, 4);
  scheduler_.Acquire(ResourceSet::FromMap({{"CPU", 4}}));  // no room here
  const auto request = Request({{{"CPU", 1}}, {{"CPU", 2}}}, "STRICT_PACK");
  groups_.Create(kDriver, request);
  ReservePending();
  Answers(b_, true);
  ASSERT_EQ(BundleNodes(request), (std::vector<std::string>{b_.Binary(), b_.Binary()}));
  Report(c_, 4);
  Leaves(b_);
  ReservePending();
  EXPECT_EQ(AskedOf(c_), (std::vector<uint32_t>{0, 1}));
  Answers(c_, true);
  EXPECT_EQ(State(request), rpc::PG_CREATED);
  EXPECT_EQ(BundleNodes(request), (std::vector<std::string>{c_.Binary(), c_.Binary()}));
}

TEST_F(PlacementGroupFailoverTest, PackPrefersTheNodeOfTheBundlesThatStay) {
  Report(b_, 2);
  Report(c_, 4);
  scheduler_.Acquire(ResourceSet::FromMap({{"CPU", 4}}));
  const auto request = Request({{{"CPU", 2}}, {{"CPU", 2}}, {{"CPU", 2}}}, "PACK");
  groups_.Create(kDriver, request);
  ReservePending();
  Answers(b_, true);
  Answers(c_, true);
  ASSERT_EQ(BundleNodes(request),
            (std::vector<std::string>{b_.Binary(), c_.Binary(), c_.Binary()}));
  const NodeId d = NodeId::FromRandom();  // a fresh node, placed before c by nothing
  Report(d, 8);
  Report(c_, 6);  // c has room for the lost bundle too
  Leaves(b_);
  ReservePending();
  EXPECT_EQ(AskedOf(c_), std::vector<uint32_t>{0}) << "next to the bundles that stay";
  EXPECT_TRUE(peers_.Of(d, kPrepare).empty());
}

TEST_F(PlacementGroupFailoverTest, ANewRoundForLostBundlesIsAllOrNothingAndTriedOnTheNextView) {
  const auto request = ReservedHereOnBAndOnC();
  const NodeId d = NodeId::FromRandom();
  const NodeId e = NodeId::FromRandom();
  Report(d, 1);
  Report(e, 1);
  Leaves(b_);
  Leaves(c_);
  ReservePending();
  ASSERT_EQ(AskedOf(d).size() + AskedOf(e).size(), 2u) << "both lost bundles in one round";
  Answers(d, true);
  Answers(e, false);  // e's report was stale
  EXPECT_EQ(peers_.Of(d, kReturn).size(), 1u) << "d gives back what it prepared";
  EXPECT_TRUE(peers_.Of(d, kCommit).empty());
  EXPECT_EQ(State(request), rpc::PG_RESCHEDULING);
  EXPECT_EQ(scheduler_.available().Get("CPU"), 3) << "the bundle here stays";

  ReservePending();
  EXPECT_EQ(peers_.Of(d, kPrepare).size(), 1u) << "the same stale view is not tried again";
  Report(d, 1);
  Report(e, 1);
  groups_.OnViewChanged();
  ReservePending();
  Answers(d, true);
  Answers(e, true);
  EXPECT_EQ(State(request), rpc::PG_CREATED);
}

TEST_F(PlacementGroupFailoverTest, AGroupPlacedAgainGoesBeforeGroupsCreatedLater) {
  const auto request = ReservedHereAndOnB();
  const auto later = Request({{{"CPU", 3}}});
  groups_.Create(kDriver, later);
  scheduler_.Acquire(ResourceSet::FromMap({{"CPU", 3}}));  // tasks hold the rest here
  ReservePending();
  ASSERT_EQ(State(later), rpc::PG_PENDING);
  Leaves(b_);
  scheduler_.Release(ResourceSet::FromMap({{"CPU", 3}}));
  Report(c_, 1);
  groups_.OnViewChanged();
  ReservePending();
  EXPECT_EQ(AskedOf(c_), std::vector<uint32_t>{1});
  EXPECT_EQ(State(later), rpc::PG_PENDING) << "it waits for the group placed again";
  Answers(c_, true);
  ReservePending();
  EXPECT_EQ(State(request), rpc::PG_CREATED);
  EXPECT_EQ(State(later), rpc::PG_CREATED);
}

TEST_F(PlacementGroupFailoverTest, ANodeLeavingDuringTheRoundForLostBundlesStartsAnother) {
  const auto request = ReservedHereAndOnB();
  Report(c_, 1);
  Leaves(b_);
  ReservePending();
  Leaves(c_);  // before it answers
  EXPECT_EQ(State(request), rpc::PG_RESCHEDULING);
  const NodeId d = NodeId::FromRandom();
  Report(d, 1);
  groups_.OnViewChanged();
  ReservePending();
  EXPECT_EQ(AskedOf(d), std::vector<uint32_t>{1});
  Answers(d, true);
  EXPECT_EQ(BundleNodes(request), (std::vector<std::string>{self_.Binary(), d.Binary()}));
}

TEST_F(PlacementGroupFailoverTest, RemovingAGroupBeingPlacedAgainReturnsEveryBundle) {
  const auto request = ReservedHereAndOnB();
  Report(c_, 1);
  Leaves(b_);
  ReservePending();
  groups_.Remove(IdOf(request));
  ASSERT_EQ(peers_.Of(c_, kReturn).size(), 1u) << "what c prepared goes too";
  EXPECT_EQ(peers_.Of(c_, kReturn)[0].return_bundles().round(), 0u);
  EXPECT_EQ(scheduler_.available().Get("CPU"), 4);
  EXPECT_EQ(State(request), rpc::PG_REMOVED);
  EXPECT_TRUE(ReservePending().empty());
  EXPECT_FALSE(groups_.has_pending());
}

// ---- a node holding bundles of another node's group ------------------------------------

TEST_F(PlacementGroupFailoverTest, AHolderKeepsItsBundlesAndRoutesByTheNewMap) {
  const PlacementGroupId group = HeldForC();
  Leaves(b_);
  const TaskId needs_lost = TaskId::FromRandom();
  EXPECT_TRUE(groups_.Park(needs_lost, Demand("CPU", group, 0, 1)))
      << "its creator places the lost bundle again: the task waits for it";
  EXPECT_FALSE(groups_.Park(TaskId::FromRandom(), Demand("CPU", group, 1, 1)));
  EXPECT_EQ(scheduler_.available().Get(GroupResourceName("CPU", group.Hex(), 1)), 3);

  groups_.OnCommit(CommitOf(group, 9, {c_, self_}));  // another node's round
  EXPECT_EQ(groups_.NodesFor(Demand("CPU", group, 0, 1)), std::vector<NodeId>{c_});
  EXPECT_EQ(scheduler_.available().Get(GroupResourceName("CPU", group.Hex(), 1)), 3)
      << "what this node holds is as it was";
  EXPECT_EQ(scheduler_.available().Get("CPU"), 1);
  EXPECT_EQ(ReservePending(), std::vector<TaskId>{needs_lost});
}

TEST_F(PlacementGroupFailoverTest, AHolderAskedForALostBundleKeepsThoseItHadIfTheRoundFails) {
  const PlacementGroupId group = HeldForC();
  Leaves(b_);
  ASSERT_TRUE(groups_.OnPrepare(kCreatorPeer, PrepareOf(group, 9, 0, 1), c_).ok());
  EXPECT_EQ(scheduler_.available().Get("CPU"), 0);
  groups_.ReturnPrepared(group, 9);
  EXPECT_EQ(scheduler_.available().Get("CPU"), 1) << "only the bundle of the round went back";
  EXPECT_TRUE(groups_.Contains(group));
  EXPECT_EQ(scheduler_.available().Get(GroupResourceName("CPU", group.Hex(), 1)), 3);

  ASSERT_TRUE(groups_.OnPrepare(kCreatorPeer, PrepareOf(group, 10, 0, 1), c_).ok());
  groups_.OnCommit(CommitOf(group, 10, {self_, self_}));
  EXPECT_EQ(scheduler_.available().Get(GroupResourceName("CPU", group.Hex(), 0)), 1);
  EXPECT_EQ(scheduler_.available().Get(GroupResourceName("CPU", group.Hex(), 1)), 3);
  EXPECT_EQ(scheduler_.available().Get(GroupResourceName("CPU", group.Hex())), 4);
  groups_.Remove(group);
  EXPECT_EQ(scheduler_.available().Get("CPU"), 4);
}

TEST_F(PlacementGroupFailoverTest, ANewHolderHoldsATaskSentOnTheNewMapUntilItsCommitComes) {
  // c placed bundle 1 here again; b, a holder of the group too, heard of the
  // new map first and sent a task on to this node.
  const PlacementGroupId group = PlacementGroupId::FromRandom();
  ASSERT_TRUE(groups_.OnPrepare(kCreatorPeer, PrepareOf(group, 9, 1, 3), c_).ok());
  const TaskId early = TaskId::FromRandom();
  EXPECT_TRUE(groups_.Park(early, Demand("CPU", group, 1, 1))) << "not spilled back";
  groups_.OnCommit(CommitOf(group, 9, {b_, self_}));
  EXPECT_EQ(ReservePending(), std::vector<TaskId>{early});

  const PlacementGroupId refused = PlacementGroupId::FromRandom();
  ASSERT_TRUE(groups_.OnPrepare(kCreatorPeer, PrepareOf(refused, 10, 0, 1), c_).ok());
  const TaskId never = TaskId::FromRandom();
  ASSERT_TRUE(groups_.Park(never, Demand("CPU", refused, 0, 1)));
  groups_.ReturnPrepared(refused, 10);
  EXPECT_EQ(ReservePending(), std::vector<TaskId>{never}) << "placed (and spilled back) now";
}

TEST_F(PlacementGroupFailoverTest, AHolderStopsWaitingWhenTheCreatorLeavesToo) {
  const PlacementGroupId group = HeldForC();
  Leaves(b_);
  const TaskId needs_lost = TaskId::FromRandom();
  ASSERT_TRUE(groups_.Park(needs_lost, Demand("CPU", group, 0, 1)));
  Leaves(c_);
  EXPECT_EQ(ReservePending(), std::vector<TaskId>{needs_lost})
      << "no one places the bundle now: the task is placed (and fails as not fitting)";
  EXPECT_FALSE(groups_.Park(TaskId::FromRandom(), Demand("CPU", group, 0, 1)));
}

}  // namespace
}  // namespace flare
