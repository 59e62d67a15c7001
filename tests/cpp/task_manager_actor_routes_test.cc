// Specification of the routes actor calls take from a node other than the
// one that placed the actor: the placer tells such a caller's node where
// the actor runs (ActorLocation), and that node's later calls go straight
// there, once every call it sent through the placer has ended (so the
// calls keep their order). A call lost with the actor's node goes back to
// the placer while max_task_retries allows; a route outlives its placer.
// Played over the node's units with fake I/O (task_manager_remote_harness.h):
// this node is the placer in the first part and the caller in the second.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "task_manager_remote_harness.h"

namespace flare {
namespace {

constexpr auto kLocated = rpc::Message::kActorLocation;

// ---- the placer ---------------------------------------------------------------------

class ActorRoutesPlacerTest : public TaskManagerRemoteTest {
 protected:
  // An actor placed from here on b (its creation done there), with
  // `max_task_retries`.
  TaskId ActorOnB(int max_task_retries = 0) {
    Report(b_, 4, 4);
    rpc::TaskSpec spec = PinnedCreation(b_);
    spec.mutable_actor()->set_max_task_retries(max_task_retries);
    const TaskId actor = Submit(spec);
    ReturnsValue(b_, actor, "handle");
    return actor;
  }
  // A call on `actor` that node `from` sends here, through the handle made here.
  TaskId CallFrom(const ClientInfo& from, const TaskId& actor) {
    rpc::TaskSpec spec = testing::ActorCallSpec(driver_.job_id, actor, "add");
    spec.set_actor_node_id(node_.view().local_id().Binary());
    return node_.Submit(from, spec);
  }
};

TEST_F(ActorRoutesPlacerTest, ANodeWhoseCallsComeThroughHereIsToldOnceWhereTheActorRuns) {
  const TaskId actor = ActorOnB(/*max_task_retries=*/2);
  const ClientInfo c = node_.Peer(c_);

  const TaskId first = CallFrom(c, actor);
  CallFrom(c, actor);

  const TaskId second = TaskId::FromBinary(SpecsSentTo(b_).back().task_id());
  EXPECT_EQ(SentTo(b_), (std::vector<TaskId>{actor, first, second}))
      << "the calls themselves still go on to the actor";
  const auto told = node_.clients().Take(c.id, kLocated);
  ASSERT_EQ(told.size(), 1u) << "once per node";
  EXPECT_EQ(told[0].actor_location().actor_id(), ActorIdOf(actor).Binary());
  EXPECT_EQ(told[0].actor_location().node_id(), b_.Binary());
  EXPECT_EQ(told[0].actor_location().max_task_retries(), 2);
  EXPECT_TRUE(node_.clients().Take(driver_.id, kLocated).empty())
      << "a driver here calls through here anyway";
}

TEST_F(ActorRoutesPlacerTest, NoNodeIsToldWhileTheActorIsStillBeingCreated) {
  Report(b_, 4, 4);
  const TaskId actor = Submit(PinnedCreation(b_));
  const ClientInfo c = node_.Peer(c_);

  CallFrom(c, actor);
  EXPECT_TRUE(node_.clients().Take(c.id, kLocated).empty()) << "b may not know it yet";

  ReturnsValue(b_, actor, "handle");
  CallFrom(c, actor);
  EXPECT_EQ(node_.clients().Take(c.id, kLocated).size(), 1u);
}

TEST_F(ActorRoutesPlacerTest, TheNodeTheActorRunsOnIsNotToldItsOwnAddress) {
  const TaskId actor = ActorOnB();
  const ClientInfo b = node_.Peer(b_);
  CallFrom(b, actor);
  EXPECT_TRUE(node_.clients().Take(b.id, kLocated).empty());
}

// ---- the caller ---------------------------------------------------------------------

class ActorRoutesCallerTest : public TaskManagerRemoteTest {
 protected:
  // An actor b placed (its handle names b), running on c.
  ActorRoutesCallerTest() { actor_ = TaskId::FromRandom(); }

  void TwoNodes() {
    Report(b_, 4, 4);
    Report(c_, 4, 4);
  }
  TaskId Call() {
    rpc::TaskSpec spec = testing::ActorCallSpec(driver_.job_id, actor_, "add");
    spec.set_actor_node_id(b_.Binary());
    return Submit(spec);
  }
  void Told(const NodeId& host, int max_task_retries = 0) {
    rpc::ActorLocation location;
    location.set_actor_id(ActorIdOf(actor_).Binary());
    location.set_node_id(host.Binary());
    location.set_max_task_retries(max_task_retries);
    tasks_.OnActorLocation(b_, location);
  }
  // The actor node each call went to, in order, for the calls sent to `node`.
  std::vector<std::string> AddressedOn(const NodeId& node) {
    std::vector<std::string> addressed;
    for (const rpc::TaskSpec& spec : SpecsSentTo(node)) addressed.push_back(spec.actor_node_id());
    return addressed;
  }

  TaskId actor_;
};

TEST_F(ActorRoutesCallerTest, CallsGoStraightToTheActorsNodeOnceThoseSentTheLongWayHaveEnded) {
  TwoNodes();
  const TaskId first = Call();
  Told(c_);
  const TaskId second = Call();
  EXPECT_EQ(SentTo(b_), (std::vector<TaskId>{first, second}))
      << "while the first is out through b, the second follows it there (order)";

  ReturnsValue(b_, first, "1");
  const TaskId third = Call();
  EXPECT_EQ(SentTo(b_), (std::vector<TaskId>{first, second, third}))
      << "the second is still out through b: the third follows it, rather than wait";
  ReturnsValue(b_, second, "2");
  ReturnsValue(b_, third, "3");
  node_.timers().RunPosted();

  const TaskId fourth = Call();
  EXPECT_EQ(SentTo(c_), std::vector<TaskId>{fourth}) << "the way is clear";
  EXPECT_EQ(AddressedOn(c_), std::vector<std::string>{c_.Binary()});
  const TaskId fifth = Call();
  EXPECT_EQ(SentTo(c_), (std::vector<TaskId>{fourth, fifth}));
  EXPECT_EQ(SentTo(b_).size(), 3u);

  ReturnsValue(c_, fourth, "4");
  ASSERT_NE(node_.Result(fourth), nullptr);
  EXPECT_EQ(node_.Result(fourth)->inline_data, "4");
}

TEST_F(ActorRoutesCallerTest, ACallOnAnActorRunningHereGoesToTheActorsHere) {
  TwoNodes();
  Told(node_.view().local_id());
  const TaskId call = Call();
  EXPECT_TRUE(SentTo(b_).empty());
  EXPECT_EQ(no_actors_.calls, std::vector<TaskId>{call});
}

TEST_F(ActorRoutesCallerTest, ACallLostWithTheActorsNodeGoesBackToThePlacerWhileRetriesAllow) {
  TwoNodes();
  Told(c_, /*max_task_retries=*/1);
  const TaskId once = Call();
  ASSERT_EQ(SentTo(c_), std::vector<TaskId>{once});

  NodeDies(c_);
  EXPECT_EQ(SentTo(b_), std::vector<TaskId>{once}) << "b restarts the actor, or knows it dead";
  EXPECT_EQ(AddressedOn(b_), std::vector<std::string>{b_.Binary()});
  EXPECT_EQ(node_.Result(once), nullptr);

  const TaskId next = Call();
  EXPECT_EQ(SentTo(b_), (std::vector<TaskId>{once, next})) << "the route went with c";
}

TEST_F(ActorRoutesCallerTest, ACallLostWithTheActorsNodeFailsWithoutRetriesNamingIt) {
  TwoNodes();
  Told(c_, /*max_task_retries=*/0);
  const TaskId call = Call();
  NodeDies(c_);
  EXPECT_EQ(node_.ErrorOf(call), rpc::ACTOR_DIED);
  EXPECT_NE(node_.MessageOf(call).find(c_.Hex()), std::string::npos) << node_.MessageOf(call);
  EXPECT_TRUE(SentTo(b_).empty());
}

TEST_F(ActorRoutesCallerTest, ARouteOutlivesThePlacer) {
  TwoNodes();
  Told(c_);
  NodeDies(b_);
  const TaskId call = Call();
  EXPECT_EQ(SentTo(c_), std::vector<TaskId>{call});
  EXPECT_EQ(node_.Result(call), nullptr) << "not failed as unreachable";
}

TEST_F(ActorRoutesCallerTest, CallsQueuedForAPlacerThatDiesTakeTheRoute) {
  TwoNodes();
  Told(c_);
  const ObjectId arg = ObjectIdFor(TaskId::FromRandom(), 1);
  node_.objects().AddPending(driver_.id, arg);
  rpc::TaskSpec spec = testing::ActorCallSpec(driver_.job_id, actor_, "add");
  spec.set_actor_node_id(b_.Binary());
  const TaskId waiting = Submit(Reading(spec, {arg}));
  const TaskId behind = Call();

  NodeDies(b_);
  EXPECT_EQ(node_.Result(waiting), nullptr) << "not failed: the route does not need b";
  node_.objects().PutInline(driver_.id, arg, "value", {});
  tasks_.Dispatch();
  EXPECT_EQ(SentTo(c_), (std::vector<TaskId>{waiting, behind}));
}

TEST_F(ActorRoutesCallerTest, APlacerThatCannotBeReachedIsPassedByTheRouteWithoutLooping) {
  TwoNodes();
  const TaskId first = Call();  // out through b
  Told(c_);
  node_.peers().unreachable.insert(b_);
  const TaskId second = Call();  // b cannot be reached: b counts as gone

  EXPECT_EQ(node_.ErrorOf(first), rpc::ACTOR_DIED) << "lost with b, where it was out";
  EXPECT_EQ(SentTo(c_), std::vector<TaskId>{second});
}

TEST_F(ActorRoutesCallerTest, ALocationOnANodeNotInTheViewIsIgnored) {
  Report(b_, 4, 4);  // c is not known here
  Told(c_);
  const TaskId call = Call();
  EXPECT_EQ(SentTo(b_), std::vector<TaskId>{call});
}

}  // namespace
}  // namespace flare
