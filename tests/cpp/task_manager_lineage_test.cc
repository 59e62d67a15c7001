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

  EXPECT_EQ(node_.ErrorOf(task), rpc::OBJECT_LOST);
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

  EXPECT_EQ(node_.ErrorOf(task), rpc::OBJECT_LOST);
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
