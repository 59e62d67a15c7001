// Specification of leases: the resources and devices a busy worker holds,
// tasks queued behind it, CPU lent while blocked, and hand-backs. No I/O.
#include "raylet/lease_manager.h"

#include <gtest/gtest.h>

namespace flare {
namespace {

constexpr ClientId kWorker = 5;
constexpr ClientId kOther = 6;

class LeaseManagerTest : public ::testing::Test {
 protected:
  // Acquires `demand` as the scheduler's Dispatch would, then grants it.
  TaskId Start(ClientId worker, const std::map<std::string, double>& demand) {
    const ResourceSet set = ResourceSet::FromMap(demand);
    scheduler_.Acquire(set);
    const TaskId task = TaskId::FromRandom();
    leases_.Grant(worker, task, set, /*actor_creation=*/false);
    return task;
  }

  Scheduler scheduler_{ResourceSet::FromMap({{"CPU", 2}, {"GPU", 2}})};
  GpuSlots gpus_{2};
  LeaseManager leases_{scheduler_, gpus_};
};

TEST_F(LeaseManagerTest, ALeaseHoldsItsDemandAndDevicesUntilItsLastTaskLeaves) {
  const TaskId first = Start(kWorker, {{"CPU", 1}, {"GPU", 1}});
  ASSERT_NE(leases_.Devices(kWorker), nullptr);
  EXPECT_EQ(leases_.Devices(kWorker)->size(), 1u);
  const TaskId second = TaskId::FromRandom();
  leases_.Append(kWorker, second);
  EXPECT_TRUE(leases_.IsRunningOn(first, kWorker));
  EXPECT_FALSE(leases_.IsRunningOn(second, kWorker));
  EXPECT_FALSE(leases_.Remove(kWorker, first)) << "the queued task keeps the lease";
  EXPECT_EQ(leases_.Running(kWorker), second);
  EXPECT_EQ(scheduler_.available().Get("CPU"), 1);
  EXPECT_TRUE(leases_.Remove(kWorker, second));
  EXPECT_EQ(scheduler_.available().Get("CPU"), 2);
  EXPECT_EQ(gpus_.Take(2).size(), 2u) << "both devices are free again";
}

TEST_F(LeaseManagerTest, ABlockedWorkerLendsItsCpuButKeepsTheRest) {
  Start(kWorker, {{"CPU", 1}, {"GPU", 1}});
  EXPECT_TRUE(leases_.SetBlocked(kWorker, true));
  EXPECT_EQ(scheduler_.available().Get("CPU"), 2);
  EXPECT_EQ(scheduler_.available().Get("GPU"), 1);
  EXPECT_FALSE(leases_.SetBlocked(kWorker, true)) << "lent once";
  EXPECT_FALSE(leases_.SetBlocked(kWorker, false));
  EXPECT_EQ(scheduler_.available().Get("CPU"), 1);
}

TEST_F(LeaseManagerTest, APlacementGroupsCpuIsLentToo) {
  const ResourceSet demand = ResourceSet::FromMap({{"CPU_group_abc", 1}, {"GPU_group_0_abc", 1}});
  EXPECT_EQ(LeaseManager::LentWhenBlocked(demand).Get("CPU_group_abc"), 1);
  EXPECT_EQ(LeaseManager::GpuDemand(demand), 1);
  EXPECT_EQ(LeaseManager::GpuDemand(ResourceSet::FromMap({{"GPUX", 1}})), 0)
      << "a custom resource is not a GPU";
}

TEST_F(LeaseManagerTest, AGoneWorkersTasksComeBackRunningOneFirst) {
  const TaskId running = Start(kWorker, {{"CPU", 1}});
  const TaskId queued = TaskId::FromRandom();
  leases_.Append(kWorker, queued);
  const auto tasks = leases_.End(kWorker);
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0], running);
  EXPECT_EQ(tasks[1], queued);
  EXPECT_EQ(scheduler_.available().Get("CPU"), 2);
  EXPECT_EQ(leases_.size(), 0u);
}

TEST_F(LeaseManagerTest, OnlyLeasesWhoseShapeCannotStartElsewhereTakeQueuedTasks) {
  Start(kWorker, {{"CPU", 1}});
  EXPECT_TRUE(leases_.PipelineSlots().empty()) << "another CPU is free: no queueing behind";
  Start(kOther, {{"CPU", 1}});
  const auto slots = leases_.PipelineSlots();
  ASSERT_EQ(slots.size(), 2u);
  EXPECT_EQ(slots[0].room, LeaseManager::kPipelineDepth - 1);
}

TEST_F(LeaseManagerTest, AWorkerWithQueuedTasksIsAskedToHandThemBackOnce) {
  Start(kWorker, {{"CPU", 1}});
  leases_.Append(kWorker, TaskId::FromRandom());
  EXPECT_EQ(leases_.TakeRebalanceRequests(), std::vector<ClientId>{kWorker});
  EXPECT_TRUE(leases_.TakeRebalanceRequests().empty()) << "until it answers";
  EXPECT_TRUE(leases_.PipelineSlots().empty()) << "nothing more queues on it meanwhile";
  leases_.OnTasksReturned(kWorker);
  EXPECT_EQ(leases_.TakeRebalanceRequests(), std::vector<ClientId>{kWorker});
}

TEST_F(LeaseManagerTest, AnActorKeepsTheDevicesItsCreationUsed) {
  scheduler_.Acquire(ResourceSet::FromMap({{"CPU", 1}, {"GPU", 1}}));
  leases_.Grant(kWorker, TaskId::FromRandom(), ResourceSet::FromMap({{"CPU", 1}, {"GPU", 1}}),
                /*actor_creation=*/true);
  EXPECT_TRUE(leases_.PipelineSlots().empty()) << "nothing queues behind a constructor";
  const auto devices = leases_.EndKeepingDevices(kWorker);
  EXPECT_EQ(devices.size(), 1u);
  EXPECT_EQ(scheduler_.available().Get("GPU"), 2) << "resources back, devices kept";
  const auto next = gpus_.Take(1);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_NE(next[0], devices[0]) << "the actor's device is not handed out again";
}

}  // namespace
}  // namespace flare
