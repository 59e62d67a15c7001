// Specification of the TaskManager's tasks across nodes: where the policy
// places a task (node affinity, SPREAD, the default hybrid strategy), how it
// is sent to another raylet with its arguments, how its returns come back,
// how queued and pipelined tasks move to nodes that report room, what never
// leaves this node, and what cancels, lost nodes and unreachable nodes do
// (placement when nodes are busy: task_manager_remote_placement_test.cc;
// actors: task_manager_remote_actors_test.cc).
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

  EXPECT_EQ(node_.ErrorOf(task), rpc::OBJECT_UNRECONSTRUCTABLE) << "a hard pin to b: no rerun";
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

TEST_F(TaskManagerRemoteTest, ATaskWithoutRetriesOnALostNodeFailsNodeDiedNamingTheNode) {
  Report(b_, 4, 4);
  const ObjectId arg = PutSmall("arg");
  const TaskId task = Submit(Reading(Retried(Pinned("f", b_), 0), {arg}));

  NodeDies(b_);

  EXPECT_EQ(node_.ErrorOf(task), rpc::NODE_DIED);
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
  EXPECT_EQ(node_.ErrorOf(on_b), rpc::NODE_DIED);
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

TEST_F(TaskManagerRemoteTest, AnUnreachableNodeFailsATaskWithoutRetriesNodeDiedNamingIt) {
  Report(b_, 4, 4);
  node_.peers().unreachable.insert(b_);
  const TaskId task = Submit(Retried(Pinned("f", b_), 0));
  EXPECT_EQ(node_.ErrorOf(task), rpc::NODE_DIED);
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
