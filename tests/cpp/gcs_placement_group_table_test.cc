// Specification of the placement-group table: states PENDING -> CREATED
// (<-> RESCHEDULING) -> REMOVED, names unique per namespace among groups not
// removed, a bounded memory of removed groups, and every change kept in the store so that a
// new table over it loads the same groups. No I/O involved.
#include "gcs/placement_group_table.h"

#include <string>

#include <gtest/gtest.h>

#include "gcs/memory_store.h"
#include "gcs_test_store.h"

namespace flare {
namespace {

rpc::PlacementGroupInfo Group(const PlacementGroupId& id, const std::string& name, int num_bundles = 1,
                              const std::string& name_space = "ns") {
  rpc::PlacementGroupInfo info;
  info.set_pg_id(id.Binary());
  info.set_name(name);
  info.set_namespace_(name_space);
  info.set_strategy("PACK");
  for (int i = 0; i < num_bundles; ++i) (*info.add_bundles()->mutable_amounts())["CPU"] = 1;
  return info;
}

// Each step of these tests must succeed; a failure names the step.
#define STEP(expression) ASSERT_TRUE((expression).ok()) << #expression

class PlacementGroupTableTest : public ::testing::Test {
 protected:
  MemoryStore store_;
  PlacementGroupTable table_{store_};
};

TEST_F(PlacementGroupTableTest, NewGroupIsPendingWithItsDescription) {
  const PlacementGroupId id = PlacementGroupId::FromRandom();
  rpc::PlacementGroupInfo info = Group(id, "workers", 2);
  info.set_state(rpc::PG_CREATED);  // ignored: a new group is pending
  STEP(table_.Add(info));
  const rpc::PlacementGroupInfo* found = table_.Find(id);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->state(), rpc::PG_PENDING);
  EXPECT_EQ(found->name(), "workers");
  EXPECT_EQ(found->namespace_(), "ns");
  EXPECT_EQ(found->strategy(), "PACK");
  EXPECT_EQ(found->bundles_size(), 2);
  EXPECT_EQ(found->bundle_node_ids_size(), 0) << "a pending group has no node";
  EXPECT_EQ(table_.Find(PlacementGroupId::FromRandom()), nullptr);
}

TEST_F(PlacementGroupTableTest, MalformedIdIsRefused) {
  rpc::PlacementGroupInfo info = Group(PlacementGroupId::FromRandom(), "g");
  info.set_pg_id("short");
  EXPECT_TRUE(absl::IsInvalidArgument(table_.Add(info)));
  EXPECT_EQ(table_.size(), 0u);
}

TEST_F(PlacementGroupTableTest, CreatedGroupNamesTheNodeOfEachBundle) {
  const PlacementGroupId id = PlacementGroupId::FromRandom();
  const std::vector<NodeId> nodes = {NodeId::FromRandom(), NodeId::FromRandom(),
                                     NodeId::FromRandom()};
  STEP(table_.Add(Group(id, "", 3)));
  STEP(table_.MarkInfeasible(id));
  EXPECT_TRUE(absl::IsInvalidArgument(table_.MarkCreated(id, {nodes[0]})))
      << "one node per bundle";
  EXPECT_EQ(table_.Find(id)->state(), rpc::PG_PENDING);
  STEP(table_.MarkCreated(id, nodes));
  const rpc::PlacementGroupInfo* found = table_.Find(id);
  EXPECT_EQ(found->state(), rpc::PG_CREATED);
  EXPECT_FALSE(found->infeasible());
  ASSERT_EQ(found->bundle_node_ids_size(), 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(found->bundle_node_ids(i), nodes[i].Binary());
}

TEST_F(PlacementGroupTableTest, InfeasibleGroupStaysPending) {
  const PlacementGroupId id = PlacementGroupId::FromRandom();
  STEP(table_.Add(Group(id, "")));
  STEP(table_.MarkInfeasible(id));
  EXPECT_EQ(table_.Find(id)->state(), rpc::PG_PENDING);
  EXPECT_TRUE(table_.Find(id)->infeasible());
}

TEST_F(PlacementGroupTableTest, ACreatedGroupThatLostANodeIsReschedulingUntilCreatedAgain) {
  const PlacementGroupId id = PlacementGroupId::FromRandom();
  const NodeId stays = NodeId::FromRandom();
  const NodeId lost = NodeId::FromRandom();
  const NodeId heir = NodeId::FromRandom();
  STEP(table_.Add(Group(id, "", 2)));
  STEP(table_.MarkRescheduling(id));
  EXPECT_EQ(table_.Find(id)->state(), rpc::PG_PENDING) << "never created: nothing to place again";
  STEP(table_.MarkCreated(id, {stays, lost}));
  STEP(table_.MarkRescheduling(id));
  EXPECT_EQ(table_.Find(id)->state(), rpc::PG_RESCHEDULING);
  EXPECT_EQ(table_.Find(id)->bundle_node_ids(0), stays.Binary()) << "the old map until the new";
  STEP(table_.MarkCreated(id, {stays, heir}));
  EXPECT_EQ(table_.Find(id)->state(), rpc::PG_CREATED);
  EXPECT_EQ(table_.Find(id)->bundle_node_ids(1), heir.Binary());
  STEP(table_.MarkRemoved(id));
  STEP(table_.MarkRescheduling(id));
  EXPECT_EQ(table_.Find(id)->state(), rpc::PG_REMOVED) << "removed stays removed";
}

TEST_F(PlacementGroupTableTest, RemovedGroupIsKeptAsRemovedAndStaysRemoved) {
  const PlacementGroupId pending = PlacementGroupId::FromRandom();
  const PlacementGroupId created = PlacementGroupId::FromRandom();
  STEP(table_.Add(Group(pending, "a")));
  STEP(table_.Add(Group(created, "b")));
  STEP(table_.MarkCreated(created, {NodeId::FromRandom()}));
  STEP(table_.MarkRemoved(pending));
  STEP(table_.MarkRemoved(created));
  EXPECT_EQ(table_.Find(pending)->state(), rpc::PG_REMOVED);
  EXPECT_EQ(table_.Find(created)->state(), rpc::PG_REMOVED);
  EXPECT_EQ(table_.Find(created)->bundle_node_ids_size(), 0);
  EXPECT_EQ(table_.Find(created)->name(), "b");

  STEP(table_.MarkCreated(created, {NodeId::FromRandom()}));
  EXPECT_EQ(table_.Find(created)->state(), rpc::PG_REMOVED) << "removal is final";
  STEP(table_.Add(Group(created, "again")));
  EXPECT_EQ(table_.Find(created)->name(), "b") << "a known id is not added twice";
  EXPECT_EQ(table_.All().size(), 2u);
}

TEST_F(PlacementGroupTableTest, ANameIsTakenInItsNamespaceUntilTheGroupIsRemoved) {
  const PlacementGroupId first = PlacementGroupId::FromRandom();
  STEP(table_.Add(Group(first, "workers")));
  ASSERT_NE(table_.LookupNamed("ns", "workers"), nullptr);
  EXPECT_EQ(table_.LookupNamed("ns", "workers")->pg_id(), first.Binary());
  EXPECT_EQ(table_.LookupNamed("other", "workers"), nullptr) << "names are per namespace";

  const absl::Status taken = table_.Add(Group(PlacementGroupId::FromRandom(), "workers"));
  EXPECT_TRUE(absl::IsAlreadyExists(taken)) << taken;
  EXPECT_NE(taken.message().find("workers"), std::string::npos) << taken;
  STEP(table_.Add(Group(PlacementGroupId::FromRandom(), "workers", 1, "other")));
  STEP(table_.Add(Group(first, "workers"))) << "the same group again is not a clash";

  STEP(table_.MarkRemoved(first));
  EXPECT_EQ(table_.LookupNamed("ns", "workers"), nullptr) << "removal frees the name";
  const PlacementGroupId second = PlacementGroupId::FromRandom();
  STEP(table_.Add(Group(second, "workers")));
  EXPECT_EQ(table_.LookupNamed("ns", "workers")->pg_id(), second.Binary());
}

TEST(PlacementGroupTableBoundTest, OnlyTheMostRecentRemovedGroupsAreKept) {
  MemoryStore store;
  PlacementGroupTable table(store, /*max_removed=*/2);
  const PlacementGroupId live = PlacementGroupId::FromRandom();
  STEP(table.Add(Group(live, "live")));
  PlacementGroupId removed[3];
  for (PlacementGroupId& id : removed) {
    id = PlacementGroupId::FromRandom();
    STEP(table.Add(Group(id, "")));
    STEP(table.MarkRemoved(id));
  }
  STEP(table.MarkRemoved(removed[2]));  // twice: counted once
  EXPECT_EQ(table.Find(removed[0]), nullptr) << "the oldest removal is forgotten";
  EXPECT_NE(table.Find(removed[1]), nullptr);
  EXPECT_NE(table.Find(removed[2]), nullptr);
  EXPECT_EQ(table.Find(live)->state(), rpc::PG_PENDING) << "live groups are never dropped";
  EXPECT_EQ(table.size(), 3u);
  EXPECT_EQ(store.Scan(PlacementGroupTable::kTable)->size(), 3u) << "forgotten in the store too";
}

TEST_F(PlacementGroupTableTest, ANewTableOverTheStoreLoadsTheSameGroups) {
  const PlacementGroupId created = PlacementGroupId::FromRandom();
  const PlacementGroupId removed = PlacementGroupId::FromRandom();
  const NodeId node = NodeId::FromRandom();
  STEP(table_.Add(Group(created, "workers", 2)));
  STEP(table_.MarkCreated(created, {node, node}));
  STEP(table_.Add(Group(removed, "gone")));
  STEP(table_.MarkRemoved(removed));

  PlacementGroupTable reloaded(store_);
  STEP(reloaded.Load());
  const rpc::PlacementGroupInfo* found = reloaded.LookupNamed("ns", "workers");
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->state(), rpc::PG_CREATED);
  EXPECT_EQ(found->bundle_node_ids_size(), 2);
  EXPECT_EQ(reloaded.LookupNamed("ns", "gone"), nullptr) << "a removed group's name stays free";
  EXPECT_EQ(reloaded.Find(removed)->state(), rpc::PG_REMOVED);
  EXPECT_TRUE(absl::IsAlreadyExists(reloaded.Add(Group(PlacementGroupId::FromRandom(), "workers"))));
}

TEST(PlacementGroupTableStoreTest, AFailedWriteChangesNothing) {
  MemoryStore backing;
  bool broken = false;
  testing::TestStore store(backing, &broken);
  PlacementGroupTable table(store);
  const PlacementGroupId id = PlacementGroupId::FromRandom();
  STEP(table.Add(Group(id, "workers")));
  broken = true;
  EXPECT_TRUE(absl::IsUnavailable(table.MarkRemoved(id)));
  EXPECT_TRUE(absl::IsUnavailable(table.Add(Group(PlacementGroupId::FromRandom(), "other"))));
  broken = false;
  EXPECT_EQ(table.Find(id)->state(), rpc::PG_PENDING) << "the failed removal did not happen";
  EXPECT_NE(table.LookupNamed("ns", "workers"), nullptr) << "and the name is still taken";
  EXPECT_EQ(table.LookupNamed("ns", "other"), nullptr);
  EXPECT_EQ(table.size(), 1u);
}

}  // namespace
}  // namespace flare
