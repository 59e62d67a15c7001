// Specification of the worker pool's bookkeeping, with a launcher that only
// records what it was asked to start.
#include "raylet/worker_pool.h"

#include <algorithm>
#include <vector>

#include <gtest/gtest.h>

namespace flare {
namespace {

class FakeLauncher : public WorkerLauncher {
 public:
  absl::StatusOr<pid_t> Launch(const WorkerId& worker_id) override {
    if (fail) return absl::InternalError("fork failed");
    launched.push_back(worker_id);
    return next_pid++;
  }

  std::vector<WorkerId> launched;
  pid_t next_pid = 1000;
  bool fail = false;
};

class WorkerPoolTest : public ::testing::Test {
 protected:
  // Registers every launched worker that has not registered yet; client ids
  // are 100 + launch index.
  void RegisterAll() {
    for (size_t i = registered_; i < launcher_.launched.size(); ++i) {
      ASSERT_TRUE(pool_.OnRegistered(launcher_.launched[i], ClientOf(i)));
    }
    registered_ = launcher_.launched.size();
  }
  static ClientId ClientOf(size_t launch_index) { return 100 + launch_index; }
  static pid_t PidOf(size_t launch_index) { return 1000 + static_cast<pid_t>(launch_index); }

  FakeLauncher launcher_;
  WorkerPool pool_{launcher_, /*num_prestart=*/2, /*max_workers=*/4};
  size_t registered_ = 0;
};

TEST_F(WorkerPoolTest, PrestartStartsNumPrestartWorkers) {
  ASSERT_TRUE(pool_.Prestart().ok());
  EXPECT_EQ(launcher_.launched.size(), 2u);
  EXPECT_EQ(pool_.size(), 2u);
  EXPECT_EQ(pool_.num_starting(), 2u);
  EXPECT_EQ(pool_.num_idle(), 0u) << "not idle before they register";
  ASSERT_TRUE(pool_.Prestart().ok());
  EXPECT_EQ(launcher_.launched.size(), 2u) << "a second Prestart starts nothing";
}

TEST_F(WorkerPoolTest, PrestartReportsALaunchFailure) {
  launcher_.fail = true;
  EXPECT_FALSE(pool_.Prestart().ok());
  EXPECT_EQ(pool_.size(), 0u);
}

TEST_F(WorkerPoolTest, RegisteredWorkerBecomesIdle) {
  ASSERT_TRUE(pool_.Prestart().ok());
  ASSERT_TRUE(pool_.OnRegistered(launcher_.launched[0], ClientOf(0)));
  EXPECT_EQ(pool_.num_idle(), 1u);
  EXPECT_EQ(pool_.num_starting(), 1u);
  const WorkerInfo* info = pool_.Find(ClientOf(0));
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->state, WorkerState::kIdle);
  EXPECT_EQ(info->pid, PidOf(0));
  EXPECT_EQ(info->id, launcher_.launched[0]);
}

TEST_F(WorkerPoolTest, RegistrationWithAnUnknownOrUsedIdIsRejected) {
  ASSERT_TRUE(pool_.Prestart().ok());
  EXPECT_FALSE(pool_.OnRegistered(WorkerId::FromRandom(), 55));
  ASSERT_TRUE(pool_.OnRegistered(launcher_.launched[0], ClientOf(0)));
  EXPECT_FALSE(pool_.OnRegistered(launcher_.launched[0], 56)) << "registered twice";
  EXPECT_EQ(pool_.num_idle(), 1u);
}

TEST_F(WorkerPoolTest, PopIdleAssignsTheTaskAndOnTaskFinishedReturnsTheWorker) {
  ASSERT_TRUE(pool_.Prestart().ok());
  RegisterAll();
  const TaskId task = TaskId::FromRandom();
  auto client = pool_.PopIdle(task);
  ASSERT_TRUE(client.has_value());
  EXPECT_EQ(pool_.num_idle(), 1u);
  const WorkerInfo* info = pool_.Find(*client);
  EXPECT_EQ(info->state, WorkerState::kBusy);
  EXPECT_EQ(info->task, task);

  pool_.SetBlocked(*client, true);
  EXPECT_TRUE(pool_.Find(*client)->blocked);
  pool_.OnTaskFinished(*client);
  EXPECT_EQ(pool_.num_idle(), 2u);
  EXPECT_EQ(info->state, WorkerState::kIdle);
  EXPECT_FALSE(info->task.has_value());
  EXPECT_FALSE(info->blocked) << "a finished task's worker is not blocked";
}

TEST_F(WorkerPoolTest, PopIdleReturnsNulloptWhenNoWorkerIsIdle) {
  ASSERT_TRUE(pool_.Prestart().ok());
  EXPECT_FALSE(pool_.PopIdle(TaskId::FromRandom()).has_value()) << "all still starting";
  RegisterAll();
  EXPECT_TRUE(pool_.PopIdle(TaskId::FromRandom()).has_value());
  EXPECT_TRUE(pool_.PopIdle(TaskId::FromRandom()).has_value());
  EXPECT_FALSE(pool_.PopIdle(TaskId::FromRandom()).has_value());
}

TEST_F(WorkerPoolTest, MostRecentlyIdleWorkerIsReusedFirst) {
  ASSERT_TRUE(pool_.Prestart().ok());
  RegisterAll();
  auto first = pool_.PopIdle(TaskId::FromRandom());
  auto second = pool_.PopIdle(TaskId::FromRandom());
  ASSERT_TRUE(first && second);
  pool_.OnTaskFinished(*first);
  pool_.OnTaskFinished(*second);
  EXPECT_EQ(pool_.PopIdle(TaskId::FromRandom()), second) << "the hottest worker goes first";
}

TEST_F(WorkerPoolTest, GrowStartsNothingWhileIdleWorkersCoverTheDemand) {
  ASSERT_TRUE(pool_.Prestart().ok());
  RegisterAll();
  EXPECT_EQ(pool_.Grow(2), 0u);
  EXPECT_EQ(launcher_.launched.size(), 2u);
}

TEST_F(WorkerPoolTest, GrowCountsStartingWorkersAsComingSupply) {
  ASSERT_TRUE(pool_.Prestart().ok());
  EXPECT_EQ(pool_.Grow(2), 0u) << "two are already starting";
  EXPECT_EQ(pool_.Grow(3), 1u);
  EXPECT_EQ(pool_.Grow(3), 0u) << "the third is starting now";
  EXPECT_EQ(pool_.num_starting(), 3u);
}

TEST_F(WorkerPoolTest, GrowNeverExceedsMaxWorkers) {
  ASSERT_TRUE(pool_.Prestart().ok());
  RegisterAll();
  pool_.PopIdle(TaskId::FromRandom());
  pool_.PopIdle(TaskId::FromRandom());
  EXPECT_EQ(pool_.Grow(100), 2u);
  EXPECT_EQ(pool_.size(), 4u);
  EXPECT_EQ(pool_.Grow(100), 0u);
  EXPECT_EQ(launcher_.launched.size(), 4u);
}

TEST_F(WorkerPoolTest, MaxWorkersIsAtLeastNumPrestart) {
  FakeLauncher launcher;
  WorkerPool pool(launcher, /*num_prestart=*/3, /*max_workers=*/1);
  ASSERT_TRUE(pool.Prestart().ok());
  EXPECT_EQ(pool.size(), 3u);
  EXPECT_EQ(pool.Grow(10), 0u);
}

TEST_F(WorkerPoolTest, GrowReplacesDeadWorkersUpToNumPrestart) {
  ASSERT_TRUE(pool_.Prestart().ok());
  RegisterAll();
  ASSERT_TRUE(pool_.OnProcessExited(PidOf(0)).has_value());
  EXPECT_EQ(pool_.size(), 1u);
  EXPECT_EQ(pool_.Grow(0), 1u);
  EXPECT_EQ(pool_.size(), 2u);
}

TEST_F(WorkerPoolTest, DisconnectedWorkerTakesNoMoreTasks) {
  ASSERT_TRUE(pool_.Prestart().ok());
  RegisterAll();
  pool_.OnDisconnected(ClientOf(0));
  pool_.OnDisconnected(ClientOf(1));
  EXPECT_EQ(pool_.num_idle(), 0u);
  EXPECT_FALSE(pool_.PopIdle(TaskId::FromRandom()).has_value());
  EXPECT_EQ(pool_.Find(ClientOf(0)), nullptr);
  EXPECT_EQ(pool_.size(), 2u) << "the record stays until the process exits";
}

TEST_F(WorkerPoolTest, LateTaskFinishedOfADisconnectedWorkerIsIgnored) {
  ASSERT_TRUE(pool_.Prestart().ok());
  RegisterAll();
  auto client = pool_.PopIdle(TaskId::FromRandom());
  ASSERT_TRUE(client);
  pool_.OnDisconnected(*client);
  pool_.OnTaskFinished(*client);
  EXPECT_EQ(pool_.num_idle(), 1u) << "only the other worker is idle";
  EXPECT_NE(pool_.PopIdle(TaskId::FromRandom()), client);
}

TEST_F(WorkerPoolTest, ProcessExitReturnsTheTaskTheWorkerWasRunning) {
  ASSERT_TRUE(pool_.Prestart().ok());
  RegisterAll();
  const TaskId task = TaskId::FromRandom();
  auto client = pool_.PopIdle(task);
  ASSERT_TRUE(client);
  const pid_t pid = pool_.Find(*client)->pid;
  pool_.OnDisconnected(*client);

  auto info = pool_.OnProcessExited(pid);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->task, task);
  EXPECT_EQ(info->state, WorkerState::kBusy);
  EXPECT_EQ(info->client, *client);
  EXPECT_EQ(pool_.size(), 1u);
  EXPECT_FALSE(pool_.OnProcessExited(pid).has_value()) << "already forgotten";
}

TEST_F(WorkerPoolTest, ExitOfAnIdleWorkerRemovesItFromTheIdleSet) {
  ASSERT_TRUE(pool_.Prestart().ok());
  RegisterAll();
  auto info = pool_.OnProcessExited(PidOf(1));
  ASSERT_TRUE(info.has_value());
  EXPECT_FALSE(info->task.has_value());
  EXPECT_EQ(pool_.num_idle(), 1u);
  EXPECT_EQ(pool_.PopIdle(TaskId::FromRandom()), ClientOf(0));
}

TEST_F(WorkerPoolTest, ExitOfAStartingWorkerIsNoLongerCountedAsStarting) {
  ASSERT_TRUE(pool_.Prestart().ok());
  auto info = pool_.OnProcessExited(PidOf(0));
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->state, WorkerState::kStarting);
  EXPECT_EQ(pool_.num_starting(), 1u);
  EXPECT_FALSE(pool_.OnRegistered(launcher_.launched[0], ClientOf(0)));
}

TEST_F(WorkerPoolTest, PidsListsEveryKnownProcess) {
  ASSERT_TRUE(pool_.Prestart().ok());
  std::vector<pid_t> pids = pool_.Pids();
  std::sort(pids.begin(), pids.end());
  EXPECT_EQ(pids, (std::vector<pid_t>{PidOf(0), PidOf(1)}));
}

// Actors keep their worker for life: the pool replaces them in its
// complement, and they do not count against max_workers.
TEST_F(WorkerPoolTest, DedicatedWorkersLeaveThePoolsCounts) {
  ASSERT_TRUE(pool_.Prestart().ok());
  RegisterAll();
  for (int i = 0; i < 2; ++i) {
    auto worker = pool_.PopIdle(TaskId::FromRandom());
    ASSERT_TRUE(worker.has_value());
    pool_.Dedicate(*worker);
  }
  EXPECT_EQ(pool_.Grow(0), 2u) << "the prestarted complement is restored";
  RegisterAll();
  EXPECT_EQ(pool_.Grow(10), 2u) << "max_workers counts only the task workers";
  EXPECT_EQ(pool_.size(), 6u);
  auto info = pool_.OnProcessExited(PidOf(0));
  ASSERT_TRUE(info.has_value());
  EXPECT_TRUE(info->dedicated);
  EXPECT_EQ(pool_.Grow(10), 0u) << "an actor's exit frees no task-worker slot";
}

// Nested tasks blocked in get wait on children that need workers of their
// own: blocked workers must not use up max_workers, or deep nesting
// deadlocks. A hard limit (8 x max_workers) still bounds the processes.
TEST_F(WorkerPoolTest, BlockedWorkersDoNotCountAgainstMaxWorkers) {
  ASSERT_TRUE(pool_.Prestart().ok());
  RegisterAll();
  std::vector<ClientId> busy;
  for (int round = 0; round < 5; ++round) {
    while (auto worker = pool_.PopIdle(TaskId::FromRandom())) busy.push_back(*worker);
    for (ClientId client : busy) pool_.SetBlocked(client, true);
    pool_.Grow(100);
    RegisterAll();
  }
  EXPECT_GT(pool_.size(), 4u) << "blocked workers kept the pool from growing";
  while (auto worker = pool_.PopIdle(TaskId::FromRandom())) busy.push_back(*worker);
  for (ClientId client : busy) pool_.SetBlocked(client, true);
  for (int round = 0; round < 40; ++round) {
    pool_.Grow(1000);
    RegisterAll();
    while (auto worker = pool_.PopIdle(TaskId::FromRandom())) {
      pool_.SetBlocked(*worker, true);
    }
  }
  EXPECT_EQ(pool_.size(), 32u) << "the hard limit is 8 x max_workers";
  EXPECT_TRUE(pool_.at_hard_limit());
  // Unblocked workers count again: nothing more starts while 4 can run.
  for (size_t i = 0; i < 4; ++i) pool_.SetBlocked(busy[i], false);
  EXPECT_EQ(pool_.Grow(1000), 0u);
}

TEST_F(WorkerPoolTest, AnExitedBlockedWorkerNoLongerCountsAsBlocked) {
  ASSERT_TRUE(pool_.Prestart().ok());
  RegisterAll();
  auto a = pool_.PopIdle(TaskId::FromRandom());
  auto b = pool_.PopIdle(TaskId::FromRandom());
  pool_.SetBlocked(*a, true);
  pool_.SetBlocked(*b, true);
  ASSERT_TRUE(pool_.OnProcessExited(PidOf(0)).has_value());
  ASSERT_TRUE(pool_.OnProcessExited(PidOf(1)).has_value());
  // Two prestarted replacements, then two more up to max_workers = 4.
  EXPECT_EQ(pool_.Grow(100), 4u);
}

}  // namespace
}  // namespace flare
