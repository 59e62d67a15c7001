// Specification of the TaskManager's placement across nodes when nodes are
// busy or small: spillback and rebalancing, what never leaves this node,
// and tasks that wait for a node that fits. Played over the node's units
// with fake I/O (task_manager_remote_harness.h).
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

// ---- spillback and rebalancing --------------------------------------------------------

TEST_F(TaskManagerRemoteTest, QueuedTasksMoveToANodeWhenItsReportShowsRoom) {
  const ClientId worker = node_.StartWorker();
  RunOn(worker, Spec("busy"));
  Report(b_, 4, 0);
  const TaskId queued = Submit(Spec("queued", {{"CPU", 0.5}}));
  ASSERT_TRUE(node_.peers().sent.empty());

  Report(b_, 4, 4);
  tasks_.Dispatch();

  EXPECT_EQ(SentTo(b_), std::vector<TaskId>{queued});
  EXPECT_EQ(node_.scheduler().num_queued(), 0u) << "it left this node's queue";
  EXPECT_EQ(tasks_.size(), 2u);
}

TEST_F(TaskManagerRemoteTest, SpillbackSendsNoMoreThanTheReportedRoomOldestFirst) {
  const ClientId worker = node_.StartWorker();
  RunOn(worker, Spec("busy"));
  Report(b_, 4, 0);
  std::vector<TaskId> queued;
  for (int i = 0; i < 3; ++i) queued.push_back(Submit(Spec("q" + std::to_string(i), {{"CPU", 0.5}})));

  Report(b_, 4, 1);
  tasks_.Dispatch();

  EXPECT_EQ(SentTo(b_), (std::vector<TaskId>{queued[0], queued[1]}));
  EXPECT_EQ(node_.scheduler().num_queued(), 1u) << "the third waits here";

  tasks_.Dispatch();
  EXPECT_EQ(SentTo(b_).size(), 2u) << "nothing more before b reports again";
}

TEST_F(TaskManagerRemoteTest, ANodeATaskCameBackFromTakesTheNextBeforeItReportsAgain) {
  const ClientId worker = node_.StartWorker();
  RunOn(worker, Spec("busy"));
  Report(b_, 1, 1);
  const TaskId first = Submit(Spec("first"));
  const TaskId second = Submit(Spec("second"));
  ASSERT_EQ(SentTo(b_), std::vector<TaskId>{first});
  ASSERT_EQ(node_.ExecutedIds(worker), std::vector<TaskId>{second}) << "pipelined here";

  ReturnsValue(b_, first, "done");

  EXPECT_EQ(node_.view().remote_nodes().at(b_).available.Get("CPU"), 1)
      << "the CPU it took there is free there again";
  ASSERT_EQ(node_.clients().Take(worker, kReturnTasks).size(), 1u)
      << "the worker here is asked for what it has not started";
  rpc::TasksReturned returned;
  returned.add_task_ids(second.Binary());
  tasks_.OnTasksReturned(worker, returned);
  EXPECT_EQ(SentTo(b_), (std::vector<TaskId>{first, second}));
}

TEST_F(TaskManagerRemoteTest, RoomGivenBackNeverExceedsWhatTheNodeHas) {
  const ClientId worker = node_.StartWorker();
  RunOn(worker, Spec("busy"));
  Report(b_, 2, 2);
  const TaskId first = Submit(Spec("first", {{"CPU", 0.5}}));
  ASSERT_EQ(SentTo(b_), std::vector<TaskId>{first});
  Report(b_, 2, 2);  // a report that already counts it done

  ReturnsValue(b_, first, "done");

  EXPECT_EQ(node_.view().remote_nodes().at(b_).available.Get("CPU"), 2);
}

// A task queued here that the scheduler holds as ready while its argument
// is no longer here (its copy went; its node died and it is being made
// again) waits for it again rather than being handed to a worker without
// it (SpillBack likewise does not send it to another node). The chaos run
// found both; the scheduler is made to hold it ready below, as it did there.
class ArgumentGoneTest : public TaskManagerRemoteTest {
 protected:
  // A result made on b and lost with it after `reader` was queued here.
  void ReaderOfALostResult() {
    Report(b_, 4, 4);
    const TaskId producer = Submit(Pinned("producer", b_));
    ReturnsInStore(b_, producer, 1 << 16);
    made_ = ObjectIdFor(producer, 1);
    reader_ = Submit(Reading(Pinned("reader", node_.view().local_id()), {made_}));
    node_.scheduler().OnObjectReady(made_);
    ASSERT_TRUE(node_.objects().Reopen(made_));  // as lineage reconstruction does
  }
  ObjectId made_;
  TaskId reader_;
};

TEST_F(ArgumentGoneTest, ItIsNotHandedToAWorker) {
  const ClientId worker = node_.StartWorker();
  ReaderOfALostResult();
  tasks_.Dispatch();
  EXPECT_TRUE(node_.ExecutedIds(worker).empty()) << "its argument is not here";
  EXPECT_EQ(node_.scheduler().WaitingFor(made_), std::vector<TaskId>{reader_});
}

TEST_F(TaskManagerRemoteTest, TasksPipelinedBehindARunningOneAreTakenBackForANodeWithRoom) {
  const ClientId worker = node_.StartWorker();
  RunOn(worker, Spec("busy"));
  Report(b_, 4, 0);
  const TaskId t1 = Submit(Spec("t1"));
  const TaskId t2 = Submit(Spec("t2"));
  const TaskId t3 = Submit(Spec("t3"));
  ASSERT_EQ(node_.ExecutedIds(worker), (std::vector<TaskId>{t1, t2, t3})) << "pipelined";

  Report(b_, 4, 2);
  tasks_.Dispatch();
  tasks_.Rebalance();
  ASSERT_EQ(node_.clients().Take(worker, kReturnTasks).size(), 1u)
      << "the worker is asked to hand back what it has not started";
  tasks_.Rebalance();
  EXPECT_TRUE(node_.clients().Take(worker, kReturnTasks).empty()) << "asked once";

  rpc::TasksReturned returned;
  for (const TaskId& task : {t1, t2, t3}) returned.add_task_ids(task.Binary());
  tasks_.OnTasksReturned(worker, returned);

  EXPECT_EQ(SentTo(b_), (std::vector<TaskId>{t1, t2})) << "b has room for two";
  EXPECT_EQ(node_.ExecutedIds(worker), std::vector<TaskId>{t3}) << "the third queues here again";
}

TEST_F(TaskManagerRemoteTest, PipelinedTasksAreLeftAloneWhileNoOtherNodeHasRoom) {
  const ClientId worker = node_.StartWorker();
  RunOn(worker, Spec("busy"));
  Report(b_, 4, 0);
  Submit(Spec("t1"));
  ASSERT_EQ(node_.ExecutedIds(worker).size(), 1u) << "pipelined";

  tasks_.Rebalance();

  EXPECT_TRUE(node_.clients().Take(worker, kReturnTasks).empty());
}

// ---- what stays on this node ------------------------------------------------------

TEST_F(TaskManagerRemoteTest, ATaskAnotherNodePlacedHereNeverLeaves) {
  const ClientId worker = node_.StartWorker();
  const TaskId busy = RunOn(worker, Spec("busy"));
  const ClientInfo peer = node_.Peer(b_);
  Report(b_, 4, 4);

  rpc::TaskSpec spec = Pinned("from_b", b_);  // its placement was b's to make
  ResourceSet::FromMap({{"CPU", 0.5}}).ToProto(spec.mutable_resources());
  const TaskId task = node_.Submit(peer, spec);
  tasks_.Dispatch();

  EXPECT_TRUE(node_.peers().sent.empty()) << "it is never sent on, not even to b";
  EXPECT_EQ(node_.scheduler().num_queued(), 1u) << "it waits for room here";

  node_.Done(worker, NodeUnitsHarness::Returned(busy));
  EXPECT_EQ(node_.ExecutedIds(worker), std::vector<TaskId>{task}) << "it runs here";
  EXPECT_TRUE(node_.peers().sent.empty());
}

TEST_F(TaskManagerRemoteTest, ATaskAnotherNodePlacedHereThatDoesNotFitIsSpilledBackToIt) {
  const ClientInfo b = node_.Peer(b_);
  Report(c_, 8, 8);  // c fits it, but where it goes is its owner's to choose
  const TaskId task = node_.Submit(b, Spec("big", {{"CPU", 4}}));

  const auto back = node_.clients().Take(b.id, rpc::Message::kTaskSpilledBack);
  ASSERT_EQ(back.size(), 1u) << "its owner hears at once, not after the infeasible grace";
  EXPECT_EQ(back[0].task_spilled_back().task_id(), task.Binary());
  EXPECT_TRUE(Contains(back[0].task_spilled_back().why(), "{CPU: 4}"))
      << back[0].task_spilled_back().why();
  EXPECT_EQ(ResourceSet::FromProto(back[0].task_spilled_back().total()).Get("CPU"), 1)
      << "what this node has, for the owner's view";
  EXPECT_EQ(tasks_.size(), 0u) << "nothing of it waits here";
  EXPECT_EQ(tasks_.num_infeasible(), 0u);
  EXPECT_TRUE(node_.peers().sent.empty()) << "it is not sent on from here";
  EXPECT_EQ(node_.ErrorOf(task), rpc::INFEASIBLE) << "its return ends here (the owner ignores it)";
  node_.objects().RemoveRef(b.id, ObjectIdFor(task, 1));  // the owner lets go of its return
  EXPECT_FALSE(node_.objects().Contains(ObjectIdFor(task, 1))) << "nothing is left here";
}

TEST_F(TaskManagerRemoteTest, ATaskSpilledBackGoesWhereItFitsWithoutSpendingARetry) {
  Report(b_, 4, 4);  // b's report is stale: it has 1 CPU
  Report(c_, 4, 4);
  const TaskId task = Submit(Retried(Spec("two", {{"CPU", 2}}), 0));
  ASSERT_EQ(SentTo(b_), std::vector<TaskId>{task}) << "ties go to b";

  tasks_.OnSpilledBack(b_, SpilledBack(task, 1));

  EXPECT_EQ(SentTo(c_), std::vector<TaskId>{task}) << "placed again, on the node that fits";
  EXPECT_EQ(SpecsSentTo(c_)[0].attempt(), 0u) << "no retry spent (it had none)";
  const auto released = ReleasedOn(b_);
  EXPECT_NE(std::find(released.begin(), released.end(), ObjectIdFor(task, 1)), released.end())
      << "b drops the return it held for it";
  EXPECT_EQ(node_.view().remote_nodes().at(b_).total.Get("CPU"), 1) << "the view is corrected";
  ReturnsValue(c_, task, "done");
  EXPECT_EQ(node_.Result(task)->inline_data, "done");
}

TEST_F(TaskManagerRemoteTest, ATaskSpilledBackThatNoNodeFitsWaitsForOneAsAnyInfeasibleTask) {
  Report(b_, 4, 4);  // stale
  const TaskId task = Submit(Spec("two", {{"CPU", 2}}));
  ASSERT_EQ(SentTo(b_), std::vector<TaskId>{task});
  tasks_.OnSpilledBack(c_, SpilledBack(task, 1));  // not where it went: ignored
  EXPECT_EQ(tasks_.num_infeasible(), 0u);

  tasks_.OnSpilledBack(b_, SpilledBack(task, 1));

  EXPECT_EQ(tasks_.num_infeasible(), 1u) << "it waits for a node that fits";
  const std::vector<std::string> log = DriverLog();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_TRUE(Contains(log[0], "warning")) << log[0];
  Report(c_, 2, 2);
  tasks_.OnViewChanged();
  EXPECT_EQ(SentTo(c_), std::vector<TaskId>{task});
}

// ---- waiting for a node that fits ---------------------------------------------------

// A group of one one-CPU bundle that b made (this node knows nothing of it
// but its GCS record, PENDING), and a task of this node's driver in it.
class TaskManagerGroupElsewhereTest : public TaskManagerRemoteTest {
 protected:
  TaskManagerGroupElsewhereTest() {
    rpc::PlacementGroupInfo record;
    record.set_pg_id(group_.Binary());
    record.set_strategy("PACK");
    ResourceSet::FromMap({{"CPU", 1}}).ToProto(record.add_bundles());
    EXPECT_TRUE(node_.gcs().AddPlacementGroup(record).ok());
    Report(b_, 1, 1);
  }
  TaskId SubmitInGroup() {
    rpc::TaskSpec spec = Spec("in_group", {});
    bundle_.ToProto(spec.mutable_resources());
    return Submit(spec);
  }
  // b reserved the group: its bundle shows in b's report.
  void BReportsTheBundle() {
    ResourceSet total = ResourceSet::FromMap({{"CPU", 1}});
    total.Add(bundle_);
    node_.view().UpdateNode(b_, {total, total});
    tasks_.OnViewChanged();
  }

  PlacementGroupId group_ = PlacementGroupId::FromRandom();
  ResourceSet bundle_ = ResourceSet::FromMap({{GroupResourceName("CPU", group_.Hex(), 0), 1}});
};

TEST_F(TaskManagerGroupElsewhereTest, ATaskWaitsPastTheGraceWhileItsGroupIsPendingThenGoesToIt) {
  const TaskId task = SubmitInGroup();
  const std::vector<std::string> log = DriverLog();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_TRUE(Contains(log[0], "waits while the group is pending")) << log[0];

  node_.timers().Advance(TaskManager::kInfeasibleGrace * 3);
  EXPECT_EQ(node_.Result(task), nullptr) << "the group is pending: so is the task";
  EXPECT_EQ(tasks_.num_infeasible(), 1u);

  ASSERT_TRUE(node_.gcs().PlacementGroupCreated(group_, {b_}).ok());
  BReportsTheBundle();
  EXPECT_EQ(SentTo(b_), std::vector<TaskId>{task});
}

TEST_F(TaskManagerGroupElsewhereTest, ATaskFailsAfterTheGraceOnceItsGroupIsRemoved) {
  const TaskId task = SubmitInGroup();
  ASSERT_TRUE(node_.gcs().PlacementGroupRemoved(group_).ok());
  node_.timers().Advance(TaskManager::kInfeasibleGrace);
  EXPECT_EQ(node_.ErrorOf(task), rpc::INFEASIBLE);
  EXPECT_TRUE(Contains(node_.MessageOf(task), "placement group " + group_.Hex()))
      << node_.MessageOf(task);
}

TEST_F(TaskManagerGroupElsewhereTest, ATaskWaitsForTheViewOfAGroupReservedOnANodeAlive) {
  const TaskId task = SubmitInGroup();
  ASSERT_TRUE(node_.gcs().PlacementGroupCreated(group_, {b_}).ok());
  node_.timers().Advance(TaskManager::kInfeasibleGrace);
  EXPECT_EQ(node_.Result(task), nullptr) << "b's next report will show the bundle";
  BReportsTheBundle();
  EXPECT_EQ(SentTo(b_), std::vector<TaskId>{task});
}

TEST_F(TaskManagerRemoteTest, ATaskNoNodeFitsWarnsAtOnceThenGoesToANodeThatJoins) {
  Report(b_, 1, 1);
  const TaskId big = Submit(Spec("big", {{"CPU", 8}}));
  EXPECT_FALSE(node_.objects().IsReady(ObjectIdFor(big, 1))) << "it waits";
  EXPECT_EQ(tasks_.num_infeasible(), 1u);
  const std::vector<std::string> log = DriverLog();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_TRUE(Contains(log[0], "warning")) << log[0];
  EXPECT_TRUE(Contains(log[0], "{CPU: 8}")) << log[0];

  Report(c_, 8, 8);
  tasks_.OnViewChanged();
  EXPECT_EQ(SentTo(c_), std::vector<TaskId>{big});
  EXPECT_EQ(tasks_.num_infeasible(), 0u);
  node_.timers().Advance(TaskManager::kInfeasibleGrace);
  EXPECT_FALSE(node_.objects().IsReady(ObjectIdFor(big, 1))) << "the grace no longer applies";
}

TEST_F(TaskManagerRemoteTest, ATaskNoNodeFitsFailsInfeasibleWhenNoneJoinedInTheGrace) {
  Report(b_, 1, 1);
  const TaskId big = Submit(Spec("big", {{"CPU", 8}}));
  node_.timers().Advance(TaskManager::kInfeasibleGrace - std::chrono::milliseconds(1));
  EXPECT_FALSE(node_.objects().IsReady(ObjectIdFor(big, 1)));
  node_.timers().Advance(std::chrono::milliseconds(1));
  const ObjectEntry* result = node_.objects().Find(ObjectIdFor(big, 1));
  ASSERT_TRUE(result != nullptr && result->state == ObjectState::kReady);
  EXPECT_EQ(result->error, rpc::INFEASIBLE);
  EXPECT_TRUE(Contains(result->error_message, "the largest has")) << result->error_message;
  EXPECT_EQ(tasks_.num_infeasible(), 0u);
}

TEST_F(TaskManagerRemoteTest, HardAffinityOrNoGraceFailsAtOnce) {
  const TaskId pinned = Submit(Pinned("f", NodeId::FromRandom()));
  EXPECT_EQ(node_.objects().Find(ObjectIdFor(pinned, 1))->error, rpc::INFEASIBLE);
  tasks_.set_infeasible_grace(std::chrono::milliseconds(0));
  const TaskId big = Submit(Spec("big", {{"CPU", 8}}));
  EXPECT_EQ(node_.objects().Find(ObjectIdFor(big, 1))->error, rpc::INFEASIBLE);
}

TEST_F(TaskManagerRemoteTest, AWaitingTaskCanBeCancelled) {
  const TaskId big = Submit(Spec("big", {{"CPU", 8}}));
  rpc::CancelTask cancel;
  cancel.set_task_id(big.Binary());
  tasks_.OnCancel(ClientInfo(), cancel);
  EXPECT_EQ(node_.objects().Find(ObjectIdFor(big, 1))->error, rpc::TASK_CANCELLED);
  EXPECT_EQ(tasks_.num_infeasible(), 0u);
  node_.timers().Advance(TaskManager::kInfeasibleGrace);
  EXPECT_EQ(tasks_.size(), 0u);
}

TEST_F(TaskManagerRemoteTest, AnActorNoNodeFitsIsCreatedOnANodeThatJoins) {
  rpc::TaskSpec spec = testing::ActorCreationSpec(driver_.job_id, 0);
  (*spec.mutable_resources()->mutable_amounts())["gadget"] = 1;
  const TaskId actor = Submit(spec);
  EXPECT_FALSE(no_actors_.Hosts(ActorIdOf(actor))) << "not here while it waits";
  const TaskId call = Submit(testing::ActorCallSpec(driver_.job_id, actor, "add"));
  EXPECT_TRUE(no_actors_.calls.empty()) << "calls wait with it";
  node_.view().UpdateNode(b_, {ResourceSet::FromMap({{"CPU", 1}, {"gadget", 1}}),
                               ResourceSet::FromMap({{"CPU", 1}, {"gadget", 1}})});
  tasks_.OnViewChanged();
  tasks_.Dispatch();
  EXPECT_EQ(SentTo(b_), (std::vector<TaskId>{actor, call}));
  EXPECT_EQ(tasks_.ActorNode(ActorIdOf(actor)), b_);
}

TEST_F(TaskManagerRemoteTest, AnActorNoNodeFitsFailsHereAfterTheGrace) {
  rpc::TaskSpec spec = testing::ActorCreationSpec(driver_.job_id, 0);
  (*spec.mutable_resources()->mutable_amounts())["gadget"] = 1;
  const TaskId actor = Submit(spec);
  const TaskId call = Submit(testing::ActorCallSpec(driver_.job_id, actor, "add"));
  node_.timers().Advance(TaskManager::kInfeasibleGrace);
  EXPECT_TRUE(no_actors_.Hosts(ActorIdOf(actor))) << "the actor manager records why it died";
  EXPECT_EQ(no_actors_.calls, std::vector<TaskId>{call}) << "and fails its calls";
  EXPECT_EQ(node_.objects().Find(ObjectIdFor(actor, 1))->error, rpc::INFEASIBLE);
}

}  // namespace
}  // namespace flare
