// Specification of the ActorManager: creation, call ordering (in order and
// out of order), restarts, death (kill, exit_actor, constructor errors,
// owner death, no handle left), played over a real TaskManager and the
// node's units with fake I/O (node_units_harness.h): no sockets, processes
// or clocks.
#include "raylet/actor_manager.h"

#include <gtest/gtest.h>

#include "node_units_harness.h"

namespace flare {
namespace {

using testing::NodeUnitsHarness;

class ActorManagerTest : public ::testing::Test {
 protected:
  ActorManagerTest() { node_.Attach(tasks_, &actors_); }

  rpc::TaskSpec Creation(int max_restarts, int max_task_retries = 0) {
    return testing::ActorCreationSpec(driver_.job_id, max_restarts, max_task_retries);
  }
  rpc::TaskSpec Call(const TaskId& actor, const std::string& method) {
    return testing::ActorCallSpec(driver_.job_id, actor, method);
  }
  TaskId Submit(rpc::TaskSpec spec) { return node_.Submit(driver_, std::move(spec)); }
  void Done(ClientId worker, const TaskId& task, const std::string& value = "value") {
    node_.Done(worker, NodeUnitsHarness::Returned(task, value));
  }
  // Creates an actor from `owner` on `worker` and reports its constructor done.
  TaskId LiveActor(ClientId worker, rpc::TaskSpec creation, const ClientInfo* owner = nullptr) {
    const TaskId actor = node_.Submit(owner != nullptr ? *owner : driver_, std::move(creation));
    EXPECT_EQ(node_.Executed(worker).size(), 1u) << "the constructor runs on a pooled worker";
    Done(worker, actor, "handle");
    return actor;
  }
  // A task of the driver's that waits for a CPU (the only worker hosts the
  // actor, and no other one registers): its return is an argument that is
  // not ready yet.
  TaskId Producer() { return Submit(testing::TaskSpecFor(driver_.job_id, "producer")); }

  NodeUnitsHarness node_;
  // Each borrows the other, as in the NodeManager.
  TaskManager tasks_{node_.units(), node_.policy(), node_.view(), actors_};
  ActorManager actors_{node_.units(), tasks_};
  ClientInfo driver_ = node_.Driver();
};

// ---- creation and call ordering ---------------------------------------------------

TEST_F(ActorManagerTest, CallsReachTheActorsWorkerInTheOrderTheyWereSubmitted) {
  const ClientId worker = node_.StartWorker();
  const TaskId actor = LiveActor(worker, Creation(0));
  ASSERT_NE(node_.Result(actor), nullptr);
  EXPECT_EQ(node_.Result(actor)->inline_data, "handle");
  const TaskId first = Submit(Call(actor, "a"));
  const TaskId second = Submit(Call(actor, "b"));
  const TaskId third = Submit(Call(actor, "c"));
  EXPECT_EQ(node_.ExecutedIds(worker), (std::vector<TaskId>{first, second, third}));
  Done(worker, second, "2");
  EXPECT_EQ(node_.Result(second)->inline_data, "2");
}

TEST_F(ActorManagerTest, CallsSubmittedWhileTheActorIsCreatedWaitForIt) {
  const ClientId worker = node_.StartWorker();
  const TaskId actor = Submit(Creation(0));
  ASSERT_EQ(node_.Executed(worker).size(), 1u);
  const TaskId call = Submit(Call(actor, "early"));
  EXPECT_TRUE(node_.Executed(worker).empty()) << "the constructor has not returned";
  Done(worker, actor, "handle");
  EXPECT_EQ(node_.ExecutedIds(worker), (std::vector<TaskId>{call}));
}

TEST_F(ActorManagerTest, AnInOrderActorHoldsLaterCallsBehindOneWaitingForAnArgument) {
  const ClientId worker = node_.StartWorker();
  const TaskId actor = LiveActor(worker, Creation(0));
  const TaskId producer = Producer();
  rpc::TaskSpec waits = Call(actor, "first");
  waits.add_dependencies(ObjectIdFor(producer, 1).Binary());
  const TaskId first = Submit(waits);
  const TaskId later = Submit(Call(actor, "second"));
  EXPECT_TRUE(node_.Executed(worker).empty()) << "a later call overtook";

  const ClientId other = node_.StartWorker();
  ASSERT_EQ(node_.ExecutedIds(other), (std::vector<TaskId>{producer}));
  Done(other, producer);
  EXPECT_EQ(node_.ExecutedIds(worker), (std::vector<TaskId>{first, later}));
}

TEST_F(ActorManagerTest, AnOutOfOrderActorRunsLaterCallsWhileOneWaitsForAnArgument) {
  const ClientId worker = node_.StartWorker();
  rpc::TaskSpec creation = Creation(0);
  creation.mutable_actor()->set_out_of_order(true);
  const TaskId actor = LiveActor(worker, creation);
  const TaskId producer = Producer();
  rpc::TaskSpec waits = Call(actor, "first");
  waits.add_dependencies(ObjectIdFor(producer, 1).Binary());
  const TaskId first = Submit(waits);
  const TaskId later = Submit(Call(actor, "second"));
  EXPECT_EQ(node_.ExecutedIds(worker), (std::vector<TaskId>{later}));

  const ClientId other = node_.StartWorker();
  node_.Executed(other);
  Done(other, producer);
  EXPECT_EQ(node_.ExecutedIds(worker), (std::vector<TaskId>{first}))
      << "it goes once its argument is";
}

TEST_F(ActorManagerTest, ACallToAnUnknownActorFailsWithActorDied) {
  const TaskId call = Submit(Call(TaskId::FromRandom(), "lost"));
  EXPECT_EQ(node_.ErrorOf(call), rpc::ACTOR_DIED);
  EXPECT_NE(node_.MessageOf(call).find("does not exist"), std::string::npos);
}

// ---- restarts --------------------------------------------------------------------------

TEST_F(ActorManagerTest, ARestartedActorRunsItsRetriableCallsFirstThenLaterOnes) {
  const ClientId worker = node_.StartWorker();
  const TaskId actor = LiveActor(worker, Creation(/*max_restarts=*/1, /*max_task_retries=*/1));
  const TaskId running = Submit(Call(actor, "incr"));
  ASSERT_EQ(node_.ExecutedIds(worker), (std::vector<TaskId>{running}));

  node_.WorkerDies(worker);
  EXPECT_EQ(node_.Result(running), nullptr) << "a retry is left: the call waits for the restart";
  const TaskId later = Submit(Call(actor, "incr"));
  const ClientId fresh = node_.StartWorker();
  auto rebuilt = node_.Executed(fresh);
  ASSERT_EQ(rebuilt.size(), 1u);
  EXPECT_TRUE(rebuilt[0].spec().has_actor()) << "the constructor runs again";
  EXPECT_EQ(rebuilt[0].spec().attempt(), 1u);
  Done(fresh, actor, "handle");
  auto resent = node_.Executed(fresh);
  ASSERT_EQ(resent.size(), 2u);
  EXPECT_EQ(resent[0].spec().task_id(), running.Binary()) << "the interrupted call goes first";
  EXPECT_EQ(resent[0].spec().attempt(), 1u);
  EXPECT_EQ(resent[1].spec().task_id(), later.Binary());
}

TEST_F(ActorManagerTest, ACallRunningWhenTheActorDiesFailsWhenItHasNoRetriesLeft) {
  const ClientId worker = node_.StartWorker();
  const TaskId actor = LiveActor(worker, Creation(/*max_restarts=*/1, /*max_task_retries=*/0));
  const TaskId call = Submit(Call(actor, "incr"));
  node_.Executed(worker);
  node_.WorkerDies(worker);
  EXPECT_EQ(node_.ErrorOf(call), rpc::ACTOR_DIED);
  EXPECT_NE(node_.MessageOf(call).find("max_task_retries is exhausted"), std::string::npos)
      << node_.MessageOf(call);
  EXPECT_EQ(node_.ErrorOf(actor), rpc::ERROR_NONE) << "the actor itself restarts";
}

TEST_F(ActorManagerTest, AnActorWithNoRestartsLeftDiesAndEveryLaterCallSaysWhy) {
  const ClientId worker = node_.StartWorker();
  const TaskId actor = LiveActor(worker, Creation(0));
  node_.WorkerDies(worker);
  const TaskId call = Submit(Call(actor, "incr"));
  EXPECT_EQ(node_.ErrorOf(call), rpc::ACTOR_DIED);
  EXPECT_NE(node_.MessageOf(call).find("the actor Counter died: its worker process was killed"),
            std::string::npos)
      << node_.MessageOf(call);
}

TEST_F(ActorManagerTest, KillWithRestartsLeftRestartsTheActorAndNoRestartEndsIt) {
  const ClientId worker = node_.StartWorker();
  const TaskId actor = LiveActor(worker, Creation(/*max_restarts=*/1));
  rpc::KillActor kill;
  kill.set_actor_id(actor.Binary());
  actors_.OnKill(kill);
  EXPECT_TRUE(node_.processes().Killed(node_.pid_of(worker)));
  node_.WorkerDies(worker);
  const ClientId fresh = node_.StartWorker();
  ASSERT_EQ(node_.Executed(fresh).size(), 1u) << "restarted";
  Done(fresh, actor, "handle");

  kill.set_no_restart(true);
  actors_.OnKill(kill);
  EXPECT_TRUE(node_.processes().Killed(node_.pid_of(fresh)));
  const TaskId call = Submit(Call(actor, "incr"));
  EXPECT_NE(node_.MessageOf(call).find("was killed by kill()"), std::string::npos);
}

TEST_F(ActorManagerTest, AConstructorThatRaisedLeavesTheActorDeadWithItsTraceback) {
  const ClientId worker = node_.StartWorker();
  const TaskId actor = Submit(Creation(/*max_restarts=*/3));
  node_.Executed(worker);
  node_.Done(worker, NodeUnitsHarness::Raised(actor, "Traceback: ZeroDivisionError", false));
  EXPECT_TRUE(node_.processes().Killed(node_.pid_of(worker)))
      << "a half-built instance is not reused";
  const TaskId call = Submit(Call(actor, "incr"));
  EXPECT_EQ(node_.ErrorOf(call), rpc::ACTOR_DIED);
  EXPECT_NE(node_.MessageOf(call).find("its constructor raised\nTraceback: ZeroDivisionError"),
            std::string::npos)
      << node_.MessageOf(call);
}

TEST_F(ActorManagerTest, AnActorThatExitsItselfIsKilledOnlyAfterTheGrace) {
  const ClientId worker = node_.StartWorker();
  const TaskId actor = LiveActor(worker, Creation(/*max_restarts=*/3));
  rpc::KillActor exiting;
  exiting.set_actor_id(actor.Binary());
  exiting.set_exiting(true);
  actors_.OnKill(exiting);
  EXPECT_FALSE(node_.processes().Killed(node_.pid_of(worker))) << "its exit handlers run";
  const TaskId call = Submit(Call(actor, "incr"));
  EXPECT_NE(node_.MessageOf(call).find("exit_actor() was called"), std::string::npos);
  node_.timers().Advance(ActorManager::kExitGrace);
  EXPECT_TRUE(node_.processes().Killed(node_.pid_of(worker)));
}

// ---- owners and handles ------------------------------------------------------------------

TEST_F(ActorManagerTest, AnActorDiesWithTheProcessThatCreatedItEvenWithRestartsLeft) {
  const ClientId worker = node_.StartWorker();
  const ClientInfo creator = node_.Driver(/*pid=*/77);
  const TaskId actor = LiveActor(worker, Creation(/*max_restarts=*/3), &creator);
  const TaskId pending = Submit(Call(actor, "incr"));
  actors_.OnOwnerGone(creator.id);
  EXPECT_TRUE(node_.processes().Killed(node_.pid_of(worker)));
  EXPECT_EQ(node_.ErrorOf(pending), rpc::ACTOR_DIED) << "its pending calls fail";
  const TaskId later = Submit(Call(actor, "incr"));
  EXPECT_NE(node_.MessageOf(later).find("its owner (the process that created it, pid 77) died"),
            std::string::npos)
      << node_.MessageOf(later);
  node_.WorkerDies(worker);
  EXPECT_EQ(tasks_.size(), 0u) << "its constructor is not queued again";
}

TEST_F(ActorManagerTest, ADetachedActorOutlivesItsOwner) {
  const ClientId worker = node_.StartWorker();
  const ClientInfo creator = node_.Driver(/*pid=*/77);
  rpc::TaskSpec creation = Creation(0);
  creation.mutable_actor()->set_detached(true);
  const TaskId actor = LiveActor(worker, creation, &creator);
  actors_.OnOwnerGone(creator.id);
  EXPECT_FALSE(node_.processes().Killed(node_.pid_of(worker)));
  const TaskId call = Submit(Call(actor, "incr"));
  EXPECT_EQ(node_.ExecutedIds(worker), (std::vector<TaskId>{call}));
}

TEST_F(ActorManagerTest, ADetachedActorAnotherNodePlacedHereTellsThatNodeWhenItDies) {
  const ClientId worker = node_.StartWorker();
  const ClientInfo placer = node_.Peer(NodeId::FromRandom());
  rpc::TaskSpec creation = Creation(/*max_restarts=*/1);
  creation.mutable_actor()->set_detached(true);
  const TaskId actor = LiveActor(worker, creation, &placer);
  rpc::KillActor kill;
  kill.set_actor_id(actor.Binary());
  actors_.OnKill(kill);  // it may restart: still alive
  EXPECT_TRUE(node_.clients().Take(placer.id, rpc::Message::kActorDied).empty());

  kill.set_no_restart(true);
  actors_.OnKill(kill);
  const auto died = node_.clients().Take(placer.id, rpc::Message::kActorDied);
  ASSERT_EQ(died.size(), 1u) << "that node keeps a record of it until it hears";
  EXPECT_EQ(died[0].actor_died().actor_id(), actor.Binary());
  EXPECT_NE(died[0].actor_died().death().find("was killed by kill()"), std::string::npos)
      << died[0].actor_died().death();
}

TEST_F(ActorManagerTest, AnActorWithNoHandleLeftEndsOnceItsPendingCallsAreDone) {
  const ClientId worker = node_.StartWorker();
  const TaskId actor = LiveActor(worker, Creation(/*max_restarts=*/3));
  const TaskId call = Submit(Call(actor, "incr"));
  node_.Executed(worker);
  node_.objects().RemoveRef(driver_.id, ObjectIdFor(actor, 1));  // the last handle goes
  node_.timers().RunPosted();
  EXPECT_FALSE(node_.processes().Killed(node_.pid_of(worker))) << "a call is still running";
  Done(worker, call);
  EXPECT_TRUE(node_.processes().Killed(node_.pid_of(worker)));
  EXPECT_EQ(actors_.size(), 0u) << "nothing can call it any more";
}

}  // namespace
}  // namespace flare
