// Specification of placement groups: reservation in creation order, the
// group's own resource names, tasks that wait for their group, groups the
// cluster cannot hold (yet), removal, and across nodes the prepare/commit
// round of the creator and the bundles a node holds for another. Other
// nodes are entries of the cluster view and a RecordingPeers. No I/O.
#include "raylet/placement_group_manager.h"

#include <gtest/gtest.h>

#include "placement_group_manager_harness.h"

namespace flare {
namespace {

using PlacementGroupManagerTest = testing::PlacementGroupManagerHarness;

TEST_F(PlacementGroupManagerTest, AReservedGroupOffersItsBundlesUnderItsOwnNames) {
  const auto request = Request({{{"CPU", 1}}, {{"CPU", 2}}});
  groups_.Create(kDriver, request);
  EXPECT_EQ(State(request), rpc::PG_PENDING);
  EXPECT_TRUE(ReservePending().empty());
  EXPECT_EQ(State(request), rpc::PG_CREATED);
  EXPECT_TRUE(objects_.IsReady(ObjectId::FromBinary(request.ready_id())));
  EXPECT_EQ(ReadyObject(request)->inline_data, "ready");
  const std::string hex = PlacementGroupId::FromBinary(request.pg_id()).Hex();
  EXPECT_EQ(scheduler_.available().Get("CPU"), 1);
  EXPECT_EQ(scheduler_.available().Get("CPU_group_" + hex), 3);
  EXPECT_EQ(scheduler_.available().Get("CPU_group_1_" + hex), 2);
}

TEST_F(PlacementGroupManagerTest, GroupsAreReservedInCreationOrder) {
  const auto big = Request({{{"CPU", 3}}});
  const auto small = Request({{{"CPU", 1}}});
  scheduler_.Acquire(ResourceSet::FromMap({{"CPU", 2}}));  // tasks hold 2 of 4
  groups_.Create(kDriver, big);
  groups_.Create(kDriver, small);
  ReservePending();
  EXPECT_EQ(State(big), rpc::PG_PENDING);
  EXPECT_EQ(State(small), rpc::PG_PENDING) << "it fits, but the older group goes first";
  scheduler_.Release(ResourceSet::FromMap({{"CPU", 2}}));
  ReservePending();
  EXPECT_EQ(State(big), rpc::PG_CREATED);
  EXPECT_EQ(State(small), rpc::PG_CREATED);
}

TEST_F(PlacementGroupManagerTest, ATaskForAGroupNotYetReservedWaitsAndIsReleasedWithIt) {
  const auto request = Request({{{"CPU", 2}}});
  scheduler_.Acquire(ResourceSet::FromMap({{"CPU", 4}}));
  groups_.Create(kDriver, request);
  ReservePending();
  const PlacementGroupId group_id = PlacementGroupId::FromBinary(request.pg_id());
  const ResourceSet demand = ResourceSet::FromMap({{"CPU_group_" + group_id.Hex(), 1}});
  const TaskId task = TaskId::FromRandom();
  EXPECT_EQ(groups_.GroupOf(demand), group_id);
  EXPECT_TRUE(groups_.Park(task, demand));
  EXPECT_TRUE(groups_.IsWaiting(group_id, task));
  scheduler_.Release(ResourceSet::FromMap({{"CPU", 4}}));
  EXPECT_EQ(ReservePending(), std::vector<TaskId>{task});
  EXPECT_FALSE(groups_.Park(TaskId::FromRandom(), demand)) << "reserved: queue at once";
}

TEST_F(PlacementGroupManagerTest, AGroupTheClusterCannotHoldWarnsOnceAndStaysPending) {
  const auto too_big = Request({{{"CPU", 8}}});
  const auto spread = Request({{{"CPU", 1}}, {{"CPU", 1}}}, "STRICT_SPREAD");
  groups_.Create(kDriver, too_big);
  groups_.Create(kDriver, spread);
  const auto small = Request({{{"CPU", 1}}});
  groups_.Create(kDriver, small);
  ReservePending();
  EXPECT_EQ(State(small), rpc::PG_CREATED) << "groups waiting for nodes hold back no other";
  EXPECT_TRUE(Record(too_big).infeasible()) << "the table says so at once";
  const std::vector<std::string> warnings = WarningsToTheDriver();
  ASSERT_EQ(warnings.size(), 2u) << "one warning per group, at once";
  EXPECT_NE(warnings[0].find("{CPU: 8} fits no node"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("the largest node has {CPU: 4}"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[1].find("STRICT_SPREAD"), std::string::npos) << warnings[1];

  for (int view = 0; view < 3; ++view) {  // views come and go, no node that fits joins
    groups_.OnViewChanged();
    ReservePending();
  }
  EXPECT_FALSE(IsReady(too_big)) << "it waits for nodes, however long";
  EXPECT_FALSE(IsReady(spread));
  EXPECT_EQ(State(too_big), rpc::PG_PENDING);
  EXPECT_EQ(State(spread), rpc::PG_PENDING);
  EXPECT_TRUE(WarningsToTheDriver().empty()) << "warned once, not on every view";
  EXPECT_TRUE(groups_.has_pending());
}

TEST_F(PlacementGroupManagerTest, ATaskInAGroupTheClusterCannotHoldWaitsWithIt) {
  const auto request = Request({{{"CPU", 8}}});
  groups_.Create(kDriver, request);
  const TaskId task = TaskId::FromRandom();
  EXPECT_TRUE(groups_.Park(task, Demand("CPU", IdOf(request), 0, 1)));
  EXPECT_TRUE(ReservePending().empty());
  Report(b_, 8);  // a node that can hold it joins
  groups_.OnViewChanged();
  EXPECT_TRUE(ReservePending().empty()) << "released once reserved, not before";
  Answers(b_, true);
  EXPECT_EQ(ReservePending(), std::vector<TaskId>{task});
  EXPECT_TRUE(IsReady(request));
}

TEST_F(PlacementGroupManagerTest, RemovingAGroupGivesItsResourcesBackAndSaysRemoved) {
  const auto request = Request({{{"CPU", 2}}});
  groups_.Create(kDriver, request);
  ReservePending();
  const PlacementGroupId group_id = PlacementGroupId::FromBinary(request.pg_id());
  groups_.Remove(group_id);
  EXPECT_EQ(scheduler_.available().Get("CPU"), 4);
  EXPECT_EQ(scheduler_.total().Get("CPU_group_" + group_id.Hex()), 0);
  EXPECT_EQ(State(request), rpc::PG_REMOVED);
  EXPECT_FALSE(groups_.Contains(group_id));
}

TEST_F(PlacementGroupManagerTest, ANamedGroupKeepsTheNameItsCreatorTookUntilRemoved) {
  auto request = Request({{{"CPU", 1}}});
  request.set_name("workers");
  rpc::PlacementGroupInfo registered;  // as util/placement_group.py registers it first
  registered.set_pg_id(request.pg_id());
  registered.set_name("workers");
  registered.set_namespace_("ns");
  *registered.mutable_bundles() = request.bundles();
  ASSERT_TRUE(gcs_.AddPlacementGroup(registered).ok());
  groups_.Create(kDriver, request);
  ReservePending();
  auto named = gcs_.LookupNamedPlacementGroup("ns", "workers");
  ASSERT_TRUE(named.has_value()) << "the node's record of the group is the registered one";
  EXPECT_EQ(named->state(), rpc::PG_CREATED);
  groups_.Remove(PlacementGroupId::FromBinary(request.pg_id()));
  EXPECT_FALSE(gcs_.LookupNamedPlacementGroup("ns", "workers").has_value())
      << "removal frees the name";
}

TEST_F(PlacementGroupManagerTest, RemovingAPendingGroupCancelsItsReadyObject) {
  const auto request = Request({{{"CPU", 2}}});
  scheduler_.Acquire(ResourceSet::FromMap({{"CPU", 4}}));
  groups_.Create(kDriver, request);
  groups_.Remove(PlacementGroupId::FromBinary(request.pg_id()));
  EXPECT_EQ(ReadyObject(request)->error, rpc::TASK_CANCELLED);
  EXPECT_TRUE(ReservePending().empty());
}

TEST_F(PlacementGroupManagerTest, RemovingAGroupTheClusterCannotHoldEndsItsWait) {
  const auto request = Request({{{"CPU", 8}}});
  groups_.Create(kDriver, request);
  ReservePending();
  groups_.Remove(IdOf(request));
  EXPECT_EQ(ReadyObject(request)->error, rpc::TASK_CANCELLED) << "ready() raises, no hang";
  EXPECT_EQ(State(request), rpc::PG_REMOVED);
  Report(b_, 8);  // a node that could have held it joins afterwards
  groups_.OnViewChanged();
  ReservePending();
  EXPECT_TRUE(peers_.Of(b_, kPrepare).empty()) << "a removed group is never reserved";
  EXPECT_FALSE(groups_.has_pending());
}

TEST_F(PlacementGroupManagerTest, ADriversGroupsGoWithItButNotDetachedOnes) {
  auto mine = Request({{{"CPU", 1}}});
  auto detached = Request({{{"CPU", 1}}});
  detached.set_detached(true);
  groups_.Create(kDriver, mine);
  groups_.Create(kDriver, detached);
  groups_.Create(kDriver + 1, Request({{{"CPU", 1}}}));
  EXPECT_EQ(groups_.OwnedBy(kDriver), std::vector<PlacementGroupId>{PlacementGroupId::FromBinary(mine.pg_id())});
}

// ---- across nodes: the creator ----------------------------------------------------------

TEST_F(PlacementGroupManagerTest, AStrictSpreadGroupIsPreparedOnEachNodeAndCommittedWhenAllAgree) {
  Report(b_, 1);
  Report(c_, 1);
  const auto request = Request({{{"CPU", 1}}, {{"CPU", 1}}, {{"CPU", 1}}}, "STRICT_SPREAD");
  const PlacementGroupId group = IdOf(request);
  groups_.Create(kDriver, request);
  ReservePending();
  EXPECT_EQ(scheduler_.available().Get("CPU"), 3) << "bundle 0 is prepared here directly";
  ASSERT_EQ(peers_.Of(b_, kPrepare).size(), 1u);
  EXPECT_EQ(peers_.Of(b_, kPrepare)[0].prepare_bundles().bundle_indexes(0), 1u);
  EXPECT_EQ(peers_.Of(c_, kPrepare)[0].prepare_bundles().bundle_indexes(0), 2u);
  EXPECT_EQ(view_.remote_nodes().at(b_).available.Get("CPU"), 0) << "taken until b reports";

  Answers(b_, true);
  EXPECT_TRUE(peers_.Of(b_, kCommit).empty()) << "nothing is committed before every node agrees";
  EXPECT_EQ(State(request), rpc::PG_PENDING);
  Answers(c_, true);

  ASSERT_EQ(peers_.Of(b_, kCommit).size(), 1u);
  ASSERT_EQ(peers_.Of(c_, kCommit).size(), 1u);
  const rpc::CommitBundles& commit = peers_.Of(c_, kCommit)[0].commit_bundles();
  EXPECT_EQ(commit.bundle_node_ids_size(), 3) << "every holder learns where each bundle is";
  EXPECT_EQ(commit.bundles_size(), 3);
  const rpc::PlacementGroupInfo record = Record(request);
  EXPECT_EQ(record.state(), rpc::PG_CREATED);
  ASSERT_EQ(record.bundle_node_ids_size(), 3);
  EXPECT_EQ(record.bundle_node_ids(0), self_.Binary());
  EXPECT_EQ(record.bundle_node_ids(1), b_.Binary());
  EXPECT_EQ(record.bundle_node_ids(2), c_.Binary());
  EXPECT_TRUE(IsReady(request));
  EXPECT_EQ(scheduler_.available().Get(GroupResourceName("CPU", group.Hex(), 0)), 1);
  EXPECT_EQ(scheduler_.available().Get(GroupResourceName("CPU", group.Hex(), 1)), 0)
      << "only this node's bundle is offered here";
  EXPECT_EQ(groups_.NodesFor(Demand("CPU", group, 1, 1)), std::vector<NodeId>{b_});
  EXPECT_EQ(groups_.NodesFor(Demand("CPU", group, -1, 1)),
            (std::vector<NodeId>{self_, b_, c_}))
      << "any bundle: this node first";
  EXPECT_EQ(groups_.NodesFor(Demand("CPU", group, 1, 2)), std::vector<NodeId>{})
      << "no bundle could hold it";
}

TEST_F(PlacementGroupManagerTest, ARefusalReturnsEveryPreparedBundleAndTheGroupTriesOnTheNextView) {
  Report(b_, 1);
  Report(c_, 1);
  const auto request = Request({{{"CPU", 1}}, {{"CPU", 1}}, {{"CPU", 1}}}, "STRICT_SPREAD");
  const auto later = Request({{{"CPU", 1}}});
  groups_.Create(kDriver, request);
  groups_.Create(kDriver, later);
  ReservePending();
  Answers(b_, true);
  Answers(c_, false);  // c's report was stale

  EXPECT_EQ(scheduler_.available().Get("CPU"), 4) << "this node's bundle went back";
  ASSERT_EQ(peers_.Of(b_, kReturn).size(), 1u) << "b gives its prepared bundle back";
  EXPECT_EQ(peers_.Of(b_, kReturn)[0].return_bundles().round(),
            peers_.Of(b_, kPrepare)[0].prepare_bundles().round());
  EXPECT_TRUE(peers_.Of(b_, kCommit).empty());
  EXPECT_EQ(State(request), rpc::PG_PENDING);
  EXPECT_FALSE(IsReady(request));

  ReservePending();
  EXPECT_EQ(peers_.Of(b_, kPrepare).size(), 1u) << "the same stale view is not tried again";
  EXPECT_EQ(State(later), rpc::PG_PENDING) << "a later group waits its turn";

  Report(b_, 1);
  Report(c_, 1);
  groups_.OnViewChanged();
  ReservePending();
  ASSERT_EQ(peers_.Of(c_, kPrepare).size(), 2u);
  EXPECT_GT(peers_.Of(c_, kPrepare)[1].prepare_bundles().round(),
            peers_.Of(c_, kPrepare)[0].prepare_bundles().round());
  Answers(b_, true);
  Answers(c_, true);
  EXPECT_EQ(State(request), rpc::PG_CREATED);
  ReservePending();
  EXPECT_EQ(State(later), rpc::PG_CREATED);
}

TEST_F(PlacementGroupManagerTest, AGroupNeedingMoreNodesWaitsForThemToJoin) {
  const auto request = Request({{{"CPU", 1}}, {{"CPU", 1}}}, "STRICT_SPREAD");
  groups_.Create(kDriver, request);
  ReservePending();
  EXPECT_TRUE(Record(request).infeasible());
  EXPECT_FALSE(IsReady(request));
  Report(b_, 2);  // a node joins
  groups_.OnViewChanged();
  ReservePending();
  Answers(b_, true);
  EXPECT_EQ(State(request), rpc::PG_CREATED);
  EXPECT_FALSE(Record(request).infeasible());
  EXPECT_EQ(ReadyObject(request)->error, rpc::ERROR_NONE);
}

TEST_F(PlacementGroupManagerTest, ANodeLeavingDuringARoundCountsAsARefusal) {
  Report(b_, 2);
  const auto request = Request({{{"CPU", 4}}, {{"CPU", 2}}}, "PACK");
  groups_.Create(kDriver, request);
  ReservePending();
  EXPECT_EQ(scheduler_.available().Get("CPU"), 0);
  view_.RemoveNode(b_);
  groups_.OnNodeGone(b_);
  EXPECT_EQ(scheduler_.available().Get("CPU"), 4) << "what was prepared here went back";
  EXPECT_TRUE(peers_.Of(b_, kReturn).empty()) << "nothing is sent to a node that left";
  EXPECT_EQ(State(request), rpc::PG_PENDING);
}

TEST_F(PlacementGroupManagerTest, RemovingAGroupReturnsTheBundlesOfEveryNode) {
  const auto request = ReservedHereAndOnB();
  groups_.Remove(IdOf(request));
  ASSERT_EQ(peers_.Of(b_, kReturn).size(), 1u);
  EXPECT_EQ(peers_.Of(b_, kReturn)[0].return_bundles().round(), 0u) << "round 0: removed";
  EXPECT_EQ(scheduler_.available().Get("CPU"), 4);
  EXPECT_EQ(State(request), rpc::PG_REMOVED);
}

TEST_F(PlacementGroupManagerTest, ABundleOnANodeThatLeftIsNoLongerARouteForTasks) {
  const auto request = ReservedHereAndOnB();
  groups_.OnNodeGone(b_);
  EXPECT_EQ(groups_.NodesFor(Demand("CPU", IdOf(request), 1, 1)), std::vector<NodeId>{});
  EXPECT_EQ(groups_.NodesFor(Demand("CPU", IdOf(request), -1, 1)), std::vector<NodeId>{self_});
}

// ---- across nodes: a node holding another node's bundles ------------------------------------

TEST_F(PlacementGroupManagerTest, RemovingAGroupUnknownHereAsksEveryOtherNodeAndRecordsItRemoved) {
  // Another node created it (and registered it); nothing of it is here.
  const PlacementGroupId elsewhere = PlacementGroupId::FromRandom();
  rpc::PlacementGroupInfo record;
  record.set_pg_id(elsewhere.Binary());
  record.set_name("theirs");
  ResourceSet::FromMap({{"CPU", 1}}).ToProto(record.add_bundles());
  ASSERT_TRUE(gcs_.AddPlacementGroup(record).ok());
  ASSERT_FALSE(groups_.Contains(elsewhere));

  groups_.RemoveElsewhere(elsewhere, {b_, c_});

  for (const NodeId& node : {b_, c_}) {
    const auto asked = peers_.Of(node, rpc::Message::kRemovePlacementGroup);
    ASSERT_EQ(asked.size(), 1u) << "its creator or a holder of its bundles may be any node";
    EXPECT_EQ(asked[0].remove_placement_group().pg_id(), elsewhere.Binary());
  }
  const auto records = gcs_.GetPlacementGroups(elsewhere);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].state(), rpc::PG_REMOVED) << "even if its creator is gone";
  EXPECT_FALSE(gcs_.LookupNamedPlacementGroup("", "theirs").has_value()) << "its name is free";
}

TEST_F(PlacementGroupManagerTest, ANodeHoldsAnotherNodesBundlesFromPrepareToReturn) {
  const PlacementGroupId group = PlacementGroupId::FromRandom();
  const rpc::PrepareBundles prepare = PrepareOf(group, 5, 1, 3);

  rpc::BundlesPrepared reply = groups_.OnPrepare(kCreatorPeer, prepare);
  EXPECT_TRUE(reply.ok());
  EXPECT_EQ(reply.round(), 5u);
  EXPECT_EQ(scheduler_.available().Get("CPU"), 1);
  rpc::PrepareBundles more = prepare;
  more.set_pg_id(PlacementGroupId::FromRandom().Binary());
  reply = groups_.OnPrepare(kCreatorPeer, more);
  EXPECT_FALSE(reply.ok()) << "no room for a second group";
  EXPECT_NE(reply.refusal().find("CPU: 3"), std::string::npos) << reply.refusal();
  EXPECT_EQ(scheduler_.available().Get("CPU"), 1) << "a refusal holds nothing";

  rpc::CommitBundles commit;
  commit.set_pg_id(group.Binary());
  commit.set_round(5);
  commit.add_bundle_node_ids(b_.Binary());
  commit.add_bundle_node_ids(self_.Binary());
  ResourceSet::FromMap({{"CPU", 1}}).ToProto(commit.add_bundles());
  ResourceSet::FromMap({{"CPU", 3}}).ToProto(commit.add_bundles());
  groups_.OnCommit(commit);
  EXPECT_EQ(scheduler_.available().Get(GroupResourceName("CPU", group.Hex(), 1)), 3);
  EXPECT_EQ(scheduler_.available().Get(GroupResourceName("CPU", group.Hex())), 3);
  EXPECT_EQ(groups_.NodesFor(Demand("CPU", group, 0, 1)), std::vector<NodeId>{b_})
      << "a holder routes to the other bundles too";
  EXPECT_EQ(groups_.CreatorPeer(group), kCreatorPeer);
  EXPECT_EQ(groups_.OwnedBy(kCreatorPeer), std::vector<PlacementGroupId>{group})
      << "they go if the creator's node does";
  EXPECT_FALSE(groups_.Park(TaskId::FromRandom(), Demand("CPU", group, 1, 1)));

  groups_.Remove(group);
  EXPECT_EQ(scheduler_.available().Get("CPU"), 4);
  EXPECT_EQ(scheduler_.total().Get(GroupResourceName("CPU", group.Hex())), 0);
  EXPECT_TRUE(gcs_.GetPlacementGroups(group).empty()) << "the creator keeps the record";
}

TEST_F(PlacementGroupManagerTest, AReturnedPrepareGivesTheBundlesBack) {
  const PlacementGroupId group = PlacementGroupId::FromRandom();
  ASSERT_TRUE(groups_.OnPrepare(kCreatorPeer, PrepareOf(group, 2, 0, 2)).ok());
  groups_.ReturnPrepared(group, 1);
  EXPECT_EQ(scheduler_.available().Get("CPU"), 2) << "another round's return changes nothing";
  groups_.ReturnPrepared(group, 2);
  EXPECT_EQ(scheduler_.available().Get("CPU"), 4);
  EXPECT_FALSE(groups_.Contains(group));
}

}  // namespace
}  // namespace flare
