// Specification of the local scheduler: dependency waiting, resource
// accounting, per-shape FIFO queues and infeasibility. No I/O involved.
#include "raylet/scheduler.h"

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace flare {
namespace {

ResourceSet Resources(const std::map<std::string, double>& amounts) {
  return ResourceSet::FromMap(amounts);
}

ResourceSet Cpu(double amount) { return Resources({{"CPU", amount}}); }

std::vector<TaskId> NewTasks(int n) {
  std::vector<TaskId> tasks;
  for (int i = 0; i < n; ++i) tasks.push_back(TaskId::FromRandom());
  return tasks;
}

TEST(SchedulerTest, ReadyTaskIsDispatchedAndAcquiresItsResources) {
  Scheduler scheduler(Cpu(2));
  const TaskId task = TaskId::FromRandom();
  ASSERT_EQ(scheduler.Add(task, Cpu(1), {}), Scheduler::AddResult::kQueued);
  EXPECT_EQ(scheduler.num_dispatchable(), 1u);
  EXPECT_EQ(scheduler.Dispatch(10), std::vector<TaskId>{task});
  EXPECT_DOUBLE_EQ(scheduler.available().Get("CPU"), 1.0);
  EXPECT_EQ(scheduler.num_dispatchable(), 0u);
  EXPECT_EQ(scheduler.num_queued(), 0u);
  scheduler.Release(Cpu(1));
  EXPECT_DOUBLE_EQ(scheduler.available().Get("CPU"), 2.0);
}

TEST(SchedulerTest, TaskWaitsForEveryUnreadyArgument) {
  Scheduler scheduler(Cpu(1));
  const TaskId task = TaskId::FromRandom();
  const ObjectId a = ObjectIdFor(TaskId::FromRandom(), 1);
  const ObjectId b = ObjectIdFor(TaskId::FromRandom(), 1);
  scheduler.Add(task, Cpu(1), {a, b});
  EXPECT_EQ(scheduler.num_dispatchable(), 0u);
  EXPECT_TRUE(scheduler.Dispatch(10).empty());

  scheduler.OnObjectReady(a);
  EXPECT_EQ(scheduler.num_dispatchable(), 0u) << "b is still missing";
  scheduler.OnObjectReady(ObjectIdFor(TaskId::FromRandom(), 1));  // unrelated
  EXPECT_EQ(scheduler.num_dispatchable(), 0u);

  scheduler.OnObjectReady(b);
  EXPECT_EQ(scheduler.num_dispatchable(), 1u);
  EXPECT_EQ(scheduler.Dispatch(10), std::vector<TaskId>{task});
}

TEST(SchedulerTest, SameArgumentTwiceIsResolvedByOneReadyEvent) {
  Scheduler scheduler(Cpu(1));
  const TaskId task = TaskId::FromRandom();
  const ObjectId arg = ObjectIdFor(TaskId::FromRandom(), 1);
  scheduler.Add(task, Cpu(1), {arg, arg});
  scheduler.OnObjectReady(arg);
  EXPECT_EQ(scheduler.Dispatch(10), std::vector<TaskId>{task});
}

TEST(SchedulerTest, OneReadyObjectReleasesEveryTaskWaitingOnIt) {
  Scheduler scheduler(Cpu(4));
  const ObjectId arg = ObjectIdFor(TaskId::FromRandom(), 1);
  const std::vector<TaskId> tasks = NewTasks(3);
  for (const TaskId& task : tasks) scheduler.Add(task, Cpu(1), {arg});
  scheduler.OnObjectReady(arg);
  EXPECT_EQ(scheduler.Dispatch(10), tasks);
}

TEST(SchedulerTest, DispatchStopsWhenResourcesRunOutAndReleaseMakesRoom) {
  Scheduler scheduler(Cpu(2));
  const std::vector<TaskId> tasks = NewTasks(3);
  for (const TaskId& task : tasks) scheduler.Add(task, Cpu(1), {});
  EXPECT_EQ(scheduler.Dispatch(10), (std::vector<TaskId>{tasks[0], tasks[1]}));
  EXPECT_EQ(scheduler.num_dispatchable(), 1u);
  EXPECT_TRUE(scheduler.Dispatch(10).empty()) << "no CPU left";
  scheduler.Release(Cpu(1));
  EXPECT_EQ(scheduler.Dispatch(10), std::vector<TaskId>{tasks[2]});
}

TEST(SchedulerTest, DispatchTakesAtMostMaxTasks) {
  Scheduler scheduler(Cpu(8));
  const std::vector<TaskId> tasks = NewTasks(5);
  for (const TaskId& task : tasks) scheduler.Add(task, Cpu(1), {});
  EXPECT_EQ(scheduler.Dispatch(2).size(), 2u);
  EXPECT_EQ(scheduler.num_dispatchable(), 3u);
  EXPECT_DOUBLE_EQ(scheduler.available().Get("CPU"), 6.0);
}

TEST(SchedulerTest, TwoHalfCpuTasksFitInOneCpu) {
  Scheduler scheduler(Cpu(1));
  const std::vector<TaskId> tasks = NewTasks(3);
  for (const TaskId& task : tasks) scheduler.Add(task, Cpu(0.5), {});
  EXPECT_EQ(scheduler.Dispatch(10), (std::vector<TaskId>{tasks[0], tasks[1]}));
  EXPECT_DOUBLE_EQ(scheduler.available().Get("CPU"), 0.0);
  scheduler.Release(Cpu(0.5));
  EXPECT_EQ(scheduler.Dispatch(10), std::vector<TaskId>{tasks[2]});
}

TEST(SchedulerTest, DemandAboveTheNodeTotalIsInfeasible) {
  Scheduler scheduler(Cpu(2));
  EXPECT_EQ(scheduler.Add(TaskId::FromRandom(), Cpu(3), {}),
            Scheduler::AddResult::kInfeasible);
  EXPECT_EQ(scheduler.num_queued(), 0u);
  EXPECT_EQ(scheduler.num_dispatchable(), 0u);
}

TEST(SchedulerTest, UnknownCustomResourceIsInfeasible) {
  Scheduler scheduler(Cpu(2));
  EXPECT_EQ(scheduler.Add(TaskId::FromRandom(), Resources({{"CPU", 1}, {"accel", 1}}), {}),
            Scheduler::AddResult::kInfeasible);
  EXPECT_EQ(scheduler.num_queued(), 0u);
}

TEST(SchedulerTest, DemandThatFitsTheTotalButNotTheAvailableIsQueued) {
  Scheduler scheduler(Resources({{"CPU", 2}, {"accel", 1}}));
  scheduler.Acquire(Cpu(2));
  EXPECT_EQ(scheduler.Add(TaskId::FromRandom(), Resources({{"CPU", 1}, {"accel", 1}}), {}),
            Scheduler::AddResult::kQueued);
  EXPECT_TRUE(scheduler.Dispatch(10).empty());
}

TEST(SchedulerTest, TaskWithNoDemandRunsWithoutResources) {
  Scheduler scheduler(Cpu(1));
  scheduler.Acquire(Cpu(1));
  const TaskId task = TaskId::FromRandom();
  scheduler.Add(task, ResourceSet(), {});
  EXPECT_EQ(scheduler.Dispatch(10), std::vector<TaskId>{task});
}

TEST(SchedulerTest, BigDemandAtTheHeadDoesNotBlockSmallerTasks) {
  Scheduler scheduler(Cpu(2));
  const TaskId running = TaskId::FromRandom();
  scheduler.Add(running, Cpu(1), {});
  ASSERT_EQ(scheduler.Dispatch(10).size(), 1u);

  const TaskId big = TaskId::FromRandom();
  const TaskId small = TaskId::FromRandom();
  scheduler.Add(big, Cpu(2), {});
  scheduler.Add(small, Cpu(1), {});
  EXPECT_EQ(scheduler.Dispatch(10), std::vector<TaskId>{small});

  scheduler.Release(Cpu(1));
  scheduler.Release(Cpu(1));
  EXPECT_EQ(scheduler.Dispatch(10), std::vector<TaskId>{big});
}

TEST(SchedulerTest, TasksOfOneShapeDispatchInSubmissionOrder) {
  Scheduler scheduler(Cpu(1));
  const std::vector<TaskId> tasks = NewTasks(5);
  for (const TaskId& task : tasks) scheduler.Add(task, Cpu(1), {});
  for (const TaskId& expected : tasks) {
    EXPECT_EQ(scheduler.Dispatch(10), std::vector<TaskId>{expected});
    scheduler.Release(Cpu(1));
  }
}

// An actor created before a batch of tasks is placed before them: its
// queue ("actor" tag) sorts after theirs by name, but the order of placement
// is the order of submission.
TEST(SchedulerTest, ShapesDispatchInSubmissionOrderWhenBothFit) {
  Scheduler scheduler(Cpu(1));
  const TaskId actor = TaskId::FromRandom();
  scheduler.Add(actor, Cpu(1), {}, "actor");
  const std::vector<TaskId> tasks = NewTasks(3);
  for (const TaskId& task : tasks) scheduler.Add(task, Cpu(1), {});
  EXPECT_EQ(scheduler.Dispatch(10), std::vector<TaskId>{actor});
  scheduler.Release(Cpu(1));
  EXPECT_EQ(scheduler.Dispatch(10), std::vector<TaskId>{tasks[0]});
}

// The raylet queues same-shape tasks behind a running one; none may jump
// ahead of an older task of another shape that waits for the same CPU.
TEST(SchedulerTest, TakeQueuedNeverPassesAnOlderTaskOfAnotherShape) {
  Scheduler scheduler(Cpu(1));
  const std::vector<TaskId> before = NewTasks(2);
  for (const TaskId& task : before) scheduler.Add(task, Cpu(1), {});
  ASSERT_EQ(scheduler.Dispatch(10), std::vector<TaskId>{before[0]});
  const TaskId actor = TaskId::FromRandom();
  scheduler.Add(actor, Cpu(1), {}, "actor");
  const TaskId after = TaskId::FromRandom();
  scheduler.Add(after, Cpu(1), {});

  const std::string shape = Cpu(1).ShapeKey();
  EXPECT_EQ(scheduler.TakeQueued(shape, 10), std::vector<TaskId>{before[1]})
      << "only the task submitted before the actor may queue behind the running one";
  scheduler.Release(Cpu(1));
  EXPECT_EQ(scheduler.Dispatch(1), std::vector<TaskId>{actor});
  EXPECT_EQ(scheduler.TakeQueued(shape, 10), std::vector<TaskId>{after})
      << "with the actor placed, nothing older waits";
}

TEST(SchedulerTest, AnOlderTaskThatDoesNotFitIsPassedOver) {
  Scheduler scheduler(Resources({{"CPU", 2}, {"GPU", 1}}));
  scheduler.Acquire(Resources({{"GPU", 1}}));
  const TaskId gpu = TaskId::FromRandom();
  const TaskId cpu = TaskId::FromRandom();
  scheduler.Add(gpu, Resources({{"CPU", 1}, {"GPU", 1}}), {});
  scheduler.Add(cpu, Cpu(1), {});
  EXPECT_EQ(scheduler.Dispatch(10), std::vector<TaskId>{cpu});
}

TEST(SchedulerTest, RemovedReadyTaskIsNeverDispatched) {
  Scheduler scheduler(Cpu(1));
  const std::vector<TaskId> tasks = NewTasks(2);
  for (const TaskId& task : tasks) scheduler.Add(task, Cpu(1), {});
  EXPECT_TRUE(scheduler.Remove(tasks[0]));
  EXPECT_FALSE(scheduler.Remove(tasks[0])) << "already removed";
  EXPECT_EQ(scheduler.num_dispatchable(), 1u);
  EXPECT_EQ(scheduler.num_queued(), 1u);
  EXPECT_EQ(scheduler.Dispatch(10), std::vector<TaskId>{tasks[1]});
  EXPECT_EQ(scheduler.num_dispatchable(), 0u);
}

TEST(SchedulerTest, RemovedWaitingTaskStaysGoneWhenItsArgumentIsReady) {
  Scheduler scheduler(Cpu(1));
  const TaskId task = TaskId::FromRandom();
  const ObjectId arg = ObjectIdFor(TaskId::FromRandom(), 1);
  scheduler.Add(task, Cpu(1), {arg});
  EXPECT_TRUE(scheduler.Remove(task));
  scheduler.OnObjectReady(arg);
  EXPECT_EQ(scheduler.num_dispatchable(), 0u);
  EXPECT_TRUE(scheduler.Dispatch(10).empty());
}

TEST(SchedulerTest, RemoveOfAnUnknownOrDispatchedTaskReturnsFalse) {
  Scheduler scheduler(Cpu(1));
  EXPECT_FALSE(scheduler.Remove(TaskId::FromRandom()));
  const TaskId task = TaskId::FromRandom();
  scheduler.Add(task, Cpu(1), {});
  scheduler.Dispatch(10);
  EXPECT_FALSE(scheduler.Remove(task));
}

TEST(SchedulerTest, NumFittingNowCountsReadyTasksThatFit) {
  Scheduler scheduler(Cpu(2));
  for (const TaskId& task : NewTasks(3)) scheduler.Add(task, Cpu(1), {});
  scheduler.Add(TaskId::FromRandom(), Cpu(1), {ObjectIdFor(TaskId::FromRandom(), 1)});
  EXPECT_EQ(scheduler.num_dispatchable(), 3u);
  EXPECT_EQ(scheduler.NumFittingNow(), 2u);
}

// The worker pool grows by NumFittingNow(): cancelled (removed) tasks must not
// make it start workers for tasks that will never run.
TEST(SchedulerTest, NumFittingNowIgnoresRemovedTasks) {
  Scheduler scheduler(Cpu(4));
  const std::vector<TaskId> tasks = NewTasks(3);
  for (const TaskId& task : tasks) scheduler.Add(task, Cpu(1), {});
  scheduler.Remove(tasks[0]);
  scheduler.Remove(tasks[1]);
  EXPECT_EQ(scheduler.num_dispatchable(), 1u);
  EXPECT_EQ(scheduler.NumFittingNow(), 1u);
}

// Tasks of different demands must not share a queue: Dispatch acquires the
// queue's demand, while the raylet releases each task's own demand.
TEST(SchedulerTest, LargeAmountsThatDifferSlightlyAreAcquiredExactly) {
  Scheduler scheduler(Resources({{"CPU", 4}, {"memory", 4e9}}));
  scheduler.Add(TaskId::FromRandom(), Resources({{"memory", 1000000000}}), {});
  scheduler.Add(TaskId::FromRandom(), Resources({{"memory", 1000000100}}), {});
  ASSERT_EQ(scheduler.Dispatch(10).size(), 2u);
  EXPECT_DOUBLE_EQ(scheduler.available().Get("memory"), 4e9 - 2000000100.0);
}

}  // namespace
}  // namespace flare
