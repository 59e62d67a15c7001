// Specification of a worker's task queue: what runs, what is handed back to
// the raylet, and how cancels are answered. Cancels of a running task are
// recorded by a fake CancelDelivery instead of a signal.
#include "client/task_receiver.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace flare {
namespace {

class RecordingCancel : public CancelDelivery {
 public:
  void InterruptRunningTask() override { interrupts++; }
  int interrupts = 0;
};

TaskId Task(uint8_t n) {
  TaskId id;
  id.MutableData()[0] = n;
  return id;
}

ObjectId Arg(uint8_t n) {
  ObjectId id;
  id.MutableData()[0] = 100 + n;
  return id;
}

// Task `n` with `num_returns` returns; `in_store_arg`: one argument pinned
// in the arena for this worker.
rpc::ExecuteTask Execute(uint8_t n, uint32_t num_returns = 1, bool in_store_arg = false) {
  rpc::ExecuteTask task;
  task.mutable_spec()->set_task_id(Task(n).Binary());
  task.mutable_spec()->set_function_name("f" + std::to_string(n));
  task.mutable_spec()->set_num_returns(num_returns);
  auto* resolved = task.add_resolved();
  resolved->set_object_id(Arg(n).Binary());
  resolved->set_in_store(in_store_arg);
  return task;
}

std::vector<TaskId> Returned(const rpc::Message& message) {
  std::vector<TaskId> ids;
  for (const auto& id : message.tasks_returned().task_ids()) ids.push_back(TaskId::FromBinary(id));
  return ids;
}

class TaskReceiverTest : public ::testing::Test {
 protected:
  RecordingCancel cancel_;
  TaskReceiver receiver_{cancel_};
};

TEST_F(TaskReceiverTest, TasksRunInTheOrderTheyArrived) {
  EXPECT_FALSE(receiver_.HasWork());
  EXPECT_TRUE(receiver_.OnExecuteTask(Execute(1)).messages.empty());
  EXPECT_TRUE(receiver_.OnExecuteTask(Execute(2)).messages.empty());
  EXPECT_TRUE(receiver_.HasWork());
  EXPECT_EQ(receiver_.PopTask()->spec().task_id(), Task(1).Binary());
  EXPECT_EQ(receiver_.PopTask()->spec().task_id(), Task(2).Binary());
  EXPECT_FALSE(receiver_.PopTask().has_value());
}

TEST_F(TaskReceiverTest, ATaskArrivingWhileBlockedIsHandedBackWithItsPins) {
  receiver_.PopTask();
  receiver_.SetBlocked(true);
  TaskActions actions = receiver_.OnExecuteTask(Execute(2, 1, /*in_store_arg=*/true));
  ASSERT_EQ(actions.messages.size(), 1u);
  EXPECT_EQ(Returned(actions.messages[0]), std::vector<TaskId>{Task(2)});
  EXPECT_EQ(actions.pins_to_release, std::vector<ObjectId>{Arg(2)});
  EXPECT_EQ(receiver_.num_queued(), 0u);
}

TEST_F(TaskReceiverTest, BlockingHandsBackTheQueueThenLendsTheCpu) {
  receiver_.OnExecuteTask(Execute(1));
  receiver_.PopTask();
  receiver_.OnExecuteTask(Execute(2, 1, /*in_store_arg=*/true));
  receiver_.OnExecuteTask(Execute(3));
  TaskActions actions = receiver_.SetBlocked(true);
  ASSERT_EQ(actions.messages.size(), 2u);
  EXPECT_EQ(Returned(actions.messages[0]), (std::vector<TaskId>{Task(2), Task(3)}));
  EXPECT_TRUE(actions.messages[1].worker_blocked().blocked()) << "after the hand-back";
  EXPECT_EQ(actions.pins_to_release, std::vector<ObjectId>{Arg(2)}) << "only in-store arguments";
  EXPECT_FALSE(receiver_.HasWork());

  actions = receiver_.SetBlocked(false);
  ASSERT_EQ(actions.messages.size(), 1u);
  EXPECT_FALSE(actions.messages[0].worker_blocked().blocked());
  EXPECT_TRUE(receiver_.OnExecuteTask(Execute(4)).messages.empty())
      << "queued again once unblocked";
}

TEST_F(TaskReceiverTest, AnActorKeepsItsCallsWhileBlocked) {
  receiver_.BecomeActor();
  EXPECT_TRUE(receiver_.SetBlocked(true).messages.empty()) << "an actor holds no task CPU";
  EXPECT_TRUE(receiver_.OnExecuteTask(Execute(1)).messages.empty());
  EXPECT_EQ(receiver_.num_queued(), 1u);
}

TEST_F(TaskReceiverTest, TheRayletCanAskForTheQueueEvenWhenItIsEmpty) {
  TaskActions actions = receiver_.ReturnQueuedTasks();
  ASSERT_EQ(actions.messages.size(), 1u) << "it is always answered";
  EXPECT_TRUE(actions.messages[0].has_tasks_returned());
  EXPECT_TRUE(Returned(actions.messages[0]).empty());
}

TEST_F(TaskReceiverTest, ACancelledQueuedTaskIsAnsweredWithCancelledReturns) {
  receiver_.OnExecuteTask(Execute(1, /*num_returns=*/2, /*in_store_arg=*/true));
  TaskActions actions = receiver_.OnCancel(Task(1));
  ASSERT_EQ(actions.messages.size(), 1u);
  const rpc::TaskDone& done = actions.messages[0].task_done();
  EXPECT_EQ(done.task_id(), Task(1).Binary());
  ASSERT_EQ(done.returns_size(), 2);
  for (uint32_t i = 0; i < 2; ++i) {
    EXPECT_EQ(done.returns(i).data().object_id(), ObjectIdFor(Task(1), i + 1).Binary());
    EXPECT_EQ(done.returns(i).data().error(), rpc::TASK_CANCELLED);
    EXPECT_EQ(done.returns(i).data().error_message(), "task f1 was cancelled");
  }
  EXPECT_EQ(actions.pins_to_release, std::vector<ObjectId>{Arg(1)});
  EXPECT_FALSE(receiver_.HasWork());
  EXPECT_EQ(cancel_.interrupts, 0) << "nothing was running";
}

TEST_F(TaskReceiverTest, ACancelledRunningTaskIsInterruptedAndReportedOnce) {
  receiver_.OnExecuteTask(Execute(1));
  receiver_.PopTask();
  EXPECT_TRUE(receiver_.OnCancel(Task(1)).messages.empty());
  EXPECT_EQ(cancel_.interrupts, 1);
  EXPECT_TRUE(receiver_.TakeCancelRequest());
  EXPECT_FALSE(receiver_.TakeCancelRequest()) << "reported once";
}

TEST_F(TaskReceiverTest, ACancelOfAFinishedOrUnknownTaskDoesNothing) {
  receiver_.OnExecuteTask(Execute(1));
  receiver_.PopTask();
  receiver_.OnTaskDone();
  EXPECT_TRUE(receiver_.OnCancel(Task(1)).messages.empty());
  EXPECT_TRUE(receiver_.OnCancel(Task(9)).messages.empty());
  EXPECT_EQ(cancel_.interrupts, 0);
  EXPECT_FALSE(receiver_.TakeCancelRequest());
}

TEST_F(TaskReceiverTest, ACancelRequestDoesNotCarryOverToTheNextTask) {
  receiver_.OnExecuteTask(Execute(1));
  receiver_.OnExecuteTask(Execute(2));
  receiver_.PopTask();
  receiver_.OnCancel(Task(1));
  receiver_.OnTaskDone();
  receiver_.PopTask();
  EXPECT_FALSE(receiver_.TakeCancelRequest());
}

TEST_F(TaskReceiverTest, ACancelledRunningActorCallGoesToTheActorsLoopNotTheThread) {
  receiver_.BecomeActor();
  receiver_.OnExecuteTask(Execute(1));
  receiver_.PopTask();
  EXPECT_FALSE(receiver_.HasWork());
  receiver_.OnCancel(Task(1));
  EXPECT_EQ(cancel_.interrupts, 0);
  EXPECT_TRUE(receiver_.HasWork()) << "NextTask wakes to report it";
  EXPECT_EQ(receiver_.TakeCancelledCalls(), std::vector<TaskId>{Task(1)});
  EXPECT_TRUE(receiver_.TakeCancelledCalls().empty());
  EXPECT_FALSE(receiver_.HasWork());
}

}  // namespace
}  // namespace flare
