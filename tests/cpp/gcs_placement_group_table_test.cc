// Specification of the placement-group table: states PENDING -> CREATED ->
// REMOVED, and a bounded memory of removed groups. No I/O involved.
#include "gcs/placement_group_table.h"

#include <string>

#include <gtest/gtest.h>

namespace flare {
namespace {

rpc::PlacementGroupInfo Group(const TaskId& id, const std::string& name, int num_bundles = 1) {
  rpc::PlacementGroupInfo info;
  info.set_pg_id(id.Binary());
  info.set_name(name);
  info.set_strategy("PACK");
  for (int i = 0; i < num_bundles; ++i) (*info.add_bundles()->mutable_amounts())["CPU"] = 1;
  return info;
}

TEST(PlacementGroupTableTest, NewGroupIsPendingWithItsDescription) {
  PlacementGroupTable table;
  const TaskId id = TaskId::FromRandom();
  rpc::PlacementGroupInfo info = Group(id, "workers", 2);
  info.set_state(rpc::PG_CREATED);  // ignored: a new group is pending
  table.Add(info);
  const rpc::PlacementGroupInfo* found = table.Find(id);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->state(), rpc::PG_PENDING);
  EXPECT_EQ(found->name(), "workers");
  EXPECT_EQ(found->strategy(), "PACK");
  EXPECT_EQ(found->bundles_size(), 2);
  EXPECT_EQ(found->bundle_node_ids_size(), 0) << "a pending group has no node";
  EXPECT_EQ(table.Find(TaskId::FromRandom()), nullptr);
}

TEST(PlacementGroupTableTest, CreatedGroupNamesTheNodeOfEachBundle) {
  PlacementGroupTable table;
  const TaskId id = TaskId::FromRandom();
  const NodeId node = NodeId::FromRandom();
  table.Add(Group(id, "", 3));
  table.MarkInfeasible(id);
  table.MarkCreated(id, node);
  const rpc::PlacementGroupInfo* found = table.Find(id);
  EXPECT_EQ(found->state(), rpc::PG_CREATED);
  EXPECT_FALSE(found->infeasible());
  ASSERT_EQ(found->bundle_node_ids_size(), 3);
  for (const std::string& bundle_node : found->bundle_node_ids()) {
    EXPECT_EQ(bundle_node, node.Binary());
  }
}

TEST(PlacementGroupTableTest, InfeasibleGroupStaysPending) {
  PlacementGroupTable table;
  const TaskId id = TaskId::FromRandom();
  table.Add(Group(id, ""));
  table.MarkInfeasible(id);
  EXPECT_EQ(table.Find(id)->state(), rpc::PG_PENDING);
  EXPECT_TRUE(table.Find(id)->infeasible());
}

TEST(PlacementGroupTableTest, RemovedGroupIsKeptAsRemovedAndStaysRemoved) {
  PlacementGroupTable table;
  const TaskId pending = TaskId::FromRandom();
  const TaskId created = TaskId::FromRandom();
  table.Add(Group(pending, "a"));
  table.Add(Group(created, "b"));
  table.MarkCreated(created, NodeId::FromRandom());
  table.MarkRemoved(pending);
  table.MarkRemoved(created);
  EXPECT_EQ(table.Find(pending)->state(), rpc::PG_REMOVED);
  EXPECT_EQ(table.Find(created)->state(), rpc::PG_REMOVED);
  EXPECT_EQ(table.Find(created)->bundle_node_ids_size(), 0);
  EXPECT_EQ(table.Find(created)->name(), "b");

  table.MarkCreated(created, NodeId::FromRandom());
  EXPECT_EQ(table.Find(created)->state(), rpc::PG_REMOVED) << "removal is final";
  table.Add(Group(created, "again"));
  EXPECT_EQ(table.Find(created)->name(), "b") << "a known id is not added twice";
  EXPECT_EQ(table.All().size(), 2u);
}

TEST(PlacementGroupTableTest, OnlyTheMostRecentRemovedGroupsAreKept) {
  PlacementGroupTable table(/*max_removed=*/2);
  const TaskId live = TaskId::FromRandom();
  table.Add(Group(live, "live"));
  TaskId removed[3];
  for (TaskId& id : removed) {
    id = TaskId::FromRandom();
    table.Add(Group(id, ""));
    table.MarkRemoved(id);
  }
  table.MarkRemoved(removed[2]);  // twice: counted once
  EXPECT_EQ(table.Find(removed[0]), nullptr) << "the oldest removal is forgotten";
  EXPECT_NE(table.Find(removed[1]), nullptr);
  EXPECT_NE(table.Find(removed[2]), nullptr);
  EXPECT_EQ(table.Find(live)->state(), rpc::PG_PENDING) << "live groups are never dropped";
  EXPECT_EQ(table.size(), 3u);
}

}  // namespace
}  // namespace flare
