// Specification of tasks and actors in a placement group whose bundle's
// node dies: they wait while the group places that bundle again (tasks
// that ran there, retried by the usual rules; new ones; an actor's
// restart), then go to the bundle's new node; what needs only the bundles
// that stayed runs at once. Played over the node's units with fake I/O
// (task_manager_remote_harness.h).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "task_manager_remote_harness.h"

namespace flare {
namespace {

// A STRICT_SPREAD group of two one-CPU bundles: bundle 0 here, bundle 1 on b.
class TaskManagerGroupFailoverTest : public TaskManagerRemoteTest {
 protected:
  TaskManagerGroupFailoverTest() {
    Report(b_, 1, 1);
    groups_.Create({1, 1}, "STRICT_SPREAD");
    tasks_.Dispatch();
    Agrees(b_);
  }
  // `node` agrees to hold what it was last asked to.
  void Agrees(const NodeId& node) {
    const auto prepares = node_.peers().Of(node, rpc::Message::kPrepareBundles);
    ASSERT_FALSE(prepares.empty()) << "nothing was asked of that node";
    rpc::BundlesPrepared reply;
    reply.set_pg_id(groups_.id().Binary());
    reply.set_round(prepares.back().prepare_bundles().round());
    reply.set_ok(true);
    node_.groups().OnPrepareReply(node, reply);
    tasks_.Dispatch();
  }
  // `node` joins with one free CPU: a new cluster view.
  void Joins(const NodeId& node) {
    Report(node, 1, 1);
    node_.groups().OnViewChanged();
    tasks_.OnViewChanged();
    tasks_.Dispatch();
  }
  rpc::TaskSpec InBundle(const std::string& name, int index) const {
    return groups_.Task(name, groups_.Demand(1, index));
  }
  bool Pending(const TaskId& task) {
    const ObjectEntry* entry = node_.objects().Find(ObjectIdFor(task, 1));
    return entry != nullptr && entry->state != ObjectState::kReady;
  }

  testing::TestGroups groups_{node_, driver_};
};

TEST_F(TaskManagerGroupFailoverTest, ATaskThatRanInALostBundleWaitsThenRunsOnItsNewNode) {
  const TaskId running = Submit(Retried(InBundle("running", 1), 3));
  ASSERT_EQ(SentTo(b_), std::vector<TaskId>{running});

  NodeDies(b_);
  EXPECT_TRUE(Pending(running)) << "retried, it waits for its bundle instead of failing";
  EXPECT_TRUE(node_.groups().IsRescheduling(groups_.id()));
  const TaskId after = Submit(InBundle("after", 1));
  EXPECT_TRUE(Pending(after)) << "a new task for the lost bundle waits too";

  Joins(c_);
  EXPECT_TRUE(SentTo(c_).empty()) << "not before the bundle is reserved there";
  Agrees(c_);
  EXPECT_EQ(SentTo(c_), (std::vector<TaskId>{running, after}));
  EXPECT_EQ(node_.groups().BundleNodes(groups_.id()),
            (std::vector<NodeId>{node_.view().local_id(), c_}));
}

TEST_F(TaskManagerGroupFailoverTest, ATaskWithoutRetriesLostWithTheNodeFailsAsLostWithIt) {
  const TaskId running = Submit(InBundle("running", 1));
  NodeDies(b_);
  EXPECT_EQ(node_.ErrorOf(running), rpc::NODE_DIED) << node_.MessageOf(running);
}

TEST_F(TaskManagerGroupFailoverTest, ATaskForABundleThatStayedRunsAtOnce) {
  NodeDies(b_);
  const ClientId worker = node_.StartWorker();
  const TaskId here = Submit(InBundle("here", 0));
  EXPECT_EQ(node_.ExecutedIds(worker), std::vector<TaskId>{here});
}

TEST_F(TaskManagerGroupFailoverTest, AnActorInALostBundleRestartsOnItsNewNodeWithItsCalls) {
  rpc::TaskSpec creation = testing::ActorCreationSpec(driver_.job_id, 1);
  creation.clear_resources();
  groups_.Demand(1, 1).ToProto(creation.mutable_resources());
  const TaskId actor = Submit(creation);
  ASSERT_EQ(SentTo(b_), std::vector<TaskId>{actor});
  ReturnsValue(b_, actor, "handle");

  NodeDies(b_);
  const TaskId call = Submit(testing::ActorCallSpec(driver_.job_id, actor, "add"));
  EXPECT_TRUE(Pending(call)) << "the actor waits to restart, and its calls with it";

  Joins(c_);
  Agrees(c_);
  EXPECT_EQ(SentTo(c_), (std::vector<TaskId>{actor, call})) << "the creation first";
  EXPECT_EQ(tasks_.ActorNode(ActorIdOf(actor)), c_);
}

}  // namespace
}  // namespace flare
