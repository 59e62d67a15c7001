// Specification of the TaskManager's actors across nodes: where an actor's
// creation goes, how calls made through handles here follow it there, and
// how it ends (out of scope, killed, its creator gone, its node gone).
// Played over the node's units with fake I/O (task_manager_remote_harness.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/placement_group_resources.h"
#include "task_manager_remote_harness.h"

namespace flare {
namespace {

// ---- actors placed on other nodes ---------------------------------------------------

// The kill messages sent to `node`.
std::vector<rpc::KillActor> KillsSentTo(NodeUnitsHarness& node, const NodeId& to) {
  std::vector<rpc::KillActor> kills;
  for (const auto& message : node.peers().Of(to, rpc::Message::kKillActor)) {
    kills.push_back(message.kill_actor());
  }
  return kills;
}

TEST_F(TaskManagerRemoteTest, AnActorCreationGoesToAnotherNodeWhenThisOneIsBusy) {
  const ClientId worker = node_.StartWorker();
  RunOn(worker, Spec("busy"));
  Report(b_, 4, 4);

  const TaskId creation = Submit(testing::ActorCreationSpec(driver_.job_id, 0));
  EXPECT_EQ(SentTo(b_), std::vector<TaskId>{creation});
  EXPECT_FALSE(no_actors_.Hosts(ActorIdOf(creation))) << "the actor manager here never sees it";
  EXPECT_EQ(tasks_.ActorNode(ActorIdOf(creation)), b_);
}

TEST_F(TaskManagerRemoteTest, AnActorCreationStaysHereWhileItFits) {
  Report(b_, 4, 4);
  const TaskId creation = Submit(testing::ActorCreationSpec(driver_.job_id, 0));
  EXPECT_TRUE(node_.peers().sent.empty());
  EXPECT_TRUE(no_actors_.Hosts(ActorIdOf(creation)));
  EXPECT_FALSE(tasks_.ActorNode(ActorIdOf(creation)).has_value());
}

TEST_F(TaskManagerRemoteTest, CallsThroughAHandleMadeHereFollowTheActorInOrder) {
  Report(b_, 4, 4);
  rpc::TaskSpec spec = PinnedCreation(b_);
  const ObjectId arg = ObjectIdFor(TaskId::FromRandom(), 1);
  node_.objects().AddPending(driver_.id, arg);
  const TaskId actor = Submit(Reading(spec, {arg}));
  const TaskId first = Submit(testing::ActorCallSpec(driver_.job_id, actor, "add"));
  const TaskId second = Submit(testing::ActorCallSpec(driver_.job_id, actor, "add"));
  EXPECT_TRUE(SentTo(b_).empty()) << "its calls wait for the creation, which waits for its argument";

  node_.objects().PutInline(driver_.id, arg, "value", {});
  tasks_.Dispatch();
  EXPECT_EQ(SentTo(b_), (std::vector<TaskId>{actor, first, second}));
  for (const rpc::TaskSpec& sent : SpecsSentTo(b_)) {
    if (sent.method_name().empty()) continue;
    EXPECT_EQ(sent.actor_node_id(), b_.Binary()) << "that node runs it: it is not sent back";
  }
}

TEST_F(TaskManagerRemoteTest, TheLastHandleHereReleasesTheActorThereAfterItsCallsAreSent) {
  Report(b_, 4, 4);
  rpc::TaskSpec spec = PinnedCreation(b_);
  const TaskId actor = Submit(spec);
  const ObjectId arg = ObjectIdFor(TaskId::FromRandom(), 1);
  node_.objects().AddPending(driver_.id, arg);
  Submit(Reading(testing::ActorCallSpec(driver_.job_id, actor, "add"), {arg}));

  tasks_.OnObjectFreed(HandleOf(ActorIdOf(actor)));
  EXPECT_TRUE(KillsSentTo(node_, b_).empty()) << "a call still waits here to go";
  node_.objects().PutInline(driver_.id, arg, "value", {});
  tasks_.Dispatch();
  const std::vector<rpc::KillActor> kills = KillsSentTo(node_, b_);
  ASSERT_EQ(kills.size(), 1u);
  EXPECT_TRUE(kills[0].out_of_scope());
  EXPECT_FALSE(kills[0].no_restart()) << "it ends once its calls are done";
  EXPECT_EQ(node_.peers().sent[b_].back().body_case(), rpc::Message::kKillActor)
      << "after the call";
  EXPECT_FALSE(tasks_.ActorNode(ActorIdOf(actor)).has_value());
}

TEST_F(TaskManagerRemoteTest, ItsOwnerLeavingKillsTheActorThereUnlessDetached) {
  Report(b_, 4, 4);
  auto pinned_creation = [&](bool detached) {
    rpc::TaskSpec spec = PinnedCreation(b_);
    spec.mutable_actor()->set_detached(detached);
    return Submit(spec);
  };
  const TaskId owned = pinned_creation(false);
  const TaskId detached = pinned_creation(true);

  tasks_.OnOwnerGone(driver_.id);
  const std::vector<rpc::KillActor> kills = KillsSentTo(node_, b_);
  ASSERT_EQ(kills.size(), 1u);
  EXPECT_EQ(ActorId::FromBinary(kills[0].actor_id()), ActorIdOf(owned));
  EXPECT_TRUE(kills[0].no_restart());
  EXPECT_TRUE(kills[0].owner_died());
  EXPECT_EQ(tasks_.ActorNode(ActorIdOf(detached)), b_);
}

TEST_F(TaskManagerRemoteTest, ADetachedActorsRecordGoesOnceItIsKilledOrItsNodeDies) {
  Report(b_, 4, 4);
  auto detached_on_b = [&] {
    rpc::TaskSpec spec = PinnedCreation(b_);
    spec.mutable_actor()->set_detached(true);
    const TaskId actor = Submit(spec);
    ReturnsValue(b_, actor, "handle");
    tasks_.OnObjectFreed(HandleOf(ActorIdOf(actor)));  // no handle left here
    return ActorIdOf(actor);
  };
  auto kill = [](const ActorId& actor, bool no_restart) {
    rpc::KillActor request;
    request.set_actor_id(actor.Binary());
    request.set_no_restart(no_restart);
    return request;
  };
  std::vector<ActorId> killed;
  for (int i = 0; i < 3; ++i) killed.push_back(detached_on_b());
  const ActorId restarted = detached_on_b();
  const ActorId lost = detached_on_b();
  EXPECT_EQ(tasks_.num_actors_elsewhere(), 5u) << "detached: they live on without handles here";

  for (const ActorId& actor : killed) tasks_.OnActorKilled(kill(actor, /*no_restart=*/true));
  tasks_.OnActorKilled(kill(restarted, /*no_restart=*/false));
  EXPECT_EQ(tasks_.num_actors_elsewhere(), 2u) << "the killed ones are forgotten";
  EXPECT_EQ(tasks_.ActorNode(restarted), b_) << "one that may restart lives on";

  NodeDies(b_);
  EXPECT_EQ(tasks_.num_actors_elsewhere(), 0u) << "gone with their node";
  EXPECT_FALSE(tasks_.ActorNode(lost).has_value());
}

TEST_F(TaskManagerRemoteTest, AnActorsRecordHearsOfItsDeathFromItsNode) {
  Report(b_, 4, 4);
  rpc::TaskSpec spec = PinnedCreation(b_);
  spec.mutable_actor()->set_detached(true);
  const TaskId detached = Submit(spec);
  const TaskId owned = Submit(PinnedCreation(b_));
  ReturnsValue(b_, detached, "handle");
  ReturnsValue(b_, owned, "handle");
  auto died = [](const TaskId& actor) {
    rpc::ActorDied message;
    message.set_actor_id(ActorIdOf(actor).Binary());
    message.set_death("the actor Counter exited: exit_actor() was called");
    return message;
  };

  tasks_.OnActorDied(c_, died(detached));  // not where it is: ignored
  EXPECT_EQ(tasks_.ActorNode(ActorIdOf(detached)), b_);
  tasks_.OnActorDied(b_, died(detached));
  tasks_.OnActorDied(b_, died(owned));
  EXPECT_FALSE(tasks_.ActorNode(ActorIdOf(detached)).has_value()) << "a detached one is forgotten";

  const TaskId call = Submit(testing::ActorCallSpec(driver_.job_id, owned, "add"));
  EXPECT_EQ(node_.ErrorOf(call), rpc::ACTOR_DIED) << "a handle here still calls the other";
  EXPECT_TRUE(Contains(node_.MessageOf(call), "exit_actor()")) << node_.MessageOf(call);
  EXPECT_EQ(SentTo(b_), (std::vector<TaskId>{detached, owned})) << "the call does not go";
}

TEST_F(TaskManagerRemoteTest, CallsOnAKilledActorWithAHandleHereFailSayingSo) {
  Report(b_, 4, 4);
  const TaskId actor = Submit(PinnedCreation(b_));
  ReturnsValue(b_, actor, "handle");
  rpc::KillActor kill;
  kill.set_actor_id(ActorIdOf(actor).Binary());
  kill.set_no_restart(true);
  tasks_.OnActorKilled(kill);

  const TaskId call = Submit(testing::ActorCallSpec(driver_.job_id, actor, "add"));
  EXPECT_EQ(node_.ErrorOf(call), rpc::ACTOR_DIED);
  EXPECT_TRUE(Contains(node_.MessageOf(call), "killed by kill()")) << node_.MessageOf(call);
  EXPECT_EQ(SentTo(b_), std::vector<TaskId>{actor}) << "the call does not go";
  EXPECT_EQ(tasks_.ActorNode(ActorIdOf(actor)), b_) << "kept while a handle here may call it";
}

TEST_F(TaskManagerRemoteTest, CallsOnAnActorWhoseNodeDiedFailNamingTheNode) {
  Report(b_, 4, 4);
  rpc::TaskSpec spec = PinnedCreation(b_);
  const TaskId actor = Submit(spec);
  ReturnsValue(b_, actor, "handle");
  const TaskId running = Submit(testing::ActorCallSpec(driver_.job_id, actor, "add"));

  NodeDies(b_);
  const TaskId later = Submit(testing::ActorCallSpec(driver_.job_id, actor, "add"));
  for (const TaskId& call : {running, later}) {
    const ObjectEntry* result = node_.objects().Find(ObjectIdFor(call, 1));
    ASSERT_NE(result, nullptr);
    EXPECT_EQ(result->error, rpc::ACTOR_DIED);
    EXPECT_TRUE(Contains(result->error_message, b_.Hex())) << result->error_message;
  }
}

TEST_F(TaskManagerRemoteTest, AnActorWaitingToGoToANodeThatDiesFailsAndSoDoItsCalls) {
  Report(b_, 4, 4);
  rpc::TaskSpec spec = PinnedCreation(b_);
  const ObjectId arg = ObjectIdFor(TaskId::FromRandom(), 1);
  node_.objects().AddPending(driver_.id, arg);
  const TaskId actor = Submit(Reading(spec, {arg}));
  const TaskId call = Submit(testing::ActorCallSpec(driver_.job_id, actor, "add"));

  NodeDies(b_);
  for (const TaskId& task : {actor, call}) {
    const ObjectEntry* result = node_.objects().Find(ObjectIdFor(task, 1));
    ASSERT_NE(result, nullptr);
    EXPECT_EQ(result->error, rpc::ACTOR_DIED);
    EXPECT_TRUE(Contains(result->error_message, "could not be created")) << result->error_message;
  }
  EXPECT_TRUE(SentTo(b_).empty());
}

TEST_F(TaskManagerRemoteTest, AGeneratorGoesToANodeWithRoomAndItsItemsComeBackInOrder) {
  const ClientId worker = node_.StartWorker();
  RunOn(worker, Spec("busy"));
  Report(b_, 4, 4);
  rpc::TaskSpec spec = Spec("gen", {{"CPU", 0.5}});
  spec.set_streaming(true);
  const TaskId generator = Submit(spec);
  EXPECT_EQ(SentTo(b_), std::vector<TaskId>{generator});

  const ObjectId first = GeneratorItemId(generator, 0);
  const ObjectId second = GeneratorItemId(generator, 1);
  EXPECT_FALSE(node_.objects().IsReady(first)) << "pending for the caller";
  EXPECT_FALSE(node_.objects().Contains(second));
  ReturnsValue(b_, generator, "item 0", 2);
  EXPECT_TRUE(node_.objects().IsReady(first));
  EXPECT_TRUE(node_.objects().Contains(second)) << "the next item is pending here";
  ReturnsInStore(b_, generator, 4096, 3);
  EXPECT_TRUE(node_.objects().NeedsFetch(second)) << "ready, and left there until read";
  EXPECT_TRUE(node_.peers().pulls.empty());
  EXPECT_EQ(ReleasedOn(b_), std::vector<ObjectId>{first}) << "the second is held there for us";

  ReturnsValue(b_, generator, "2 items", 1);  // the completion, after the items
  EXPECT_EQ(tasks_.size(), 1u) << "the busy task";
  const ObjectEntry* end = node_.objects().Find(GeneratorItemId(generator, 2));
  ASSERT_TRUE(end == nullptr || end->error == rpc::OBJECT_LOST) << "no third item comes";
}

TEST_F(TaskManagerRemoteTest, ItemsOfAGeneratorTheCallerDroppedAreReleasedThereNotStored) {
  Report(b_, 4, 4);
  rpc::TaskSpec spec = Pinned("gen", b_);
  spec.set_streaming(true);
  const TaskId generator = Submit(spec);
  node_.generators().OnReleased(driver_.id, generator, 0);
  ReturnsValue(b_, generator, "item 0", 2);
  EXPECT_FALSE(node_.objects().Contains(GeneratorItemId(generator, 0)));
  EXPECT_EQ(ReleasedOn(b_), std::vector<ObjectId>{GeneratorItemId(generator, 0)});
}

TEST_F(TaskManagerRemoteTest, ATaskWithDynamicReturnsGoesToANodeWithRoomLikeAnyTask) {
  // Its items are objects made there, held in its one return's value: the
  // refs are borrowed from that node like any refs a value holds.
  const ClientId worker = node_.StartWorker();
  RunOn(worker, Spec("busy"));
  Report(b_, 4, 4);
  rpc::TaskSpec spec = Spec("dynamic", {{"CPU", 0.5}});
  spec.set_dynamic_returns(true);

  const TaskId dynamic = Submit(spec);

  EXPECT_EQ(SentTo(b_), std::vector<TaskId>{dynamic});
}

class TaskManagerRemoteGroupTest : public TaskManagerRemoteTest {
 protected:
  testing::TestGroups groups_{node_, driver_};
};

TEST_F(TaskManagerRemoteGroupTest, APlacementGroupTaskWaitsHereForItsGroupThoughAnotherNodeHasRoom) {
  const ClientId worker = node_.StartWorker();
  const ResourceSet whole = groups_.OneBundle(1, 1);
  tasks_.Dispatch();  // reserves the group: this node's only CPU
  Report(b_, 4, 4);
  const TaskId first = RunOn(worker, groups_.Task("first", whole));

  const TaskId second = Submit(groups_.Task("second", whole));
  const TaskId outside = Submit(Spec("outside"));
  tasks_.Dispatch();

  EXPECT_EQ(SentTo(b_), std::vector<TaskId>{outside}) << "only the task outside the group goes";
  node_.Done(worker, NodeUnitsHarness::Returned(first));
  std::vector<TaskId> executed = node_.ExecutedIds(worker);
  EXPECT_NE(std::find(executed.begin(), executed.end(), second), executed.end())
      << "the second runs in its group, here";
}

// A group of two one-CPU bundles, bundle 0 here and bundle 1 on b.
class TaskManagerRemoteSpreadGroupTest : public TaskManagerRemoteGroupTest {
 protected:
  void CreateSpreadGroup() { groups_.Create({1, 1}, "STRICT_SPREAD"); }
  // b agrees to hold bundle 1; the group is reserved.
  void BAgrees() {
    const auto prepares = node_.peers().Of(b_, rpc::Message::kPrepareBundles);
    ASSERT_EQ(prepares.size(), 1u);
    rpc::BundlesPrepared reply;
    reply.set_pg_id(groups_.id().Binary());
    reply.set_round(prepares[0].prepare_bundles().round());
    reply.set_ok(true);
    node_.groups().OnPrepareReply(b_, reply);
    tasks_.Dispatch();
  }
  ResourceSet Bundle(int index) const { return groups_.Demand(1, index); }
  rpc::TaskSpec InGroup(const std::string& name, const ResourceSet& demand) const {
    return groups_.Task(name, demand);
  }
};

TEST_F(TaskManagerRemoteSpreadGroupTest, ATaskInABundleOnAnotherNodeGoesThereOnceTheGroupIsReserved) {
  Report(b_, 1, 1);
  CreateSpreadGroup();
  const TaskId early = Submit(InGroup("early", Bundle(1)));
  tasks_.Dispatch();
  EXPECT_TRUE(SentTo(b_).empty()) << "it waits for its group";
  BAgrees();
  EXPECT_EQ(SentTo(b_), std::vector<TaskId>{early});
  const TaskId later = Submit(InGroup("later", Bundle(1)));
  EXPECT_EQ(SentTo(b_), (std::vector<TaskId>{early, later})) << "its bundle is on b";

  const ClientId worker = node_.StartWorker();
  const TaskId here = Submit(InGroup("here", Bundle(0)));
  EXPECT_EQ(node_.ExecutedIds(worker), std::vector<TaskId>{here}) << "bundle 0 is this node's";
}

}  // namespace
}  // namespace flare
