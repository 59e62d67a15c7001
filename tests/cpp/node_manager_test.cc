// Specification of the raylet's task, actor, generator, placement-group and
// spilling paths, played without sockets, processes, timers or files (see
// node_manager_harness.h): events in, messages and signals out.
#include <signal.h>

#include <gtest/gtest.h>

#include "node_manager_harness.h"

namespace flare {
namespace {

using testing::NodeManagerHarness;
using std::chrono::milliseconds;

constexpr auto kExecute = rpc::Message::kExecuteTask;
constexpr auto kCancel = rpc::Message::kCancelTask;

class NodeManagerTest : public ::testing::Test {
 protected:
  NodeManagerHarness node_;
  ClientId driver_ = node_.RegisterDriver();
};

TEST_F(NodeManagerTest, ATaskRunsOnAnIdleWorkerAndItsValueIsPushedToTheDriver) {
  const ClientId worker = node_.RegisterWorker();
  const TaskId task = node_.Submit(driver_, node_.Spec(driver_, "f"));
  auto executed = node_.Executed(worker);
  ASSERT_EQ(executed.size(), 1u);
  EXPECT_EQ(executed[0].spec().task_id(), task.Binary());
  node_.Finish(worker, task, "42");
  auto ready = node_.Ready(driver_);
  ASSERT_EQ(ready.count(ObjectIdFor(task, 1)), 1u);
  EXPECT_EQ(ready[ObjectIdFor(task, 1)].inline_data(), "42");
}

TEST_F(NodeManagerTest, OnlyTheWorkerRunningATaskMayWriteOrReportItsReturns) {
  const ClientId worker = node_.RegisterWorker();
  const ClientId other_driver = node_.RegisterDriver(51);
  const TaskId task = node_.Submit(driver_, node_.Spec(driver_, "f"));
  const TaskId held_back = node_.Submit(driver_, node_.Spec(driver_, "g"));  // queued
  const ObjectId ret = ObjectIdFor(task, 1);
  const ClientInfo& forger = node_.clients().infos.at(other_driver);

  rpc::CreateObject create;
  create.set_object_id(ret.Binary());
  create.set_size(64);
  node_.manager().OnCreateObject(forger, create);
  auto replies = node_.Take(other_driver, rpc::Message::kCreateReply);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_NE(replies[0].create_reply().error_message().find("does not run"), std::string::npos);
  rpc::PutInline put;
  put.mutable_data()->set_object_id(ret.Binary());
  put.mutable_data()->set_inline_data("forged");
  node_.manager().OnPutInline(forger, put);
  EXPECT_FALSE(node_.manager().object_table().IsReady(ret)) << "not by another client";

  // The worker's report of this task cannot complete another one.
  rpc::TaskDone done;
  done.set_task_id(task.Binary());
  auto* forged = done.add_returns()->mutable_data();
  forged->set_object_id(ObjectIdFor(held_back, 1).Binary());
  forged->set_inline_data("forged");
  auto* real = done.add_returns()->mutable_data();
  real->set_object_id(ret.Binary());
  real->set_inline_data("real");
  node_.manager().OnTaskDone(node_.clients().infos.at(worker), done);

  auto ready = node_.Ready(driver_);
  ASSERT_EQ(ready.count(ret), 1u);
  EXPECT_EQ(ready[ret].inline_data(), "real");
  EXPECT_EQ(ready.count(ObjectIdFor(held_back, 1)), 0u);
  EXPECT_FALSE(node_.manager().object_table().IsReady(ObjectIdFor(held_back, 1)));
}

TEST_F(NodeManagerTest, ACrashedTaskRunsAgainOnAFreshWorkerUntilItsRetriesRunOut) {
  const ClientId first = node_.RegisterWorker();
  rpc::TaskSpec spec = node_.Spec(driver_, "flaky");
  spec.set_max_retries(1);
  const TaskId task = node_.Submit(driver_, spec);
  ASSERT_EQ(node_.Executed(first).size(), 1u);

  node_.WorkerDies(first);
  EXPECT_TRUE(node_.Ready(driver_).empty()) << "a retry is left: nothing fails yet";
  ASSERT_GE(node_.num_launched(), 2u) << "a fresh worker is started for the retry";
  const ClientId second = node_.RegisterWorker();
  auto retried = node_.Executed(second);
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(retried[0].spec().attempt(), 1u);

  node_.WorkerDies(second);
  auto ready = node_.Ready(driver_);
  ASSERT_EQ(ready.count(ObjectIdFor(task, 1)), 1u);
  EXPECT_EQ(ready[ObjectIdFor(task, 1)].error(), rpc::WORKER_CRASHED);
  EXPECT_NE(ready[ObjectIdFor(task, 1)].error_message().find("no retries left"),
            std::string::npos);
}

TEST_F(NodeManagerTest, AWorkerThatCalledSysExitIsNamedInTheCrashError) {
  const ClientId worker = node_.RegisterWorker();
  rpc::TaskSpec spec = node_.Spec(driver_, "leaves");
  spec.set_max_retries(0);
  const TaskId task = node_.Submit(driver_, spec);
  rpc::WorkerExiting exiting;
  exiting.set_reason("leaves called sys.exit(3)");
  node_.manager().OnWorkerExiting(node_.clients().infos.at(worker), exiting);
  node_.WorkerDies(worker);
  auto ready = node_.Ready(driver_);
  EXPECT_NE(ready[ObjectIdFor(task, 1)].error_message().find("sys.exit(3)"), std::string::npos)
      << ready[ObjectIdFor(task, 1)].error_message();
}

TEST_F(NodeManagerTest, CancellingAQueuedTaskFailsItAndItNeverRuns) {
  const ClientId worker = node_.RegisterWorker();
  const TaskId running = node_.Submit(driver_, node_.Spec(driver_, "long"));
  // Another shape: it waits in the raylet, not behind the running task.
  const TaskId queued = node_.Submit(driver_, node_.Spec(driver_, "waits", {{"CPU", 0.5}}));
  ASSERT_EQ(node_.Executed(worker).size(), 1u);
  node_.Cancel(queued);
  auto ready = node_.Ready(driver_);
  EXPECT_EQ(ready[ObjectIdFor(queued, 1)].error(), rpc::TASK_CANCELLED);
  node_.Finish(worker, running);
  for (const auto& execute : node_.Executed(worker)) {
    EXPECT_NE(execute.spec().task_id(), queued.Binary()) << "a cancelled task was run";
  }
}

TEST_F(NodeManagerTest, CancellingARunningTaskInterruptsItThenKillsItsWorkerAfterTheGrace) {
  const ClientId worker = node_.RegisterWorker();
  const TaskId task = node_.Submit(driver_, node_.Spec(driver_, "stubborn"));
  node_.Executed(worker);
  node_.Cancel(task);
  EXPECT_EQ(node_.Ready(driver_)[ObjectIdFor(task, 1)].error(), rpc::TASK_CANCELLED)
      << "get raises at once, whatever the worker does";
  EXPECT_EQ(node_.Take(worker, kCancel).size(), 1u) << "the worker is asked to interrupt it";
  EXPECT_FALSE(node_.processes().Killed(node_.pid_of(worker)));
  node_.timers().Advance(milliseconds(2000));
  EXPECT_TRUE(node_.processes().Killed(node_.pid_of(worker)))
      << "a task that ignores the interrupt loses its worker";
}

TEST_F(NodeManagerTest, ForceCancelKillsTheWorkerAtOnceAndTheTaskIsNotRetried) {
  const ClientId worker = node_.RegisterWorker();
  rpc::TaskSpec spec = node_.Spec(driver_, "doomed");
  spec.set_max_retries(3);
  const TaskId task = node_.Submit(driver_, spec);
  node_.Executed(worker);
  node_.Cancel(task, /*force=*/true);
  EXPECT_TRUE(node_.processes().Killed(node_.pid_of(worker)));
  node_.WorkerDies(worker);
  const size_t launched = node_.num_launched();
  EXPECT_EQ(node_.Ready(driver_)[ObjectIdFor(task, 1)].error(), rpc::TASK_CANCELLED);
  if (launched > 1) {
    const ClientId fresh = node_.RegisterWorker();
    EXPECT_TRUE(node_.Executed(fresh).empty()) << "a cancelled task is never retried";
  }
}

TEST_F(NodeManagerTest, RecursiveCancelReachesTheTasksATaskSubmitted) {
  const ClientId worker = node_.RegisterWorker();
  const TaskId parent = node_.Submit(driver_, node_.Spec(driver_, "parent"));
  node_.Executed(worker);
  rpc::TaskSpec child = node_.Spec(driver_, "child", {{"CPU", 0.5}});
  child.set_parent_task_id(parent.Binary());
  const TaskId child_id = node_.Submit(worker, child);  // queued: the only CPU is taken
  node_.Cancel(parent);
  auto ready = node_.Ready(worker);
  EXPECT_EQ(ready[ObjectIdFor(child_id, 1)].error(), rpc::TASK_CANCELLED);
}

TEST_F(NodeManagerTest, ATaskRunningPastItsTimeoutIsCancelledWithTaskTimeout) {
  const ClientId worker = node_.RegisterWorker();
  rpc::TaskSpec spec = node_.Spec(driver_, "slow");
  spec.set_timeout_s(1.5);
  const TaskId task = node_.Submit(driver_, spec);
  node_.Executed(worker);
  node_.timers().Advance(milliseconds(1499));
  EXPECT_TRUE(node_.Ready(driver_).empty());
  node_.timers().Advance(milliseconds(1));
  auto ready = node_.Ready(driver_);
  EXPECT_EQ(ready[ObjectIdFor(task, 1)].error(), rpc::TASK_TIMEOUT);
  EXPECT_NE(ready[ObjectIdFor(task, 1)].error_message().find("timed out after 1.5 s"),
            std::string::npos);
  EXPECT_EQ(node_.Take(worker, kCancel).size(), 1u);
}

TEST_F(NodeManagerTest, TimeoutCountsFromWhenTheTaskStartsNotWhileItIsQueued) {
  const ClientId worker = node_.RegisterWorker();
  const TaskId first = node_.Submit(driver_, node_.Spec(driver_, "first"));
  rpc::TaskSpec spec = node_.Spec(driver_, "second");
  spec.set_timeout_s(1);
  const TaskId second = node_.Submit(driver_, spec);  // queued behind the first
  node_.Executed(worker);
  node_.timers().Advance(milliseconds(5000));
  EXPECT_EQ(node_.Ready(driver_).count(ObjectIdFor(second, 1)), 0u);
  node_.Finish(worker, first);
  node_.Executed(worker);
  node_.timers().Advance(milliseconds(999));
  EXPECT_EQ(node_.Ready(driver_).count(ObjectIdFor(second, 1)), 0u);
  node_.timers().Advance(milliseconds(1));
  EXPECT_EQ(node_.Ready(driver_)[ObjectIdFor(second, 1)].error(), rpc::TASK_TIMEOUT);
}

// ---- actors ----------------------------------------------------------------

rpc::TaskSpec ActorCreation(NodeManagerHarness& node, ClientId owner, int max_restarts,
                            int max_task_retries = 0) {
  return testing::ActorCreationSpec(node.clients().infos.at(owner).job_id, max_restarts,
                                    max_task_retries);
}

rpc::TaskSpec ActorCall(NodeManagerHarness& node, ClientId caller, const TaskId& actor,
                        const std::string& method) {
  return testing::ActorCallSpec(node.clients().infos.at(caller).job_id, actor, method);
}

// Creates an actor from `owner` on `worker` and reports its constructor done.
TaskId LiveActor(NodeManagerHarness& node, ClientId owner, ClientId worker,
                 rpc::TaskSpec creation) {
  const TaskId actor = node.Submit(owner, std::move(creation));
  node.Finish(worker, actor, "handle");
  node.Executed(worker);
  return actor;
}

TEST_F(NodeManagerTest, AnActorWithRestartsLeftIsConstructedAgainAndLaterCallsReachIt) {
  const ClientId worker = node_.RegisterWorker();
  const TaskId actor = node_.Submit(driver_, ActorCreation(node_, driver_, 1));
  ASSERT_EQ(node_.Executed(worker).size(), 1u);
  node_.Finish(worker, actor, "handle");
  const TaskId call = node_.Submit(driver_, ActorCall(node_, driver_, actor, "incr"));
  ASSERT_EQ(node_.Executed(worker).size(), 1u);

  node_.WorkerDies(worker);
  EXPECT_EQ(node_.Ready(driver_)[ObjectIdFor(call, 1)].error(), rpc::ACTOR_DIED)
      << "max_task_retries=0: the call in flight fails";
  const ClientId fresh = node_.RegisterWorker();
  auto rebuilt = node_.Executed(fresh);
  ASSERT_EQ(rebuilt.size(), 1u);
  EXPECT_TRUE(rebuilt[0].spec().has_actor()) << "the constructor runs again";
  node_.Finish(fresh, actor, "handle");
  const TaskId later = node_.Submit(driver_, ActorCall(node_, driver_, actor, "incr"));
  auto sent = node_.Executed(fresh);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].spec().task_id(), later.Binary());
}

TEST_F(NodeManagerTest, AnActorWithNoRestartsLeftFailsEveryCallWithActorDied) {
  const ClientId worker = node_.RegisterWorker();
  const TaskId actor = LiveActor(node_, driver_, worker, ActorCreation(node_, driver_, 0));
  node_.WorkerDies(worker);
  const TaskId call = node_.Submit(driver_, ActorCall(node_, driver_, actor, "incr"));
  auto ready = node_.Ready(driver_);
  EXPECT_EQ(ready[ObjectIdFor(call, 1)].error(), rpc::ACTOR_DIED);
  EXPECT_NE(ready[ObjectIdFor(call, 1)].error_message().find("Counter died"), std::string::npos);
}

TEST_F(NodeManagerTest, AnActorDiesWithTheProcessThatCreatedIt) {
  const ClientId worker = node_.RegisterWorker();
  const ClientId creator = node_.RegisterDriver(/*pid=*/77);
  const TaskId actor = LiveActor(node_, creator, worker, ActorCreation(node_, creator, 3));
  const ClientInfo info = node_.clients().infos.at(creator);
  node_.clients().infos.erase(creator);
  node_.manager().OnClientClosed(info);
  EXPECT_TRUE(node_.processes().Killed(node_.pid_of(worker))) << "even with restarts left";
  const TaskId call = node_.Submit(driver_, ActorCall(node_, driver_, actor, "incr"));
  auto ready = node_.Ready(driver_);
  EXPECT_EQ(ready[ObjectIdFor(call, 1)].error(), rpc::ACTOR_DIED);
  EXPECT_NE(ready[ObjectIdFor(call, 1)].error_message().find("owner"), std::string::npos);
}

TEST_F(NodeManagerTest, ASyncActorHoldsLaterCallsBehindOneWaitingForAnArgument) {
  const ClientId worker = node_.RegisterWorker();
  const TaskId actor = LiveActor(node_, driver_, worker, ActorCreation(node_, driver_, 0));
  const TaskId pending = TaskId::FromRandom();  // some task's return that is not ready
  // Queued: the only worker hosts the actor, and no other worker registers.
  rpc::TaskSpec producer = node_.Spec(driver_, "producer");
  producer.set_task_id(pending.Binary());
  node_.Submit(driver_, producer);
  rpc::TaskSpec waits = ActorCall(node_, driver_, actor, "first");
  waits.add_dependencies(ObjectIdFor(pending, 1).Binary());
  node_.Submit(driver_, waits);
  const TaskId later = node_.Submit(driver_, ActorCall(node_, driver_, actor, "second"));
  for (const auto& execute : node_.Executed(worker)) {
    EXPECT_NE(execute.spec().task_id(), later.Binary()) << "a later call overtook";
  }
}

TEST_F(NodeManagerTest, AnOutOfOrderActorRunsLaterCallsWhileOneWaitsForAnArgument) {
  const ClientId worker = node_.RegisterWorker();
  rpc::TaskSpec creation = ActorCreation(node_, driver_, 0);
  creation.mutable_actor()->set_out_of_order(true);
  const TaskId actor = LiveActor(node_, driver_, worker, creation);
  const TaskId pending = TaskId::FromRandom();
  // Queued: the only worker hosts the actor, and no other worker registers.
  rpc::TaskSpec producer = node_.Spec(driver_, "producer");
  producer.set_task_id(pending.Binary());
  node_.Submit(driver_, producer);
  rpc::TaskSpec waits = ActorCall(node_, driver_, actor, "first");
  waits.add_dependencies(ObjectIdFor(pending, 1).Binary());
  const TaskId first = node_.Submit(driver_, waits);
  const TaskId later = node_.Submit(driver_, ActorCall(node_, driver_, actor, "second"));
  bool later_sent = false;
  for (const auto& execute : node_.Executed(worker)) {
    EXPECT_NE(execute.spec().task_id(), first.Binary()) << "sent before its argument exists";
    later_sent |= execute.spec().task_id() == later.Binary();
  }
  EXPECT_TRUE(later_sent);
}

// ---- generators --------------------------------------------------------------

TEST_F(NodeManagerTest, AGeneratorsItemsReachTheCallerAndTheNextOneEndsWithTheTask) {
  const ClientId worker = node_.RegisterWorker();
  rpc::TaskSpec spec = node_.Spec(driver_, "gen");
  spec.set_streaming(true);
  const TaskId task = node_.Submit(driver_, spec);
  node_.Executed(worker);
  // The caller waits on one item at a time: the next one is always pending.
  auto wait_for_item = [&](uint32_t k) {
    rpc::Subscribe subscribe;
    subscribe.add_object_ids(ObjectIdFor(task, k + 2).Binary());
    node_.manager().OnSubscribe(node_.clients().infos.at(driver_), subscribe);
  };
  auto yield = [&](uint32_t k) {
    rpc::GeneratorYield items;
    items.set_task_id(task.Binary());
    auto* data = items.add_items()->mutable_data();
    data->set_object_id(ObjectIdFor(task, k + 2).Binary());
    data->set_inline_data("item" + std::to_string(k));
    node_.manager().OnGeneratorYield(node_.clients().infos.at(worker), items);
  };
  for (uint32_t k = 0; k < 2; ++k) {
    wait_for_item(k);
    EXPECT_TRUE(node_.Ready(driver_).empty()) << "item " << k << " is pending, not lost";
    yield(k);
    auto ready = node_.Ready(driver_);
    EXPECT_EQ(ready[ObjectIdFor(task, k + 2)].inline_data(), "item" + std::to_string(k));
  }
  wait_for_item(2);
  EXPECT_TRUE(node_.Ready(driver_).empty());
  node_.Finish(worker, task, "2");
  auto ready = node_.Ready(driver_);
  EXPECT_EQ(ready[ObjectIdFor(task, 1)].inline_data(), "2");
  EXPECT_EQ(ready[ObjectIdFor(task, 4)].error(), rpc::OBJECT_LOST) << "no third item will come";
}

TEST_F(NodeManagerTest, AGeneratorThatCrashedAfterYieldingIsNotRunAgain) {
  const ClientId worker = node_.RegisterWorker();
  rpc::TaskSpec spec = node_.Spec(driver_, "gen");
  spec.set_streaming(true);
  spec.set_max_retries(3);
  const TaskId task = node_.Submit(driver_, spec);
  node_.Executed(worker);
  rpc::GeneratorYield items;
  items.set_task_id(task.Binary());
  auto* data = items.add_items()->mutable_data();
  data->set_object_id(ObjectIdFor(task, 2).Binary());
  data->set_inline_data("item0");
  node_.manager().OnGeneratorYield(node_.clients().infos.at(worker), items);
  node_.WorkerDies(worker);
  auto ready = node_.Ready(driver_);
  EXPECT_EQ(ready[ObjectIdFor(task, 1)].error(), rpc::WORKER_CRASHED);
  EXPECT_NE(ready[ObjectIdFor(task, 1)].error_message().find("after it had yielded"),
            std::string::npos);
}

// ---- placement groups ------------------------------------------------------------

rpc::CreatePlacementGroup Group(const std::vector<std::map<std::string, double>>& bundles) {
  rpc::CreatePlacementGroup create;
  create.set_pg_id(PlacementGroupId::FromRandom().Binary());
  for (const auto& bundle : bundles) ResourceSet::FromMap(bundle).ToProto(create.add_bundles());
  create.set_strategy("PACK");
  create.set_ready_id(ObjectIdFor(TaskId::FromRandom(), kPutIndexBit | 1).Binary());
  create.set_ready_value("ready");
  return create;
}

TEST_F(NodeManagerTest, APlacementGroupIsReservedWhenItFitsAndRemovedGroupsSayRemoved) {
  node_.RegisterWorker();
  const rpc::CreatePlacementGroup create = Group({{{"CPU", 1}}});
  node_.manager().OnCreatePlacementGroup(node_.clients().infos.at(driver_), create);
  auto ready = node_.Ready(driver_);
  ASSERT_EQ(ready.count(ObjectId::FromBinary(create.ready_id())), 1u);
  EXPECT_EQ(ready[ObjectId::FromBinary(create.ready_id())].inline_data(), "ready");

  // Its CPU is the group's now: a plain task waits.
  const TaskId plain = node_.Submit(driver_, node_.Spec(driver_, "plain"));
  EXPECT_EQ(node_.Ready(driver_).count(ObjectIdFor(plain, 1)), 0u);

  rpc::RemovePlacementGroup remove;
  remove.set_pg_id(create.pg_id());
  node_.manager().OnRemovePlacementGroup(node_.clients().infos.at(driver_), remove);
  rpc::PlacementGroupTableRequest table;
  table.set_request_id(7);
  node_.manager().OnPlacementGroupTable(node_.clients().infos.at(driver_), table);
  auto replies = node_.Take(driver_, rpc::Message::kPlacementGroupTableReply);
  ASSERT_EQ(replies.size(), 1u);
  ASSERT_EQ(replies[0].placement_group_table_reply().groups_size(), 1);
  EXPECT_EQ(replies[0].placement_group_table_reply().groups(0).state(),
            rpc::PG_REMOVED);
}

TEST_F(NodeManagerTest, RemovingAGroupThisNodeKnowsNothingOfAsksTheOtherNodes) {
  const NodeId other = NodeId::FromRandom();
  rpc::NodeInfo info;
  info.set_node_id(other.Binary());
  info.set_alive(true);
  (*info.mutable_total()->mutable_amounts())["CPU"] = 1;
  node_.manager().OnClusterView({info});
  rpc::RemovePlacementGroup remove;
  remove.set_pg_id(PlacementGroupId::FromRandom().Binary());  // created there

  ClientInfo peer;
  peer.kind = rpc::PEER;
  peer.node_id = other;
  node_.manager().OnRemovePlacementGroup(peer, remove);
  EXPECT_TRUE(node_.peers().Of(other, rpc::Message::kRemovePlacementGroup).empty())
      << "another node's removal is not passed on again";

  node_.manager().OnRemovePlacementGroup(node_.clients().infos.at(driver_), remove);
  const auto asked = node_.peers().Of(other, rpc::Message::kRemovePlacementGroup);
  ASSERT_EQ(asked.size(), 1u) << "a driver's removal reaches the node that made the group";
  EXPECT_EQ(asked[0].remove_placement_group().pg_id(), remove.pg_id());
}

TEST_F(NodeManagerTest, APlacementGroupTooLargeForTheClusterWarnsAndStaysPendingUntilRemoved) {
  node_.clients().infos.at(driver_).log_to_driver = true;
  const rpc::CreatePlacementGroup create = Group({{{"CPU", 4}}});
  node_.manager().OnCreatePlacementGroup(node_.clients().infos.at(driver_), create);
  const auto warnings = node_.Take(driver_, rpc::Message::kLogLines);
  ASSERT_EQ(warnings.size(), 1u) << "the driver is warned at once";
  EXPECT_NE(warnings[0].log_lines().lines(0).find("stays pending"), std::string::npos)
      << warnings[0].log_lines().lines(0);
  node_.timers().Advance(NodeOptions().infeasible_grace * 10);
  const ObjectId ready_id = ObjectId::FromBinary(create.ready_id());
  EXPECT_EQ(node_.Ready(driver_).count(ready_id), 0u) << "it waits for a node that can hold it";

  rpc::RemovePlacementGroup remove;
  remove.set_pg_id(create.pg_id());
  node_.manager().OnRemovePlacementGroup(node_.clients().infos.at(driver_), remove);
  auto ready = node_.Ready(driver_);
  ASSERT_EQ(ready.count(ready_id), 1u) << "removing it ends the wait";
  EXPECT_EQ(ready[ready_id].error(), rpc::TASK_CANCELLED);
}

// ---- spilling ----------------------------------------------------------------------

TEST_F(NodeManagerTest, ATaskWhoseSpilledArgumentCannotBeReadBackFailsWithObjectLost) {
  const ClientId worker = node_.RegisterWorker();
  const ClientInfo& driver = node_.clients().infos.at(driver_);
  auto put = [&](uint64_t size) {
    const ObjectId id = ObjectIdFor(TaskId::FromRandom(), kPutIndexBit | 1);
    rpc::CreateObject create;
    create.set_request_id(1);
    create.set_object_id(id.Binary());
    create.set_size(size);
    node_.manager().OnCreateObject(driver, create);
    node_.spill_files().CompleteAll();  // a spill it waits for
    auto replies = node_.Take(driver_, rpc::Message::kCreateReply);
    EXPECT_EQ(replies.size(), 1u);
    EXPECT_EQ(replies[0].create_reply().error(), rpc::ERROR_NONE);
    rpc::SealObject seal;
    seal.set_object_id(id.Binary());
    node_.manager().OnSealObject(driver, seal);
    return id;
  };
  const ObjectId first = put(3 << 20);
  put(3 << 20);  // spills the first: 4 MiB arena
  ASSERT_EQ(node_.spill_files().files.count(first.Hex()), 1u);
  node_.spill_files().fail_reads = true;

  rpc::TaskSpec spec = node_.Spec(driver_, "reads");
  spec.add_dependencies(first.Binary());
  const TaskId task = node_.Submit(driver_, spec);
  node_.spill_files().CompleteAll();  // room made for it, then its read fails
  EXPECT_TRUE(node_.Executed(worker).empty()) << "it must not run on garbage";
  auto ready = node_.Ready(driver_);
  EXPECT_EQ(ready[ObjectIdFor(task, 1)].error(), rpc::OBJECT_LOST);
}

}  // namespace
}  // namespace flare

namespace flare {
namespace {

TEST(NodeManagerRebalanceTest, ATaskQueuedBehindAnotherMovesToAWorkerThatComesUpLater) {
  NodeManagerHarness node(/*cpus=*/2);
  const ClientId driver = node.RegisterDriver();
  const ClientId first = node.RegisterWorker();
  const ClientId second = node.RegisterWorker();
  rpc::TaskSpec doomed = node.Spec(driver, "doomed");
  doomed.set_max_retries(0);
  node.Submit(driver, node.Spec(driver, "long"));
  node.Submit(driver, doomed);
  const TaskId queued = node.Submit(driver, node.Spec(driver, "queued"));  // both CPUs taken
  const size_t on_first = node.Executed(first).size();
  const size_t on_second = node.Executed(second).size();
  ASSERT_EQ(on_first + on_second, 3u);
  const ClientId holder = on_first == 2 ? first : second;  // the queued task sits behind it
  const ClientId other = holder == first ? second : first;

  node.WorkerDies(other);  // a CPU frees up, and a fresh worker starts for it
  ASSERT_GE(node.num_launched(), 3u);
  node.RegisterWorker();
  EXPECT_EQ(node.Take(holder, rpc::Message::kReturnTasks).size(), 1u)
      << "the idle worker should get the task queued behind " << queued.Hex();
}

TEST_F(NodeManagerTest, AnArgumentIsPulledFromAnyNodeItsOwnerNamesAndTheOwnerHearsOfTheCopy) {
  ClientInfo owner;
  owner.id = 900;
  owner.kind = rpc::PEER;
  owner.node_id = NodeId::FromRandom();
  const NodeId made_it = NodeId::FromRandom();
  const NodeId has_a_copy = NodeId::FromRandom();
  const ObjectId id = ObjectIdFor(TaskId::FromRandom(), 1);
  rpc::ObjectLocation location;
  location.set_object_id(id.Binary());
  location.set_size(64);
  location.set_node_id(made_it.Binary());
  location.add_other_node_ids(has_a_copy.Binary());

  node_.manager().OnObjectLocation(owner, location);

  ASSERT_EQ(node_.peers().pulls.size(), 1u);
  std::vector<NodeId> holders = node_.peers().pulls[0].holders;
  std::sort(holders.begin(), holders.end());
  std::vector<NodeId> named{made_it, has_a_copy};
  std::sort(named.begin(), named.end());
  EXPECT_EQ(holders, named) << "either may serve it";
  EXPECT_TRUE(node_.peers().Of(owner.node_id, rpc::Message::kObjectCopies).empty());

  node_.peers().pulls[0].done(absl::OkStatus());
  const auto reported = node_.peers().Of(owner.node_id, rpc::Message::kObjectCopies);
  ASSERT_EQ(reported.size(), 1u) << "the owner hears of the copy here";
  EXPECT_EQ(reported[0].object_copies().added(0), id.Binary());
}

}  // namespace
}  // namespace flare
