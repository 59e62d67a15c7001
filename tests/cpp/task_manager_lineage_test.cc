// Specification of lineage reconstruction in the TaskManager: a task that
// ran on another node and left its only copy of a result there is kept
// (with its arguments) while that result lives here; when the node dies,
// the task runs again elsewhere and its result is pending until then, lost
// arguments are made again first, and what may not run again becomes an
// OBJECT_LOST error saying why. This node has no CPU: what runs again goes
// to node c. Fake I/O (task_manager_remote_harness.h).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "raylet/lineage.h"
#include "task_manager_remote_harness.h"

namespace flare {
namespace {

class TaskManagerLineageTest : public TaskManagerRemoteTest {
 protected:
  TaskManagerLineageTest() : TaskManagerRemoteTest(0) {
    Report(b_, 4, 4);
    Report(c_, 4, 4);
  }
  // A task that prefers node b and may run three more times.
  TaskId SubmitToB(const std::string& name, const std::vector<ObjectId>& args = {},
                   int max_retries = 3) {
    return Submit(Retried(Reading(Pinned(name, b_, /*soft=*/true), args), max_retries));
  }
  bool Pending(const ObjectId& id) {
    const ObjectEntry* entry = node_.objects().Find(id);
    return entry != nullptr && entry->state == ObjectState::kPending;
  }
};

TEST_F(TaskManagerLineageTest, AResultLostWithItsNodeIsMadeAgainByRunningItsTaskElsewhere) {
  const TaskId task = SubmitToB("big");
  ReturnsInStore(b_, task, 1 << 16);
  ASSERT_TRUE(node_.objects().NeedsFetch(ObjectIdFor(task, 1)));
  EXPECT_EQ(tasks_.size(), 0u);

  NodeDies(b_);

  EXPECT_TRUE(Pending(ObjectIdFor(task, 1))) << "its readers wait for the new run";
  ASSERT_EQ(SpecsSentTo(c_).size(), 1u);
  EXPECT_EQ(SpecsSentTo(c_)[0].attempt(), 1u) << "a run more, counted against its retries";
  bool logged = false;
  for (const std::string& line : DriverLog()) logged = logged || Contains(line, "again");
  EXPECT_TRUE(logged) << "the driver hears why the task runs again";

  ReturnsInStore(c_, task, 1 << 16);

  ASSERT_NE(node_.Result(task), nullptr);
  EXPECT_EQ(node_.Result(task)->elsewhere, c_) << "made anew on c";
}

TEST_F(TaskManagerLineageTest, LostArgumentsAreMadeAgainBeforeTheTaskThatReadsThem) {
  const TaskId producer = SubmitToB("producer");
  ReturnsInStore(b_, producer, 1 << 16);
  const ObjectId made = ObjectIdFor(producer, 1);
  const TaskId consumer = SubmitToB("consumer", {made});
  ReturnsInStore(b_, consumer, 1 << 16);
  node_.objects().RemoveRef(driver_.id, made);  // only the consumer's lineage keeps it
  ASSERT_TRUE(node_.objects().Contains(made));

  NodeDies(b_);

  EXPECT_TRUE(Pending(made));
  EXPECT_TRUE(Pending(ObjectIdFor(consumer, 1)));
  EXPECT_EQ(SentTo(c_), std::vector<TaskId>{producer}) << "the consumer waits for its argument";

  ReturnsInStore(c_, producer, 1 << 16);

  EXPECT_EQ(SentTo(c_), (std::vector<TaskId>{producer, consumer}));
  ReturnsInStore(c_, consumer, 1 << 16);
  EXPECT_NE(node_.Result(consumer), nullptr);
}

TEST_F(TaskManagerLineageTest, AResultWhoseTaskMayNotRunAgainIsLostSayingWhy) {
  const TaskId task = SubmitToB("once", {}, /*max_retries=*/0);
  ReturnsInStore(b_, task, 1 << 16);

  NodeDies(b_);

  EXPECT_EQ(node_.ErrorOf(task), rpc::OBJECT_UNRECONSTRUCTABLE) << "a task's result, not a put";
  EXPECT_TRUE(Contains(node_.MessageOf(task), b_.Hex())) << node_.MessageOf(task);
  EXPECT_TRUE(Contains(node_.MessageOf(task), "cannot be made again")) << node_.MessageOf(task);
  EXPECT_TRUE(SentTo(c_).empty());
}

TEST_F(TaskManagerLineageTest, ATaskRunsAgainAtMostAsOftenAsItsRetriesAllow) {
  const TaskId task = SubmitToB("flaky", {}, /*max_retries=*/1);
  ReturnsInStore(b_, task, 1 << 16);
  NodeDies(b_);
  ASSERT_EQ(SentTo(c_), std::vector<TaskId>{task});
  ReturnsInStore(c_, task, 1 << 16);

  NodeDies(c_);

  EXPECT_EQ(node_.ErrorOf(task), rpc::OBJECT_UNRECONSTRUCTABLE);
  EXPECT_TRUE(Contains(node_.MessageOf(task), "retries are spent")) << node_.MessageOf(task);
  EXPECT_EQ(SentTo(c_), std::vector<TaskId>{task}) << "not run a third time";
}

TEST_F(TaskManagerLineageTest, TheLineageHoldsTheArgumentsUntilTheResultIsFreed) {
  const ObjectId arg = PutInStore(4096);
  const TaskId task = SubmitToB("reader", {arg});
  ReturnsInStore(b_, task, 1 << 16);
  node_.objects().RemoveRef(driver_.id, arg);
  EXPECT_TRUE(node_.objects().Contains(arg)) << "kept to run the task again";
  EXPECT_TRUE(node_.objects().Find(arg)->holders.contains(kLineageHolder));

  node_.objects().RemoveRef(driver_.id, ObjectIdFor(task, 1));  // the result's last ref
  node_.timers().RunPosted();

  EXPECT_FALSE(node_.objects().Contains(arg)) << "let go of with the result";
}

}  // namespace
}  // namespace flare

namespace flare {
namespace {

// ---- a node that could not fetch an argument ------------------------------------------

// What node `from` sends back for `task` when it could not fetch `lost`.
rpc::TaskSpilledBack LostArgument(const TaskId& task, const ObjectId& lost) {
  rpc::TaskSpilledBack back;
  back.set_task_id(task.Binary());
  back.set_why("its argument could not be fetched");
  back.add_lost_args(lost.Binary());
  ResourceSet::FromMap({{"CPU", 4}}).ToProto(back.mutable_total());  // what c has
  return back;
}

TEST_F(TaskManagerLineageTest, ATaskSentBackForAnArgumentOnADeadNodeRunsOnceItIsMadeAgain) {
  const TaskId producer = SubmitToB("producer");
  ReturnsInStore(b_, producer, 1 << 16);
  const ObjectId made = ObjectIdFor(producer, 1);
  const TaskId reader = Submit(Retried(Reading(Pinned("reader", c_), {made}), 0));
  ASSERT_EQ(SentTo(c_), std::vector<TaskId>{reader});

  NodeDies(b_);  // the producer runs again, on c
  ASSERT_EQ(SentTo(c_), (std::vector<TaskId>{reader, producer}));
  tasks_.OnSpilledBack(c_, LostArgument(reader, made));  // c could not pull it from b
  EXPECT_EQ(SentTo(c_), (std::vector<TaskId>{reader, producer})) << "it waits for its argument";
  EXPECT_TRUE(Pending(made));

  ReturnsInStore(c_, producer, 1 << 16);
  EXPECT_EQ(SentTo(c_), (std::vector<TaskId>{reader, producer, reader}));
  EXPECT_EQ(node_.Result(reader), nullptr) << "no retry was spent: it never ran: "
                                           << node_.MessageOf(reader);
}

TEST_F(TaskManagerLineageTest, ATaskSentBackBeforeTheArgumentsNodeIsKnownDeadGoesAgainShortly) {
  const TaskId producer = SubmitToB("producer");
  ReturnsInStore(b_, producer, 1 << 16);
  const ObjectId made = ObjectIdFor(producer, 1);
  const TaskId reader = Submit(Retried(Reading(Pinned("reader", c_), {made}), 0));

  tasks_.OnSpilledBack(c_, LostArgument(reader, made));  // b is still in the view here
  EXPECT_EQ(SentTo(c_), std::vector<TaskId>{reader}) << "not sent back at once";
  NodeDies(b_);
  node_.timers().Advance(TaskManager::kLostArgumentRetry);
  EXPECT_EQ(SentTo(c_), (std::vector<TaskId>{reader, producer}))
      << "the producer runs again; the reader waits for it";
  ReturnsInStore(c_, producer, 1 << 16);
  EXPECT_EQ(SentTo(c_), (std::vector<TaskId>{reader, producer, reader}));
}

TEST_F(TaskManagerRemoteTest, ATaskAPeerPlacedHereWhoseArgumentCouldNotBeFetchedGoesBackToIt) {
  node_.StartWorker();
  const ClientInfo b = node_.Peer(b_);
  const ObjectId arg = ObjectIdFor(TaskId::FromRandom(), 1);
  node_.objects().AddPending(b.id, arg);  // as a location from b does, before the pull
  const TaskId task = node_.Submit(b, Reading(Spec("reader"), {arg}));

  tasks_.OnArgumentNotFetched(arg);
  node_.objects().SetError(arg, rpc::OBJECT_LOST, "not fetched from node c", "");
  node_.scheduler().OnObjectReady(arg);
  tasks_.Dispatch();

  const auto back = node_.clients().Take(b.id, rpc::Message::kTaskSpilledBack);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].task_spilled_back().task_id(), task.Binary());
  ASSERT_EQ(back[0].task_spilled_back().lost_args_size(), 1);
  EXPECT_EQ(back[0].task_spilled_back().lost_args(0), arg.Binary());
  EXPECT_EQ(tasks_.size(), 0u);
  EXPECT_TRUE(node_.clients().Take(b.id, rpc::Message::kObjectReady).empty())
      << "the error its return got here is not sent: b would take it for its next attempt's";
}

}  // namespace
}  // namespace flare
