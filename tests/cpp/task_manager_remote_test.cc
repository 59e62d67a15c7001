// Specification of the TaskManager's tasks across nodes: where the policy
// places a task (node affinity, SPREAD, the default hybrid strategy), how it
// is sent to another raylet with its arguments, how its returns come back,
// how queued and pipelined tasks move to nodes that report room, what never
// leaves this node, and what cancels, lost nodes and unreachable nodes do.
// Played over the node's units with fake I/O (node_units_harness.h): other
// nodes are entries of the cluster view and a RecordingPeers; no sockets,
// processes or clocks.
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

// ---- sending a task and storing its returns ----------------------------------------

TEST_F(TaskManagerRemoteTest, ATaskPinnedToAnotherNodeGoesThereAtOnceWithItsArgumentsFirst) {
  Report(b_, 4, 4);
  const ObjectId small = PutSmall("small");
  const ObjectId big = PutInStore(8192);
  const ClientId worker = node_.StartWorker();

  const TaskId task = Submit(Reading(Pinned("f", b_), {small, big}));

  EXPECT_EQ(KindsSentTo(b_),
            (std::vector<rpc::Message::BodyCase>{kPutInline, kLocation, kSubmit, kRelease}));
  const auto& sent = node_.peers().sent[b_];
  EXPECT_EQ(sent[0].put_inline().data().inline_data(), "small");
  EXPECT_EQ(sent[1].object_location().object_id(), big.Binary());
  EXPECT_EQ(sent[2].submit_task().spec().task_id(), task.Binary());
  EXPECT_EQ(ReleasedOn(b_), (std::vector<ObjectId>{small, big}));
  EXPECT_TRUE(node_.Executed(worker).empty()) << "an idle worker here does not take it";
  EXPECT_EQ(node_.Result(task), nullptr);
  EXPECT_EQ(tasks_.size(), 1u) << "it is ours until its returns are here";
  EXPECT_TRUE(node_.peers().sent[c_].empty());
}

TEST_F(TaskManagerRemoteTest, ATaskWhoseArgumentFailedFailsHereWithThatErrorAndIsNotSent) {
  Report(b_, 4, 4);
  const ClientId worker = node_.StartWorker();
  const TaskId producer = RunOn(worker, Spec("producer"));
  node_.Done(worker, NodeUnitsHarness::Raised(producer, "ValueError: bad", /*retryable=*/false));

  const TaskId task = Submit(Reading(Pinned("consumer", b_), {ObjectIdFor(producer, 1)}));

  EXPECT_EQ(node_.ErrorOf(task), rpc::TASK_ERROR);
  EXPECT_EQ(node_.MessageOf(task), "ValueError: bad");
  EXPECT_TRUE(SentTo(b_).empty());
  EXPECT_EQ(tasks_.size(), 0u);
}

TEST_F(TaskManagerRemoteTest, TheLastReturnFinishesTheTaskAndReleasesItsArgumentsHere) {
  Report(b_, 4, 4);
  const ObjectId arg = PutSmall("arg");
  rpc::TaskSpec spec = Reading(Pinned("pair", b_), {arg});
  spec.set_num_returns(2);
  const TaskId task = Submit(spec);
  EXPECT_TRUE(HeldByTasks(arg)) << "held here while the task is ours";

  ReturnsValue(b_, task, "first", 1);
  ASSERT_NE(node_.Result(task, 1), nullptr);
  EXPECT_EQ(node_.Result(task, 1)->inline_data, "first");
  EXPECT_EQ(tasks_.size(), 1u) << "one return is still to come";
  EXPECT_TRUE(HeldByTasks(arg));

  ReturnsError(b_, task, "KeyError: k", 2);
  ASSERT_NE(node_.Result(task, 2), nullptr);
  EXPECT_EQ(node_.Result(task, 2)->error, rpc::TASK_ERROR);
  EXPECT_EQ(node_.Result(task, 2)->error_message, "KeyError: k");
  EXPECT_EQ(tasks_.size(), 0u) << "its last return finished it";
  EXPECT_FALSE(HeldByTasks(arg)) << "its argument is released here";
  const std::vector<ObjectId> released = ReleasedOn(b_);
  EXPECT_EQ(std::count(released.begin(), released.end(), ObjectIdFor(task, 1)), 1);
  EXPECT_EQ(std::count(released.begin(), released.end(), ObjectIdFor(task, 2)), 1)
      << "each return is released there once stored here";
}

TEST_F(TaskManagerRemoteTest, AnArenaReturnStaysOnThatNodeUntilItIsFreedHere) {
  Report(b_, 4, 4);
  const TaskId task = Submit(Pinned("big", b_));
  const ObjectId id = ObjectIdFor(task, 1);

  ReturnsInStore(b_, task, 1 << 16);

  EXPECT_TRUE(node_.peers().pulls.empty()) << "nothing here reads it yet";
  ASSERT_NE(node_.Result(task), nullptr) << "ready, though its bytes are there";
  EXPECT_TRUE(node_.objects().NeedsFetch(id));
  EXPECT_EQ(node_.Result(task)->elsewhere, b_);
  EXPECT_EQ(node_.objects().Stats().used, 0u);
  EXPECT_EQ(tasks_.size(), 0u) << "the task is done";
  auto released = ReleasedOn(b_);
  EXPECT_EQ(std::count(released.begin(), released.end(), id), 0) << "held there for us";

  node_.objects().RemoveRef(driver_.id, id);  // the caller's last ref goes

  released = ReleasedOn(b_);
  EXPECT_EQ(std::count(released.begin(), released.end(), id), 1) << "let go of there";
}

TEST_F(TaskManagerRemoteTest, ATaskHereReadingAReturnLeftOnAnotherNodePullsItFirst) {
  Report(b_, 1, 1);
  const ClientId worker = node_.StartWorker();
  const TaskId producer = Submit(Pinned("producer", b_));
  ReturnsInStore(b_, producer, 1 << 16);
  const ObjectId made = ObjectIdFor(producer, 1);
  const TaskId busy = Submit(Pinned("busy", b_));  // no room there now: the reader runs here

  const TaskId reader = Submit(Reading(Spec("reader"), {made}));

  EXPECT_TRUE(node_.Executed(worker).empty()) << "not before its argument is here";
  ASSERT_EQ(node_.peers().pulls.size(), 1u);
  EXPECT_EQ(node_.peers().pulls[0].id, made);
  EXPECT_EQ(node_.peers().pulls[0].from, b_);
  EXPECT_EQ(SentTo(b_), (std::vector<TaskId>{producer, busy}));

  node_.Fetched(made);

  EXPECT_EQ(node_.ExecutedIds(worker), std::vector<TaskId>{reader});
}

TEST_F(TaskManagerRemoteTest, ATaskReadingAReturnLeftOnAnotherNodeGoesThereWhenItHasRoom) {
  Report(b_, 4, 0);  // a report that predates the producer's end counts for nothing
  Report(c_, 8, 8);
  const ClientId worker = node_.StartWorker();
  const TaskId producer = Submit(Pinned("producer", b_));
  ReturnsInStore(b_, producer, 1 << 16);
  const ObjectId made = ObjectIdFor(producer, 1);

  const TaskId reader = Submit(Reading(Spec("reader"), {made}));

  EXPECT_EQ(SentTo(b_), (std::vector<TaskId>{producer, reader}))
      << "where its argument is, though this node is idle";
  EXPECT_TRUE(node_.Executed(worker).empty());
  EXPECT_TRUE(node_.peers().pulls.empty()) << "nothing moves";
  const auto locations = node_.peers().Of(b_, kLocation);
  ASSERT_EQ(locations.size(), 1u);
  EXPECT_EQ(locations[0].object_location().object_id(), made.Binary());
  EXPECT_EQ(NodeId::FromBinary(locations[0].object_location().node_id()), b_);
}

TEST_F(TaskManagerRemoteTest, ATaskWaitingHereForAnArgumentGoesWhereThatArgumentIsMade) {
  Report(b_, 4, 4);
  const ClientId worker = node_.StartWorker();
  const TaskId producer = Submit(Pinned("producer", b_));
  const TaskId reader = Submit(Reading(Spec("reader"), {ObjectIdFor(producer, 1)}));
  EXPECT_TRUE(node_.Executed(worker).empty()) << "waits here for its argument";

  ReturnsInStore(b_, producer, 1 << 16);

  EXPECT_EQ(SentTo(b_), (std::vector<TaskId>{producer, reader}));
  EXPECT_TRUE(node_.peers().pulls.empty());
  EXPECT_TRUE(node_.Executed(worker).empty());
}

TEST_F(TaskManagerRemoteTest, AReturnLeftOnANodeThatDiesIsLostNamingTheNode) {
  Report(b_, 4, 4);
  const TaskId task = Submit(Pinned("big", b_));
  ReturnsInStore(b_, task, 1 << 16);

  NodeDies(b_);

  EXPECT_EQ(node_.ErrorOf(task), rpc::OBJECT_LOST);
  EXPECT_TRUE(Contains(node_.MessageOf(task), b_.Hex())) << node_.MessageOf(task);
  EXPECT_FALSE(node_.objects().NeedsFetch(ObjectIdFor(task, 1)));
}

TEST_F(TaskManagerRemoteTest, ALateOrDuplicateReturnIsIgnored) {
  Report(b_, 4, 4);
  rpc::TaskSpec spec = Pinned("pair", b_);
  spec.set_num_returns(2);
  const TaskId task = Submit(spec);

  ReturnsValue(b_, task, "first", 1);
  ReturnsValue(b_, task, "duplicate", 1);
  EXPECT_EQ(tasks_.size(), 1u) << "a duplicate does not count as the last return";
  EXPECT_EQ(node_.Result(task, 1)->inline_data, "first");

  ReturnsValue(b_, task, "second", 2);
  EXPECT_EQ(tasks_.size(), 0u);
  ReturnsValue(b_, task, "late", 2);
  EXPECT_EQ(node_.Result(task, 2)->inline_data, "second");
}

TEST_F(TaskManagerRemoteTest, AReturnFromANodeTheTaskWasNotSentToIsIgnored) {
  Report(b_, 4, 4);
  Report(c_, 4, 4);
  const TaskId task = Submit(Pinned("f", b_));
  ReturnsValue(c_, task, "impostor");
  EXPECT_EQ(node_.Result(task), nullptr);
  EXPECT_EQ(tasks_.size(), 1u);
}

// ---- node affinity -------------------------------------------------------------------

TEST_F(TaskManagerRemoteTest, ATaskPinnedToAnotherNodeWaitsHereForItsArgumentsThenGoes) {
  Report(b_, 4, 4);
  const ClientId worker = node_.StartWorker();
  const TaskId producer = RunOn(worker, Spec("producer"));

  const TaskId task = Submit(Reading(Pinned("consumer", b_), {ObjectIdFor(producer, 1)}));
  EXPECT_TRUE(node_.peers().sent[b_].empty()) << "its argument is not ready";
  EXPECT_EQ(tasks_.num_awaiting_remote(), 1u);
  EXPECT_EQ(node_.scheduler().num_queued(), 0u) << "it waits to go, not in the queue here";

  node_.Done(worker, NodeUnitsHarness::Returned(producer, "made"));

  EXPECT_EQ(SentTo(b_), std::vector<TaskId>{task});
  EXPECT_EQ(tasks_.num_awaiting_remote(), 0u);
  const auto values = node_.peers().Of(b_, kPutInline);
  ASSERT_EQ(values.size(), 1u);
  EXPECT_EQ(values[0].put_inline().data().inline_data(), "made");
  EXPECT_TRUE(node_.Executed(worker).empty()) << "the idle worker here does not take it";
}

TEST_F(TaskManagerRemoteTest, ATaskWaitingToGoElsewhereWhoseArgumentFailsFailsWithThatError) {
  Report(b_, 4, 4);
  const ClientId worker = node_.StartWorker();
  const TaskId producer = RunOn(worker, Spec("producer"));
  const TaskId task = Submit(Reading(Pinned("consumer", b_), {ObjectIdFor(producer, 1)}));

  node_.Done(worker, NodeUnitsHarness::Raised(producer, "OSError: disk", /*retryable=*/false));

  EXPECT_EQ(node_.ErrorOf(task), rpc::TASK_ERROR);
  EXPECT_EQ(node_.MessageOf(task), "OSError: disk");
  EXPECT_TRUE(node_.peers().sent[b_].empty());
  EXPECT_EQ(tasks_.num_awaiting_remote(), 0u);
}

TEST_F(TaskManagerRemoteTest, HardAffinityToAnUnknownNodeFailsInfeasibleNamingTheNode) {
  Report(b_, 4, 4);
  node_.StartWorker();
  const NodeId unknown = NodeId::FromRandom();

  const TaskId task = Submit(Pinned("f", unknown));

  EXPECT_EQ(node_.ErrorOf(task), rpc::INFEASIBLE);
  EXPECT_TRUE(Contains(node_.MessageOf(task), "on node " + unknown.Hex()))
      << node_.MessageOf(task);
  EXPECT_TRUE(node_.peers().sent.empty());
  EXPECT_EQ(tasks_.size(), 0u);
}

TEST_F(TaskManagerRemoteTest, HardAffinityToAnotherNodeFailsInfeasibleWhenThisIsTheOnlyNode) {
  const ClientId worker = node_.StartWorker();
  const NodeId unknown = NodeId::FromRandom();

  const TaskId task = Submit(Pinned("f", unknown));

  EXPECT_EQ(node_.ErrorOf(task), rpc::INFEASIBLE);
  EXPECT_TRUE(Contains(node_.MessageOf(task), "on node " + unknown.Hex()))
      << node_.MessageOf(task);
  EXPECT_TRUE(node_.Executed(worker).empty()) << "it must not run here";
}

TEST_F(TaskManagerRemoteTest, HardAffinityToANodeTooSmallForTheTaskFailsInfeasible) {
  Report(b_, 2, 2);
  rpc::TaskSpec spec = Pinned("wide", b_);
  ResourceSet::FromMap({{"CPU", 4}}).ToProto(spec.mutable_resources());
  const TaskId task = Submit(spec);
  EXPECT_EQ(node_.ErrorOf(task), rpc::INFEASIBLE);
  EXPECT_TRUE(Contains(node_.MessageOf(task), b_.Hex())) << node_.MessageOf(task);
}

TEST_F(TaskManagerRemoteTest, HardAffinityToABusyNodeStillGoesThere) {
  Report(b_, 4, 0);
  node_.StartWorker();
  const TaskId task = Submit(Pinned("f", b_));
  EXPECT_EQ(SentTo(b_), std::vector<TaskId>{task}) << "it queues there, not here";
}

TEST_F(TaskManagerRemoteTest, SoftAffinityToAnUnknownNodeFallsBackToThisNode) {
  const ClientId worker = node_.StartWorker();
  Report(b_, 4, 0);
  const TaskId task = RunOn(worker, Pinned("f", NodeId::FromRandom(), /*soft=*/true));
  EXPECT_EQ(node_.Result(task), nullptr);
  EXPECT_TRUE(node_.peers().sent.empty());
}

TEST_F(TaskManagerRemoteTest, AffinityToThisNodeRunsHereThoughAnotherNodeHasMoreRoom) {
  Report(b_, 16, 16);
  const ClientId worker = node_.StartWorker();
  RunOn(worker, Pinned("here", node_.view().local_id()));
  EXPECT_TRUE(node_.peers().sent.empty());
}

// ---- SPREAD and the default strategy ------------------------------------------------

TEST_F(TaskManagerRemoteTest, SpreadTasksAlternateBetweenTheNodesWithRoom) {
  const ClientId worker = node_.StartWorker();
  RunOn(worker, Spec("busy"));  // this node has no room left
  Report(b_, 4, 4);
  Report(c_, 4, 4);

  std::vector<NodeId> placed;
  for (int i = 0; i < 4; ++i) {
    const TaskId task = Submit(Spread("s" + std::to_string(i)));
    const auto on_b = SentTo(b_);
    const auto on_c = SentTo(c_);
    if (std::find(on_b.begin(), on_b.end(), task) != on_b.end()) placed.push_back(b_);
    if (std::find(on_c.begin(), on_c.end(), task) != on_c.end()) placed.push_back(c_);
  }

  ASSERT_EQ(placed.size(), 4u) << "each went to exactly one other node";
  for (size_t i = 1; i < placed.size(); ++i) {
    EXPECT_NE(placed[i], placed[i - 1]) << "task " << i << " went where the one before went";
  }
  EXPECT_EQ(SentTo(b_).size(), 2u);
  EXPECT_EQ(SentTo(c_).size(), 2u);
}

TEST_F(TaskManagerRemoteTest, SpreadSkipsANodeWithoutRoom) {
  const ClientId worker = node_.StartWorker();
  RunOn(worker, Spec("busy"));
  Report(b_, 4, 0);
  Report(c_, 4, 4);
  for (int i = 0; i < 3; ++i) Submit(Spread("s" + std::to_string(i)));
  EXPECT_TRUE(SentTo(b_).empty());
  EXPECT_EQ(SentTo(c_).size(), 3u);
}

TEST_F(TaskManagerRemoteTwoCpuTest, TheDefaultKeepsTasksHereWhileTheyFitAndSendsTheOverflow) {
  Report(b_, 2, 2);
  const ClientId w1 = node_.StartWorker();
  const ClientId w2 = node_.StartWorker();

  const TaskId first = Submit(Spec("first"));
  const TaskId second = Submit(Spec("second"));
  std::vector<TaskId> here = node_.ExecutedIds(w1);
  for (const TaskId& task : node_.ExecutedIds(w2)) here.push_back(task);
  std::sort(here.begin(), here.end());
  std::vector<TaskId> expected{first, second};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(here, expected) << "both fit here and run here";
  EXPECT_TRUE(node_.peers().sent.empty());

  const TaskId third = Submit(Spec("third"));
  const TaskId fourth = Submit(Spec("fourth"));
  EXPECT_EQ(SentTo(b_), (std::vector<TaskId>{third, fourth})) << "the overflow goes to b";
  EXPECT_TRUE(node_.ExecutedIds(w1).empty());
  EXPECT_TRUE(node_.ExecutedIds(w2).empty());
}

TEST_F(TaskManagerRemoteTest, TheOverflowGoesToTheNodeWithTheMostRoom) {
  const ClientId worker = node_.StartWorker();
  RunOn(worker, Spec("busy"));
  Report(b_, 8, 2);
  Report(c_, 8, 6);
  const TaskId task = Submit(Spec("f"));
  EXPECT_EQ(SentTo(c_), std::vector<TaskId>{task});
  EXPECT_TRUE(SentTo(b_).empty());
}

TEST_F(TaskManagerRemoteTest, ANodeIsSentNoMoreThanItsRoomBeforeItsNextReport) {
  const ClientId worker = node_.StartWorker();
  RunOn(worker, Spec("busy"));
  Report(b_, 4, 2);

  std::vector<TaskId> submitted;
  for (int i = 0; i < 5; ++i) submitted.push_back(Submit(Spec("t" + std::to_string(i))));

  EXPECT_EQ(SentTo(b_), (std::vector<TaskId>{submitted[0], submitted[1]}))
      << "b had room for two";
  EXPECT_EQ(node_.view().remote_nodes().at(b_).available.Get("CPU"), 0)
      << "what was sent counts as taken there";
  // The rest queue here, behind the running task (pipelined to its worker).
  EXPECT_EQ(node_.ExecutedIds(worker),
            (std::vector<TaskId>{submitted[2], submitted[3], submitted[4]}));
  EXPECT_EQ(tasks_.size(), 6u);
}

TEST_F(TaskManagerRemoteTest, WhenNoNodeHasRoomTasksQueueHere) {
  const ClientId worker = node_.StartWorker();
  RunOn(worker, Spec("busy"));
  Report(b_, 4, 0);
  Report(c_, 4, 0);

  const TaskId queued = Submit(Spec("queued", {{"CPU", 0.5}}));  // not pipelined: another shape
  tasks_.Dispatch();

  EXPECT_TRUE(node_.peers().sent.empty());
  EXPECT_EQ(node_.scheduler().num_queued(), 1u);
  EXPECT_EQ(node_.Result(queued), nullptr);
}

TEST_F(TaskManagerRemoteTest, ATaskOnlyAnotherNodeCouldHoldGoesThereEvenWithoutRoomNow) {
  Report(b_, 8, 0);
  const TaskId task = Submit(Spec("wide", {{"CPU", 4}}));
  EXPECT_EQ(SentTo(b_), std::vector<TaskId>{task}) << "it queues there, where it can run";
}

TEST_F(TaskManagerRemoteTest, ATaskNoNodeCouldHoldFailsInfeasibleNamingTheLargestNode) {
  Report(b_, 8, 8);
  const TaskId task = Submit(Spec("huge", {{"CPU", 64}}));
  node_.timers().Advance(TaskManager::kInfeasibleGrace);
  EXPECT_EQ(node_.ErrorOf(task), rpc::INFEASIBLE);
  EXPECT_TRUE(Contains(node_.MessageOf(task), "the largest has {CPU: 8}"))
      << node_.MessageOf(task);
  EXPECT_TRUE(node_.peers().sent.empty());
}

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

TEST_F(TaskManagerRemoteSpreadGroupTest, ATaskInABundleOfANodeThatDiedFailsSayingSo) {
  Report(b_, 1, 1);
  CreateSpreadGroup();
  tasks_.Dispatch();
  BAgrees();
  const TaskId running = Submit(Retried(InGroup("running", Bundle(1)), 3));
  ASSERT_EQ(SentTo(b_), std::vector<TaskId>{running});

  NodeDies(b_);

  EXPECT_EQ(node_.ErrorOf(running), rpc::INFEASIBLE);
  EXPECT_TRUE(Contains(node_.MessageOf(running), "on a node still in the cluster"))
      << node_.MessageOf(running);
  const TaskId after = Submit(InGroup("after", Bundle(1)));
  EXPECT_EQ(node_.ErrorOf(after), rpc::INFEASIBLE) << "it fails at once, nothing hangs";
  EXPECT_EQ(tasks_.size(), 0u);
}

// ---- cancelling a task on another node ----------------------------------------------

TEST_F(TaskManagerRemoteTest, AnotherNodeCancelsOnlyTheTasksItSubmittedHere) {
  const ClientInfo b = node_.Peer(b_);
  const ClientInfo c = node_.Peer(c_);
  const ClientId worker = node_.StartWorker();
  const TaskId from_b = node_.Submit(b, Spec("from_b", {{"CPU", 0.5}}));
  ASSERT_EQ(node_.ExecutedIds(worker), std::vector<TaskId>{from_b});
  rpc::TaskSpec child = Spec("child", {{"CPU", 0.5}});  // submitted by the task from b
  child.set_parent_task_id(from_b.Binary());
  const TaskId from_its_worker = node_.Submit(node_.clients().infos.at(worker), child);
  const TaskId mine = Submit(Spec("mine", {{"CPU", 0.5}}));

  node_.Cancel(mine, /*force=*/false, /*recursive=*/true, b);
  node_.Cancel(from_b, /*force=*/false, /*recursive=*/true, c);
  EXPECT_EQ(node_.Result(mine), nullptr) << "b did not submit it: ignored";
  EXPECT_EQ(node_.Result(from_b), nullptr) << "c did not submit it: ignored";
  EXPECT_EQ(tasks_.size(), 3u);

  node_.Cancel(from_b, /*force=*/false, /*recursive=*/true, b);
  EXPECT_EQ(node_.ErrorOf(from_b), rpc::TASK_CANCELLED);
  EXPECT_EQ(node_.ErrorOf(from_its_worker), rpc::TASK_CANCELLED) << "and what it submitted";
  EXPECT_EQ(node_.Result(mine), nullptr);
}

TEST_F(TaskManagerRemoteTest, CancellingATaskOnAnotherNodeAsksThatNodeAndFailsItsReturnsAtOnce) {
  Report(b_, 4, 4);
  const ObjectId arg = PutSmall("arg");
  const TaskId task = Submit(Reading(Pinned("f", b_), {arg}));

  node_.Cancel(task);

  const auto cancels = node_.peers().Of(b_, kCancel);
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0].cancel_task().task_id(), task.Binary());
  EXPECT_FALSE(cancels[0].cancel_task().force());
  EXPECT_EQ(node_.ErrorOf(task), rpc::TASK_CANCELLED) << "get raises at once";
  EXPECT_EQ(tasks_.size(), 0u);
  EXPECT_FALSE(HeldByTasks(arg));
  const auto released = ReleasedOn(b_);
  EXPECT_NE(std::find(released.begin(), released.end(), ObjectIdFor(task, 1)), released.end())
      << "b drops the return it would have made";

  ReturnsValue(b_, task, "finished anyway");
  EXPECT_EQ(node_.ErrorOf(task), rpc::TASK_CANCELLED) << "a late return is ignored";
}

TEST_F(TaskManagerRemoteTest, ForceCancelIsCarriedToTheOtherNode) {
  Report(b_, 4, 4);
  const TaskId task = Submit(Pinned("f", b_));
  node_.Cancel(task, /*force=*/true);
  const auto cancels = node_.peers().Of(b_, kCancel);
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_TRUE(cancels[0].cancel_task().force());
  EXPECT_EQ(node_.ErrorOf(task), rpc::TASK_CANCELLED);
}

TEST_F(TaskManagerRemoteTest, ACancelledTaskWaitingForItsArgumentsIsNeverSent) {
  Report(b_, 4, 4);
  const ClientId worker = node_.StartWorker();
  const TaskId producer = RunOn(worker, Spec("producer"));
  const TaskId task = Submit(Reading(Pinned("consumer", b_), {ObjectIdFor(producer, 1)}));

  node_.Cancel(task);
  EXPECT_EQ(node_.ErrorOf(task), rpc::TASK_CANCELLED);
  EXPECT_EQ(tasks_.num_awaiting_remote(), 0u);
  node_.Done(worker, NodeUnitsHarness::Returned(producer));

  EXPECT_TRUE(node_.peers().sent[b_].empty());
}

// ---- a node that goes -------------------------------------------------------------

TEST_F(TaskManagerRemoteTest, ATaskWithRetriesOnALostNodeRunsAgainHereWithItsAttemptIncreased) {
  Report(b_, 4, 4);
  const ClientId worker = node_.StartWorker();
  const TaskId busy = RunOn(worker, Spec("busy"));
  const TaskId task = Submit(Retried(Spec("f", {{"CPU", 0.5}}), 1));
  ASSERT_EQ(SentTo(b_), std::vector<TaskId>{task});
  EXPECT_EQ(SpecsSentTo(b_)[0].attempt(), 0u);

  NodeDies(b_);

  EXPECT_EQ(node_.Result(task), nullptr) << "a retry is left: nothing fails";
  const auto log = DriverLog();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_TRUE(Contains(log[0], b_.Hex())) << log[0];
  EXPECT_TRUE(Contains(log[0], "retrying (attempt 2)")) << log[0];

  node_.Done(worker, NodeUnitsHarness::Returned(busy));
  const auto executed = node_.Executed(worker);
  ASSERT_EQ(executed.size(), 1u) << "it runs here now";
  EXPECT_EQ(executed[0].spec().task_id(), task.Binary());
  EXPECT_EQ(executed[0].spec().attempt(), 1u);
}

TEST_F(TaskManagerRemoteTest, ATaskWithRetriesOnALostNodeGoesToAnotherNodeWithRoom) {
  const ClientId worker = node_.StartWorker();
  RunOn(worker, Spec("busy"));
  Report(b_, 4, 4);
  Report(c_, 4, 1);
  const TaskId task = Submit(Retried(Spec("f"), 2));
  ASSERT_EQ(SentTo(b_), std::vector<TaskId>{task}) << "b has the most room";

  NodeDies(b_);

  ASSERT_EQ(SentTo(c_), std::vector<TaskId>{task});
  EXPECT_EQ(SpecsSentTo(c_)[0].attempt(), 1u);
  ReturnsValue(c_, task, "from c");
  EXPECT_EQ(node_.Result(task)->inline_data, "from c");
  EXPECT_EQ(tasks_.size(), 1u) << "only busy is left";
}

TEST_F(TaskManagerRemoteTest, ATaskWithoutRetriesOnALostNodeFailsWorkerCrashedNamingTheNode) {
  Report(b_, 4, 4);
  const ObjectId arg = PutSmall("arg");
  const TaskId task = Submit(Reading(Retried(Pinned("f", b_), 0), {arg}));

  NodeDies(b_);

  EXPECT_EQ(node_.ErrorOf(task), rpc::WORKER_CRASHED);
  EXPECT_TRUE(Contains(node_.MessageOf(task), "node " + b_.Hex())) << node_.MessageOf(task);
  EXPECT_TRUE(Contains(node_.MessageOf(task), "died or left the cluster"))
      << node_.MessageOf(task);
  EXPECT_EQ(tasks_.size(), 0u);
  EXPECT_FALSE(HeldByTasks(arg));
}

TEST_F(TaskManagerRemoteTest, TasksOnOtherNodesAreUntouchedWhenANodeGoes) {
  Report(b_, 4, 4);
  Report(c_, 4, 4);
  const TaskId on_b = Submit(Retried(Pinned("on_b", b_), 0));
  const TaskId on_c = Submit(Retried(Pinned("on_c", c_), 0));
  NodeDies(b_);
  EXPECT_EQ(node_.ErrorOf(on_b), rpc::WORKER_CRASHED);
  EXPECT_EQ(node_.Result(on_c), nullptr);
  ReturnsValue(c_, on_c, "fine");
  EXPECT_EQ(node_.Result(on_c)->inline_data, "fine");
}

TEST_F(TaskManagerRemoteTest, TasksWaitingForArgumentsToGoToALostNodeChooseAgain) {
  const ClientId worker = node_.StartWorker();
  const TaskId producer = RunOn(worker, Spec("producer"));  // this node is full
  Report(b_, 4, 4);
  Report(c_, 4, 2);
  const TaskId task = Submit(Reading(Spec("consumer"), {ObjectIdFor(producer, 1)}));
  ASSERT_EQ(tasks_.num_awaiting_remote(), 1u) << "placed on b, waiting for its argument";

  NodeDies(b_);
  EXPECT_EQ(tasks_.num_awaiting_remote(), 1u) << "placed again, on c";
  EXPECT_TRUE(DriverLog().empty()) << "it never ran: no retry is spent";

  node_.Done(worker, NodeUnitsHarness::Returned(producer, "made"));
  EXPECT_EQ(SentTo(c_), std::vector<TaskId>{task});
  EXPECT_EQ(SpecsSentTo(c_)[0].attempt(), 0u);
}

TEST_F(TaskManagerRemoteTest, APinnedTaskWaitingForArgumentsFailsInfeasibleWhenItsNodeGoes) {
  Report(b_, 4, 4);
  const ClientId worker = node_.StartWorker();
  const TaskId producer = RunOn(worker, Spec("producer"));
  const TaskId task = Submit(Reading(Pinned("consumer", b_), {ObjectIdFor(producer, 1)}));

  NodeDies(b_);

  EXPECT_EQ(node_.ErrorOf(task), rpc::INFEASIBLE);
  EXPECT_TRUE(Contains(node_.MessageOf(task), b_.Hex())) << node_.MessageOf(task);
  EXPECT_EQ(tasks_.num_awaiting_remote(), 0u);
}

TEST_F(TaskManagerRemoteTest, ATaskPlacedHereAgainAfterItsNodeWentIsCancelledLikeALocalTask) {
  const ClientId worker = node_.StartWorker();
  const TaskId producer = RunOn(worker, Spec("producer"));
  Report(b_, 4, 4);
  const TaskId task = Submit(Reading(Spec("consumer"), {ObjectIdFor(producer, 1)}));
  ASSERT_EQ(tasks_.num_awaiting_remote(), 1u);
  NodeDies(b_);  // no other node: it queues here
  node_.Done(worker, NodeUnitsHarness::Returned(producer));
  ASSERT_EQ(node_.ExecutedIds(worker), std::vector<TaskId>{task}) << "it runs here";

  node_.Cancel(task);

  EXPECT_EQ(node_.ErrorOf(task), rpc::TASK_CANCELLED);
  EXPECT_EQ(node_.clients().Take(worker, kCancel).size(), 1u)
      << "its worker here is asked to stop it";
  node_.Done(worker, NodeUnitsHarness::Raised(task, "TaskCancelledError", /*retryable=*/false));
  const TaskId next = RunOn(worker, Spec("next"));
  EXPECT_EQ(node_.Result(next), nullptr) << "the worker is free for the next task";
}

// ---- a node that cannot be reached ----------------------------------------------------

TEST_F(TaskManagerRemoteTest, AnUnreachableNodeFailsATaskWithoutRetriesWorkerCrashedNamingIt) {
  Report(b_, 4, 4);
  node_.peers().unreachable.insert(b_);
  const TaskId task = Submit(Retried(Pinned("f", b_), 0));
  EXPECT_EQ(node_.ErrorOf(task), rpc::WORKER_CRASHED);
  EXPECT_TRUE(Contains(node_.MessageOf(task), "node " + b_.Hex())) << node_.MessageOf(task);
  EXPECT_EQ(tasks_.size(), 0u);
}

TEST_F(TaskManagerRemoteTest, AnUnreachableNodeSpendsOneRetryAndTheTaskRunsElsewhere) {
  const ClientId worker = node_.StartWorker();
  RunOn(worker, Spec("busy"));
  Report(b_, 4, 4);
  Report(c_, 4, 2);
  node_.peers().unreachable.insert(b_);

  const TaskId task = Submit(Retried(Spec("f"), 3));

  ASSERT_EQ(SentTo(c_), std::vector<TaskId>{task}) << "b could not be reached: c takes it";
  EXPECT_EQ(SpecsSentTo(c_)[0].attempt(), 1u) << "one attempt was spent on b";
  EXPECT_EQ(node_.Result(task), nullptr);
}

TEST_F(TaskManagerRemoteTest, AnUnreachableNodeDoesNotLoopATaskWithUnlimitedRetries) {
  const ClientId worker = node_.StartWorker();
  const TaskId busy = RunOn(worker, Spec("busy"));
  Report(b_, 4, 4);
  node_.peers().unreachable.insert(b_);

  const TaskId task = Submit(Retried(Spec("f"), -1));

  EXPECT_EQ(node_.Result(task), nullptr);
  node_.Done(worker, NodeUnitsHarness::Returned(busy));
  const auto executed = node_.ExecutedIds(worker);
  EXPECT_NE(std::find(executed.begin(), executed.end(), task), executed.end())
      << "it runs here";
}

TEST_F(TaskManagerRemoteTest, ATaskWhoseArgumentIsNotOnThisNodeFailsObjectLostInsteadOfLooping) {
  const ClientId worker = node_.StartWorker();
  RunOn(worker, Spec("busy"));
  Report(b_, 4, 4);
  const ObjectId unknown = ObjectIdFor(TaskId::FromRandom(), 1);

  const TaskId task = Submit(Reading(Retried(Spec("f"), -1), {unknown}));

  EXPECT_EQ(node_.ErrorOf(task), rpc::OBJECT_LOST);
  EXPECT_TRUE(Contains(node_.MessageOf(task), unknown.Hex())) << node_.MessageOf(task);
  EXPECT_TRUE(node_.peers().sent.empty());
  EXPECT_EQ(tasks_.size(), 1u) << "only busy is left";
}

}  // namespace
}  // namespace flare
