// Specification of actor failover across nodes: an actor this node placed on
// another node that dies restarts where it fits while max_restarts allows,
// its calls that ran there go again first while max_task_retries allows,
// and with no restart left its calls fail naming the node. Played over the
// node's units with fake I/O (task_manager_remote_harness.h).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "task_manager_remote_harness.h"

namespace flare {
namespace {

class TaskManagerFailoverTest : public TaskManagerRemoteTest {
 protected:
  // This node is busy (what is created goes elsewhere) and `nodes` have room.
  void BusyHereWithRoomOn(const std::vector<NodeId>& nodes) {
    RunOn(node_.StartWorker(), Spec("busy"));
    for (const NodeId& node : nodes) Report(node, 4, 4);
  }
  // An actor with `max_restarts` created on `node` (this node is busy), up.
  TaskId ActorOn(const NodeId& node, int max_restarts, int max_task_retries = 0) {
    rpc::TaskSpec spec = testing::ActorCreationSpec(driver_.job_id, max_restarts, max_task_retries);
    spec.mutable_strategy()->set_kind(rpc::SchedulingStrategySpec::NODE_AFFINITY);
    spec.mutable_strategy()->set_node_id(node.Binary());
    spec.mutable_strategy()->set_soft(true);
    const TaskId actor = Submit(spec);
    ReturnsValue(node, actor, "handle");
    return actor;
  }
  TaskId Call(const TaskId& actor) {
    return Submit(testing::ActorCallSpec(driver_.job_id, actor, "add"));
  }
  const ObjectEntry& Result(const TaskId& task) {
    const ObjectEntry* entry = node_.objects().Find(ObjectIdFor(task, 1));
    EXPECT_NE(entry, nullptr);
    return *entry;
  }
};

TEST_F(TaskManagerFailoverTest, AnActorWhoseNodeDiesIsCreatedAgainOnAnotherThenItsCallsFollow) {
  BusyHereWithRoomOn({b_, c_});  // this node has no room for it
  const TaskId actor = ActorOn(b_, 1);
  const TaskId running = Call(actor);
  ASSERT_EQ(SentTo(b_), (std::vector<TaskId>{actor, running}));

  NodeDies(b_);
  EXPECT_EQ(tasks_.ActorNode(ActorIdOf(actor)), c_);
  const TaskId later = Call(actor);
  EXPECT_EQ(SentTo(c_), (std::vector<TaskId>{actor, later}))
      << "the creation first; the call that ran there had no retries (max_task_retries=0)";
  EXPECT_EQ(Result(running).error, rpc::ACTOR_DIED);
  EXPECT_NE(Result(running).error_message.find("max_task_retries"), std::string::npos)
      << Result(running).error_message;
  EXPECT_EQ(SpecsSentTo(c_)[0].actor().max_restarts(), 0) << "one restart spent";
  EXPECT_EQ(SpecsSentTo(c_)[1].actor_node_id(), c_.Binary());
}

TEST_F(TaskManagerFailoverTest, CallsThatRanThereGoAgainFirstInTheOrderTheyWereMade) {
  BusyHereWithRoomOn({b_, c_});
  const TaskId actor = ActorOn(b_, -1, 1);
  const TaskId first = Call(actor);
  const TaskId second = Call(actor);

  NodeDies(b_);
  const TaskId third = Call(actor);
  EXPECT_EQ(SentTo(c_), (std::vector<TaskId>{actor, first, second, third}));
  EXPECT_EQ(SpecsSentTo(c_)[0].actor().max_restarts(), -1) << "unlimited stays unlimited";

  NodeDies(c_);  // the first two spent their one retry: they fail this time
  for (const TaskId& call : {first, second}) {
    EXPECT_EQ(Result(call).error, rpc::ACTOR_DIED);
  }
  EXPECT_FALSE(node_.objects().IsReady(ObjectIdFor(third, 1))) << "the third goes again";
  EXPECT_TRUE(no_actors_.Hosts(ActorIdOf(actor))) << "here, the one node left";
}

TEST_F(TaskManagerFailoverTest, ACallThatCannotReachTheActorsNodeWaitsForItsRestart) {
  BusyHereWithRoomOn({b_, c_});
  const TaskId actor = ActorOn(b_, 1);

  node_.peers().unreachable.insert(b_);  // dead, before the GCS says so
  const TaskId call = Call(actor);
  EXPECT_EQ(SentTo(c_), (std::vector<TaskId>{actor, call}))
      << "the actor restarts on c, and the call goes there instead of failing";
  EXPECT_EQ(node_.Result(call), nullptr);
}

TEST_F(TaskManagerFailoverTest, WithNoRestartLeftCallsFailNamingTheNode) {
  BusyHereWithRoomOn({b_, c_});
  const TaskId actor = ActorOn(b_, 0);

  NodeDies(b_);
  EXPECT_TRUE(SentTo(c_).empty());
  const TaskId call = Call(actor);
  EXPECT_EQ(Result(call).error, rpc::ACTOR_DIED);
  EXPECT_NE(Result(call).error_message.find(b_.Hex()), std::string::npos)
      << Result(call).error_message;
}

TEST_F(TaskManagerFailoverTest, AnActorRestartsHereWhenOnlyThisNodeFitsAndItsCallsStayHere) {
  Report(b_, 4, 4);
  const TaskId actor = ActorOn(b_, 1);

  NodeDies(b_);
  EXPECT_TRUE(no_actors_.Hosts(ActorIdOf(actor))) << "the actor manager here runs it now";
  EXPECT_FALSE(tasks_.ActorNode(ActorIdOf(actor)).has_value());
  Call(actor);
  EXPECT_TRUE(SentTo(c_).empty());
}

TEST_F(TaskManagerFailoverTest, ADetachedActorsDeathOutlivesItsRecord) {
  BusyHereWithRoomOn({b_});
  rpc::TaskSpec spec = testing::ActorCreationSpec(driver_.job_id, 0);
  spec.mutable_actor()->set_detached(true);
  const TaskId actor = Submit(spec);
  ReturnsValue(b_, actor, "handle");

  NodeDies(b_);
  EXPECT_EQ(tasks_.num_actors_elsewhere(), 0u) << "a dead detached actor's record goes";
  const TaskId call = Call(actor);
  EXPECT_EQ(Result(call).error, rpc::ACTOR_DIED);
  EXPECT_NE(Result(call).error_message.find(b_.Hex()), std::string::npos)
      << "how it died, not that it is unknown: " << Result(call).error_message;
}

}  // namespace
}  // namespace flare
