// Specification of the TaskManager: a task's life from submission to its
// stored returns — placement, dispatch, the one retry rule (a crashed
// worker, a timeout, a retryable exception), cancellation and timeouts —
// played over the node's units with fake I/O (node_units_harness.h): no
// sockets, processes or clocks.
#include "raylet/task_manager.h"

#include <gtest/gtest.h>

#include "node_units_harness.h"

namespace flare {
namespace {

using std::chrono::milliseconds;
using testing::kKilled;
using testing::NodeUnitsHarness;

constexpr auto kCancel = rpc::Message::kCancelTask;

class TaskManagerTest : public ::testing::Test {
 protected:
  TaskManagerTest() { node_.Attach(tasks_, /*actors=*/nullptr); }

  rpc::TaskSpec Spec(const std::string& name,
                     const std::map<std::string, double>& resources = {{"CPU", 1}}) {
    return testing::TaskSpecFor(driver_.job_id, name, resources);
  }
  TaskId Submit(rpc::TaskSpec spec) { return node_.Submit(driver_, std::move(spec)); }
  // Submits `spec`, which starts on `worker` at once.
  TaskId RunOn(ClientId worker, rpc::TaskSpec spec) {
    const TaskId task = Submit(std::move(spec));
    EXPECT_EQ(node_.ExecutedIds(worker), std::vector<TaskId>{task});
    return task;
  }
  rpc::TaskSpec Retried(const std::string& name, int max_retries) {
    rpc::TaskSpec spec = Spec(name);
    spec.set_max_retries(max_retries);
    return spec;
  }
  // A child of `parent` (running on `worker`) on half a CPU, submitted by
  // that worker.
  TaskId SubmitChild(const TaskId& parent, ClientId worker, const std::string& name) {
    rpc::TaskSpec child = Spec(name, {{"CPU", 0.5}});
    child.set_parent_task_id(parent.Binary());
    return node_.Submit(node_.clients().infos.at(worker), std::move(child));
  }
  // The one log line the driver was sent since the last call.
  std::string DriverLogLine() {
    std::vector<std::string> lines;
    for (const auto& message : node_.clients().Take(driver_.id, rpc::Message::kLogLines)) {
      for (const auto& line : message.log_lines().lines()) lines.push_back(line);
    }
    EXPECT_EQ(lines.size(), 1u);
    return lines.empty() ? "" : lines[0];
  }

  NodeUnitsHarness node_;
  testing::NoActors no_actors_;
  TaskManager tasks_{node_.units(), node_.policy(), node_.view(), no_actors_};
  ClientInfo driver_ = node_.Driver();
};

TEST_F(TaskManagerTest, ATaskRunsOnAnIdleWorkerAndItsReturnIsStored) {
  const ClientId worker = node_.StartWorker();
  const TaskId task = RunOn(worker, Spec("f"));
  node_.Done(worker, NodeUnitsHarness::Returned(task, "42"));
  ASSERT_NE(node_.Result(task), nullptr);
  EXPECT_EQ(node_.Result(task)->inline_data, "42");
  EXPECT_EQ(tasks_.size(), 0u) << "a finished task is forgotten";
}

TEST_F(TaskManagerTest, ATaskNoNodeCanHoldFailsInfeasibleAfterTheGrace) {
  const TaskId task = Submit(Spec("huge", {{"CPU", 8}}));
  EXPECT_EQ(tasks_.num_infeasible(), 1u) << "a node that fits may join";
  node_.timers().Advance(TaskManager::kInfeasibleGrace);
  EXPECT_EQ(node_.ErrorOf(task), rpc::INFEASIBLE);
  EXPECT_NE(node_.MessageOf(task).find("requires {CPU: 8}"), std::string::npos)
      << node_.MessageOf(task);
  EXPECT_EQ(tasks_.size(), 0u);
}

TEST_F(TaskManagerTest, ATaskWhoseArgumentFailedFailsWithThatErrorWithoutRunning) {
  const ClientId worker = node_.StartWorker();
  const TaskId producer = RunOn(worker, Spec("producer"));
  rpc::TaskSpec consumer = Spec("consumer");
  consumer.add_dependencies(ObjectIdFor(producer, 1).Binary());
  const TaskId consumer_id = Submit(consumer);
  node_.Done(worker, NodeUnitsHarness::Raised(producer, "ValueError: bad", /*retryable=*/false));
  for (const auto& execute : node_.Executed(worker)) {
    EXPECT_NE(execute.spec().task_id(), consumer_id.Binary()) << "it must not run";
  }
  EXPECT_EQ(node_.ErrorOf(consumer_id), rpc::TASK_ERROR);
  EXPECT_EQ(node_.MessageOf(consumer_id), "ValueError: bad");
}

// A large error is stored once as an object of its own that the error
// returns refer to: a task failed by it refers to it too, so it outlives
// the task that raised it for as long as any of those returns lives.
TEST_F(TaskManagerTest, ATaskFailedByAnArgumentsErrorKeepsTheStoredErrorAlive) {
  const ClientId worker = node_.StartWorker();
  const TaskId producer = RunOn(worker, Spec("producer"));
  rpc::TaskSpec consumer = Spec("consumer");
  consumer.add_dependencies(ObjectIdFor(producer, 1).Binary());
  const TaskId consumer_id = Submit(consumer);
  const ObjectId stored = ObjectIdFor(producer, kPutIndexBit | 1);
  ASSERT_TRUE(node_.objects().Create(worker, stored, 1000).ok());
  ASSERT_TRUE(node_.objects().Seal(stored, {}).ok());
  rpc::TaskDone raised = NodeUnitsHarness::Raised(producer, "ValueError: big", false);
  raised.mutable_returns(0)->add_contained_refs(stored.Binary());
  node_.Done(worker, raised);
  node_.objects().RemoveRef(worker, stored);  // the worker let go of it after reporting
  ASSERT_EQ(node_.ErrorOf(consumer_id), rpc::TASK_ERROR);
  EXPECT_EQ(node_.Result(consumer_id)->contained, std::vector<ObjectId>{stored})
      << "the consumer's error must refer to the stored error as the producer's did";

  node_.objects().RemoveRef(driver_.id, ObjectIdFor(producer, 1));
  EXPECT_FALSE(node_.objects().Contains(ObjectIdFor(producer, 1)));
  EXPECT_TRUE(node_.objects().Contains(stored)) << "freed while the consumer's error refers to it";
  node_.objects().RemoveRef(driver_.id, ObjectIdFor(consumer_id, 1));
  EXPECT_FALSE(node_.objects().Contains(stored)) << "it outlived every error that referred to it";
}

// ---- retries --------------------------------------------------------------------

TEST_F(TaskManagerTest, ACrashedTaskRunsAgainOnAFreshWorkerUntilItsRetriesRunOut) {
  const ClientId first = node_.StartWorker();
  const TaskId task = RunOn(first, Retried("flaky", 1));

  node_.WorkerDies(first);
  EXPECT_EQ(node_.Result(task), nullptr) << "a retry is left: nothing fails yet";
  const std::string log = DriverLogLine();
  EXPECT_NE(log.find("its worker (pid 101) was killed by signal 9 (Killed); retrying "
                        "(attempt 2)"),
            std::string::npos)
      << log;
  ASSERT_EQ(node_.num_launched(), 2u) << "a fresh worker is started for the retry";
  const ClientId second = node_.StartWorker();
  auto retried = node_.Executed(second);
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(retried[0].spec().attempt(), 1u);

  node_.WorkerDies(second);
  EXPECT_EQ(node_.ErrorOf(task), rpc::WORKER_CRASHED);
  EXPECT_NE(node_.MessageOf(task).find("no retries left"), std::string::npos)
      << node_.MessageOf(task);
}

TEST_F(TaskManagerTest, UnlimitedRetriesAreNeverSpent) {
  const ClientId first = node_.StartWorker();
  const TaskId task = RunOn(first, Retried("flaky", -1));
  ClientId worker = first;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    node_.WorkerDies(worker);
    worker = node_.StartWorker();
    auto retried = node_.Executed(worker);
    ASSERT_EQ(retried.size(), 1u);
    EXPECT_EQ(retried[0].spec().attempt(), static_cast<uint32_t>(attempt));
  }
  EXPECT_EQ(node_.Result(task), nullptr);
}

TEST_F(TaskManagerTest, ARetryableExceptionRunsTheTaskAgainThenItsLastErrorIsStored) {
  const ClientId worker = node_.StartWorker();
  const TaskId task = RunOn(worker, Retried("raises", 1));

  node_.Done(worker, NodeUnitsHarness::Raised(task, "ValueError: first", /*retryable=*/true));
  EXPECT_EQ(node_.Result(task), nullptr);
  const std::string log = DriverLogLine();
  EXPECT_NE(log.find("raised ValueError: first; retrying (attempt 2)"), std::string::npos)
      << log;
  auto retried = node_.Executed(worker);
  ASSERT_EQ(retried.size(), 1u) << "the same worker is free again";
  EXPECT_EQ(retried[0].spec().attempt(), 1u);

  node_.Done(worker, NodeUnitsHarness::Raised(task, "ValueError: second", /*retryable=*/true));
  EXPECT_EQ(node_.ErrorOf(task), rpc::TASK_ERROR);
  EXPECT_EQ(node_.MessageOf(task), "ValueError: second");
  EXPECT_TRUE(node_.Executed(worker).empty());
}

TEST_F(TaskManagerTest, AnExceptionNotMarkedRetryableIsStoredAtOnce) {
  const ClientId worker = node_.StartWorker();
  const TaskId task = RunOn(worker, Retried("raises", 3));
  node_.Done(worker, NodeUnitsHarness::Raised(task, "ValueError: once", /*retryable=*/false));
  EXPECT_EQ(node_.ErrorOf(task), rpc::TASK_ERROR);
  EXPECT_TRUE(node_.Executed(worker).empty());
}

TEST_F(TaskManagerTest, ATimedOutTaskWithRetryOnTimeoutLosesItsWorkerAndRunsAgain) {
  const ClientId first = node_.StartWorker();
  rpc::TaskSpec spec = Spec("slow");
  spec.set_timeout_s(1);
  spec.set_retry_on_timeout(true);
  spec.set_max_retries(1);
  const TaskId task = RunOn(first, spec);
  node_.timers().Advance(milliseconds(1000));
  EXPECT_TRUE(node_.processes().Killed(node_.pid_of(first)));
  EXPECT_EQ(node_.Result(task), nullptr) << "it is retried, not failed";

  node_.WorkerDies(first);
  const std::string log = DriverLogLine();
  EXPECT_NE(log.find("slow timed out: its worker"), std::string::npos) << log;
  const ClientId second = node_.StartWorker();
  ASSERT_EQ(node_.Executed(second).size(), 1u);

  node_.timers().Advance(milliseconds(1000));
  EXPECT_FALSE(node_.processes().Killed(node_.pid_of(second))) << "no retry left: cancelled";
  EXPECT_EQ(node_.ErrorOf(task), rpc::TASK_TIMEOUT);
  EXPECT_EQ(node_.clients().Take(second, kCancel).size(), 1u);
}

TEST_F(TaskManagerTest, AGeneratorThatYieldedIsNotRunAgainAfterACrash) {
  const ClientId worker = node_.StartWorker();
  rpc::TaskSpec spec = Spec("gen");
  spec.set_streaming(true);
  spec.set_max_retries(3);
  const TaskId task = RunOn(worker, spec);
  rpc::GeneratorYield items;
  items.set_task_id(task.Binary());
  auto* data = items.add_items()->mutable_data();
  data->set_object_id(GeneratorItemId(task, 0).Binary());
  data->set_inline_data("item0");
  node_.generators().OnYield(worker, items);
  node_.WorkerDies(worker);
  EXPECT_EQ(node_.ErrorOf(task), rpc::WORKER_CRASHED);
  EXPECT_NE(node_.MessageOf(task).find("after it had yielded items"), std::string::npos);
}

TEST_F(TaskManagerTest, TasksQueuedBehindACrashedOneGoBackWithoutSpendingRetries) {
  const ClientId first = node_.StartWorker();
  const TaskId doomed_id = Submit(Retried("doomed", 0));
  const TaskId queued = Submit(Spec("queued"));  // behind it: the only CPU is taken
  ASSERT_EQ(node_.Executed(first).size(), 2u);
  node_.WorkerDies(first);
  EXPECT_EQ(node_.ErrorOf(doomed_id), rpc::WORKER_CRASHED);
  const ClientId second = node_.StartWorker();
  auto executed = node_.Executed(second);
  ASSERT_EQ(executed.size(), 1u);
  EXPECT_EQ(executed[0].spec().task_id(), queued.Binary());
  EXPECT_EQ(executed[0].spec().attempt(), 0u);
}

// ---- cancellation and timeouts ------------------------------------------------------

TEST_F(TaskManagerTest, CancellingAQueuedTaskFailsItAndItNeverRuns) {
  const ClientId worker = node_.StartWorker();
  const TaskId running = RunOn(worker, Spec("long"));
  // Another shape: it waits in the scheduler, not behind the running task.
  const TaskId queued = Submit(Spec("waits", {{"CPU", 0.5}}));
  EXPECT_TRUE(node_.Executed(worker).empty());
  node_.Cancel(queued);
  EXPECT_EQ(node_.ErrorOf(queued), rpc::TASK_CANCELLED);
  node_.Done(worker, NodeUnitsHarness::Returned(running));
  EXPECT_TRUE(node_.Executed(worker).empty()) << "a cancelled task was run";
  EXPECT_EQ(tasks_.size(), 0u);
}

TEST_F(TaskManagerTest, CancellingARunningTaskInterruptsItThenKillsItsWorkerAfterTheGrace) {
  const ClientId worker = node_.StartWorker();
  const TaskId task = RunOn(worker, Spec("stubborn"));
  node_.Cancel(task);
  EXPECT_EQ(node_.ErrorOf(task), rpc::TASK_CANCELLED) << "get raises at once";
  EXPECT_EQ(node_.clients().Take(worker, kCancel).size(), 1u) << "asked to interrupt it";
  node_.timers().Advance(TaskManager::kCancelGrace - milliseconds(1));
  EXPECT_FALSE(node_.processes().Killed(node_.pid_of(worker)));
  node_.timers().Advance(milliseconds(1));
  EXPECT_TRUE(node_.processes().Killed(node_.pid_of(worker)))
      << "a task that ignores the interrupt loses its worker";
}

TEST_F(TaskManagerTest, ACancelledTaskThatStopsInTimeKeepsItsWorker) {
  const ClientId worker = node_.StartWorker();
  const TaskId task = RunOn(worker, Spec("polite"));
  node_.Cancel(task);
  node_.Done(worker, NodeUnitsHarness::Raised(task, "TaskCancelledError", /*retryable=*/false));
  node_.timers().Advance(TaskManager::kCancelGrace);
  EXPECT_FALSE(node_.processes().Killed(node_.pid_of(worker)));
}

TEST_F(TaskManagerTest, ForceCancelKillsTheWorkerAtOnceAndTheTaskIsNotRetried) {
  const ClientId worker = node_.StartWorker();
  const TaskId task = RunOn(worker, Retried("doomed", 3));
  node_.Cancel(task, /*force=*/true);
  EXPECT_TRUE(node_.processes().Killed(node_.pid_of(worker)));
  node_.WorkerDies(worker);
  EXPECT_EQ(node_.ErrorOf(task), rpc::TASK_CANCELLED);
  EXPECT_EQ(tasks_.size(), 0u) << "a cancelled task is never retried";
}

TEST_F(TaskManagerTest, ANonRecursiveCancelLeavesTheTasksItSubmittedAlone) {
  const ClientId worker = node_.StartWorker();
  const TaskId parent = RunOn(worker, Spec("parent"));
  const TaskId child = SubmitChild(parent, worker, "child");  // queued: the only CPU is taken
  node_.Cancel(parent, /*force=*/false, /*recursive=*/false);
  EXPECT_EQ(node_.ErrorOf(parent), rpc::TASK_CANCELLED);
  EXPECT_EQ(node_.Result(child), nullptr);
}

TEST_F(TaskManagerTest, RecursiveCancelReachesEveryTaskSubmittedBelowIt) {
  const ClientId worker = node_.StartWorker();
  const TaskId parent = RunOn(worker, Spec("parent"));
  const TaskId child = SubmitChild(parent, worker, "child");
  const TaskId grandchild = SubmitChild(child, worker, "grandchild");
  node_.Cancel(parent, /*force=*/false, /*recursive=*/true);
  EXPECT_EQ(node_.ErrorOf(parent), rpc::TASK_CANCELLED);
  EXPECT_EQ(node_.ErrorOf(child), rpc::TASK_CANCELLED);
  EXPECT_EQ(node_.ErrorOf(grandchild), rpc::TASK_CANCELLED);
}

TEST_F(TaskManagerTest, ADepartedDriversTasksAndTheirChildrenAreCancelled) {
  const ClientId worker = node_.StartWorker();
  const TaskId task = RunOn(worker, Spec("orphan"));
  const TaskId child = SubmitChild(task, worker, "child");
  tasks_.OnDriverGone(driver_.id);
  EXPECT_EQ(node_.ErrorOf(task), rpc::TASK_CANCELLED);
  EXPECT_EQ(node_.ErrorOf(child), rpc::TASK_CANCELLED);
  EXPECT_NE(node_.MessageOf(child).find("the driver that submitted it exited"),
            std::string::npos);
}

TEST_F(TaskManagerTest, ATaskRunningPastItsTimeoutIsCancelledWithTaskTimeout) {
  const ClientId worker = node_.StartWorker();
  rpc::TaskSpec spec = Spec("slow");
  spec.set_timeout_s(1.5);
  const TaskId task = RunOn(worker, spec);
  node_.timers().Advance(milliseconds(1499));
  EXPECT_EQ(node_.Result(task), nullptr);
  node_.timers().Advance(milliseconds(1));
  EXPECT_EQ(node_.ErrorOf(task), rpc::TASK_TIMEOUT);
  EXPECT_NE(node_.MessageOf(task).find("timed out after 1.5 s"), std::string::npos);
  EXPECT_EQ(node_.clients().Take(worker, kCancel).size(), 1u);
}

TEST_F(TaskManagerTest, TimeoutCountsFromWhenTheTaskStartsNotWhileItIsQueued) {
  const ClientId worker = node_.StartWorker();
  const TaskId first = RunOn(worker, Spec("first"));
  rpc::TaskSpec spec = Spec("second");
  spec.set_timeout_s(1);
  const TaskId second = Submit(spec);  // queued behind the first, on its worker
  node_.timers().Advance(milliseconds(5000));
  EXPECT_EQ(node_.Result(second), nullptr);
  node_.Done(worker, NodeUnitsHarness::Returned(first));
  node_.timers().Advance(milliseconds(999));
  EXPECT_EQ(node_.Result(second), nullptr);
  node_.timers().Advance(milliseconds(1));
  EXPECT_EQ(node_.ErrorOf(second), rpc::TASK_TIMEOUT);
}

TEST_F(TaskManagerTest, ATimeoutOfAFinishedAttemptDoesNothing) {
  const ClientId worker = node_.StartWorker();
  rpc::TaskSpec spec = Spec("quick");
  spec.set_timeout_s(1);
  const TaskId task = RunOn(worker, spec);
  node_.Done(worker, NodeUnitsHarness::Returned(task, "ok"));
  node_.timers().Advance(milliseconds(1000));
  EXPECT_EQ(node_.Result(task)->inline_data, "ok");
  EXPECT_TRUE(node_.clients().Take(worker, kCancel).empty());
}

// ---- placement groups -------------------------------------------------------------------

class TaskManagerGroupTest : public TaskManagerTest {
 protected:
  testing::TestGroups groups_{node_, driver_};
};

TEST_F(TaskManagerGroupTest, ATaskWaitsForItsGroupThenRunsInIt) {
  const ResourceSet demand = groups_.OneBundle(1, 1);
  const TaskId task = Submit(groups_.Task("placed", demand));  // the group is not reserved yet
  const ClientId worker = node_.StartWorker();             // dispatching reserves it
  EXPECT_EQ(node_.ExecutedIds(worker), std::vector<TaskId>{task});
}

TEST_F(TaskManagerGroupTest, ATaskAskingMoreThanItsGroupOffersIsInfeasible) {
  const TaskId task = Submit(groups_.Task("greedy", groups_.OneBundle(1, 2)));
  tasks_.Dispatch();
  EXPECT_EQ(node_.ErrorOf(task), rpc::INFEASIBLE);
  EXPECT_NE(node_.MessageOf(task).find("its placement group offers"), std::string::npos)
      << node_.MessageOf(task);
}

TEST_F(TaskManagerGroupTest, TasksInARemovedGroupAreCancelledAndTheRunningOneKilled) {
  const ClientId worker = node_.StartWorker();
  const ResourceSet half = groups_.OneBundle(1, 0.5);
  tasks_.Dispatch();
  const TaskId running = RunOn(worker, groups_.Task("running", half));
  const TaskId elsewhere = Submit(Spec("elsewhere", {{"CPU", 0.1}}));
  tasks_.EndTasksInGroup(groups_.id(), "its placement group was removed");
  EXPECT_EQ(node_.ErrorOf(running), rpc::TASK_CANCELLED);
  EXPECT_TRUE(node_.processes().Killed(node_.pid_of(worker)));
  EXPECT_EQ(node_.Result(elsewhere), nullptr) << "a task outside the group goes on";
}

// ---- workers that cannot start ------------------------------------------------------

TEST_F(TaskManagerTest, WhenWorkersCannotStartQueuedAndLaterTasksFailWithTheReason) {
  const TaskId queued = Submit(Spec("queued"));  // no worker registered
  tasks_.OnWorkersBroken("worker processes fail to start");
  EXPECT_EQ(node_.ErrorOf(queued), rpc::WORKER_CRASHED);
  const TaskId later = Submit(Spec("later"));
  EXPECT_EQ(node_.ErrorOf(later), rpc::WORKER_CRASHED);
  EXPECT_EQ(node_.MessageOf(later), "worker processes fail to start");
}

}  // namespace
}  // namespace flare
