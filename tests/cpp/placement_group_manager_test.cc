// Specification of placement groups on one node: reservation in creation
// order, the group's own resource names, tasks that wait for their group,
// infeasible groups and removal. No I/O.
#include "raylet/placement_group_manager.h"

#include <gtest/gtest.h>

#include "table_returns.h"

#include "gcs/gcs.h"
#include "gcs/in_process_gcs_client.h"
#include "gcs/memory_store.h"

namespace flare {
namespace {

constexpr ClientId kDriver = 1;

using testing::TableReturns;

class PlacementGroupManagerTest : public ::testing::Test {
 protected:
  rpc::CreatePlacementGroup Request(const std::vector<std::map<std::string, double>>& bundles,
                                    const std::string& strategy = "PACK") {
    rpc::CreatePlacementGroup request;
    request.set_pg_id(PlacementGroupId::FromRandom().Binary());
    for (const auto& bundle : bundles) ResourceSet::FromMap(bundle).ToProto(request.add_bundles());
    request.set_strategy(strategy);
    request.set_ready_id(ObjectIdFor(TaskId::FromRandom(), kPutIndexBit | 1).Binary());
    request.set_ready_value("ready");
    return request;
  }
  const ObjectEntry* ReadyObject(const rpc::CreatePlacementGroup& request) {
    return objects_.Find(ObjectId::FromBinary(request.ready_id()));
  }
  rpc::PlacementGroupState State(const rpc::CreatePlacementGroup& request) {
    // The state the manager reported to the GCS.
    auto records = gcs_.GetPlacementGroups(PlacementGroupId::FromBinary(request.pg_id()));
    EXPECT_EQ(records.size(), 1u);
    return records.empty() ? rpc::PG_REMOVED : records[0].state();
  }

  Scheduler scheduler_{ResourceSet::FromMap({{"CPU", 4}})};
  ObjectTable objects_{1 << 20};
  TableReturns returns_{objects_};
  Gcs gcs_{std::make_unique<MemoryStore>()};
  InProcessGcsClient gcs_client_{gcs_};
  PlacementGroupManager groups_{scheduler_, objects_, returns_, gcs_client_, NodeId::FromRandom()};
};

TEST_F(PlacementGroupManagerTest, AReservedGroupOffersItsBundlesUnderItsOwnNames) {
  const auto request = Request({{{"CPU", 1}}, {{"CPU", 2}}});
  groups_.Create(kDriver, request);
  EXPECT_EQ(State(request), rpc::PG_PENDING);
  EXPECT_TRUE(groups_.ReservePending().empty());
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
  groups_.ReservePending();
  EXPECT_EQ(State(big), rpc::PG_PENDING);
  EXPECT_EQ(State(small), rpc::PG_PENDING) << "it fits, but the older group goes first";
  scheduler_.Release(ResourceSet::FromMap({{"CPU", 2}}));
  groups_.ReservePending();
  EXPECT_EQ(State(big), rpc::PG_CREATED);
  EXPECT_EQ(State(small), rpc::PG_CREATED);
}

TEST_F(PlacementGroupManagerTest, ATaskForAGroupNotYetReservedWaitsAndIsReleasedWithIt) {
  const auto request = Request({{{"CPU", 2}}});
  scheduler_.Acquire(ResourceSet::FromMap({{"CPU", 4}}));
  groups_.Create(kDriver, request);
  groups_.ReservePending();
  const PlacementGroupId group_id = PlacementGroupId::FromBinary(request.pg_id());
  const ResourceSet demand = ResourceSet::FromMap({{"CPU_group_" + group_id.Hex(), 1}});
  const TaskId task = TaskId::FromRandom();
  EXPECT_EQ(groups_.GroupOf(demand), group_id);
  EXPECT_TRUE(groups_.Park(task, demand));
  EXPECT_TRUE(groups_.IsWaiting(group_id, task));
  scheduler_.Release(ResourceSet::FromMap({{"CPU", 4}}));
  EXPECT_EQ(groups_.ReservePending(), std::vector<TaskId>{task});
  EXPECT_FALSE(groups_.Park(TaskId::FromRandom(), demand)) << "reserved: queue at once";
}

TEST_F(PlacementGroupManagerTest, AGroupTheNodeCanNeverHoldFailsItsReadyObject) {
  const auto too_big = Request({{{"CPU", 8}}});
  groups_.Create(kDriver, too_big);
  EXPECT_EQ(ReadyObject(too_big)->error, rpc::INFEASIBLE);
  EXPECT_FALSE(groups_.has_pending());
  const auto spread = Request({{{"CPU", 1}}, {{"CPU", 1}}}, "STRICT_SPREAD");
  groups_.Create(kDriver, spread);
  EXPECT_EQ(ReadyObject(spread)->error, rpc::INFEASIBLE);
  EXPECT_NE(ReadyObject(spread)->error_message.find("STRICT_SPREAD"), std::string::npos);
}

TEST_F(PlacementGroupManagerTest, RemovingAGroupGivesItsResourcesBackAndSaysRemoved) {
  const auto request = Request({{{"CPU", 2}}});
  groups_.Create(kDriver, request);
  groups_.ReservePending();
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
  ASSERT_TRUE(gcs_.AddPlacementGroup(registered).ok());
  groups_.Create(kDriver, request);
  groups_.ReservePending();
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
  EXPECT_TRUE(groups_.ReservePending().empty());
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

}  // namespace
}  // namespace flare
