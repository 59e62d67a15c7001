// Specification of RemoteTasks: the tasks this raylet owns that run on other
// nodes. Sending one is its argument values (or where to pull them from),
// then the task, then a release of the arguments; returns coming back are
// stored here (small ones) and released there, or left there (arena ones)
// until freed here, pulled only when fetched; cancels
// follow the task; a node that goes hands its tasks back. Played over a
// bare ObjectTable, a ReturnStore that records, and RecordingPeers: no
// sockets, no clocks.
#include "raylet/remote_tasks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "raylet_fakes.h"

namespace flare {
namespace {

using testing::RecordingPeers;
using testing::RecordingReturns;

constexpr auto kPutInline = rpc::Message::kPutInline;
constexpr auto kLocation = rpc::Message::kObjectLocation;
constexpr auto kSubmit = rpc::Message::kSubmitTask;
constexpr auto kRelease = rpc::Message::kRefUpdate;
constexpr auto kCancel = rpc::Message::kCancelTask;

constexpr ClientId kDriver = 7;

class RemoteTasksTest : public ::testing::Test {
 protected:
  // A task of `num_returns` returns reading `args`, whose returns are
  // pending here for the driver (as TaskManager::Submit leaves them).
  rpc::TaskSpec Spec(const std::vector<ObjectId>& args = {}, uint32_t num_returns = 1) {
    rpc::TaskSpec spec = testing::TaskSpecFor(job_, "f");
    spec.set_num_returns(num_returns);
    for (const ObjectId& arg : args) spec.add_dependencies(arg.Binary());
    const TaskId task = TaskId::FromBinary(spec.task_id());
    for (uint32_t i = 1; i <= num_returns; ++i) objects_.AddPending(kDriver, ObjectIdFor(task, i));
    return spec;
  }
  static TaskId IdOf(const rpc::TaskSpec& spec) { return TaskId::FromBinary(spec.task_id()); }
  // Sends `spec` to `node`, which must succeed, and forgets what was sent.
  TaskId SendOk(const NodeId& node, const rpc::TaskSpec& spec) {
    EXPECT_TRUE(remote_.Send(node, IdOf(spec), spec, kOneCpu).ok());
    peers_.sent.clear();
    return IdOf(spec);
  }

  // Objects of the driver's: a small value, an error, an arena object.
  ObjectId PutSmall(const std::string& value) {
    const ObjectId id = NewPut();
    objects_.PutInline(kDriver, id, value, {});
    return id;
  }
  ObjectId PutError(rpc::ErrorCode code, const std::string& message) {
    const ObjectId id = NewPut();
    objects_.AddPending(kDriver, id);
    objects_.SetError(id, code, message, "pickled");
    return id;
  }
  ObjectId PutInStore(uint64_t size) {
    const ObjectId id = NewPut();
    EXPECT_TRUE(objects_.Create(kDriver, id, size).ok());
    EXPECT_TRUE(objects_.Seal(id, {}).ok());
    return id;
  }
  ObjectId NewPut() { return ObjectIdFor(TaskId::FromRandom(), kPutIndexBit | 1); }

  // What `node` sent back for return `index` of `task`.
  static rpc::ObjectData Inline(const TaskId& task, uint32_t index, const std::string& value) {
    rpc::ObjectData data;
    data.set_object_id(ObjectIdFor(task, index).Binary());
    data.set_inline_data(value);
    return data;
  }
  static rpc::ObjectData InStore(const TaskId& task, uint32_t index, uint64_t size) {
    rpc::ObjectData data;
    data.set_object_id(ObjectIdFor(task, index).Binary());
    data.set_in_store(true);
    data.set_offset(4096);
    data.set_size(size);
    return data;
  }
  static rpc::ObjectData Error(const TaskId& task, uint32_t index, rpc::ErrorCode code,
                               const std::string& message) {
    rpc::ObjectData data;
    data.set_object_id(ObjectIdFor(task, index).Binary());
    data.set_error(code);
    data.set_error_message(message);
    return data;
  }

  // The object ids a ref_update message releases.
  static std::vector<ObjectId> Released(const rpc::Message& message) {
    std::vector<ObjectId> ids;
    for (const auto& binary : message.ref_update().remove()) {
      ids.push_back(ObjectId::FromBinary(binary));
    }
    EXPECT_EQ(message.ref_update().add_size(), 0) << "a release adds nothing";
    return ids;
  }
  std::vector<ObjectId> AllReleased(const NodeId& node) {
    std::vector<ObjectId> ids;
    for (const auto& message : peers_.Of(node, kRelease)) {
      for (const ObjectId& id : Released(message)) ids.push_back(id);
    }
    return ids;
  }

  const ResourceSet kOneCpu = ResourceSet::FromMap({{"CPU", 1}});
  const NodeId self_ = NodeId::FromRandom();
  const NodeId node_b_ = NodeId::FromRandom();
  const NodeId node_c_ = NodeId::FromRandom();
  const JobId job_ = JobId::FromRandom();
  ObjectTable objects_{1 << 20};
  RecordingReturns returns_{objects_};
  RecordingPeers peers_;
  RemoteTasks remote_{self_, objects_, returns_, peers_, peers_};
};

// ---- sending ---------------------------------------------------------------------

TEST_F(RemoteTasksTest, ArgumentsGoFirstThenTheTaskThenAReleaseOfTheArguments) {
  const ObjectId small = PutSmall("small value");
  const ObjectId failed = PutError(rpc::TASK_ERROR, "ValueError: bad");
  const ObjectId big = PutInStore(4096);
  const rpc::TaskSpec spec = Spec({small, failed, big});

  ASSERT_TRUE(remote_.Send(node_b_, IdOf(spec), spec, kOneCpu).ok());

  const std::vector<rpc::Message>& sent = peers_.sent[node_b_];
  ASSERT_EQ(sent.size(), 5u) << "three arguments, the task, one release";
  std::vector<rpc::Message::BodyCase> order;
  for (const auto& message : sent) order.push_back(message.body_case());
  EXPECT_EQ(order, (std::vector<rpc::Message::BodyCase>{kPutInline, kPutInline, kLocation,
                                                        kSubmit, kRelease}));

  const rpc::ObjectData& value = sent[0].put_inline().data();
  EXPECT_EQ(value.object_id(), small.Binary());
  EXPECT_EQ(value.inline_data(), "small value");
  EXPECT_EQ(value.error(), rpc::ERROR_NONE);

  const rpc::ObjectData& error = sent[1].put_inline().data();
  EXPECT_EQ(error.object_id(), failed.Binary());
  EXPECT_EQ(error.error(), rpc::TASK_ERROR);
  EXPECT_EQ(error.error_message(), "ValueError: bad");
  EXPECT_EQ(error.inline_data(), "pickled") << "an error travels with its payload";

  const rpc::ObjectLocation& location = sent[2].object_location();
  EXPECT_EQ(location.object_id(), big.Binary());
  EXPECT_EQ(location.size(), 4096u);
  EXPECT_EQ(location.node_id(), self_.Binary()) << "the other node pulls it from here";

  EXPECT_EQ(sent[3].submit_task().spec().task_id(), spec.task_id());
  EXPECT_EQ(Released(sent[4]), (std::vector<ObjectId>{small, failed, big}))
      << "the task holds its arguments there once submitted";

  EXPECT_TRUE(remote_.Runs(IdOf(spec)));
  EXPECT_EQ(remote_.size(), 1u);
  EXPECT_TRUE(peers_.sent[node_c_].empty()) << "nothing goes to any other node";
}

TEST_F(RemoteTasksTest, TheArgumentsObjectTravelsAfterTheReferenceArguments) {
  const ObjectId ref = PutSmall("ref");
  const ObjectId args = PutInStore(2048);
  rpc::TaskSpec spec = Spec({ref});
  spec.set_args_object_id(args.Binary());

  ASSERT_TRUE(remote_.Send(node_b_, IdOf(spec), spec, kOneCpu).ok());

  const std::vector<rpc::Message>& sent = peers_.sent[node_b_];
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_EQ(sent[0].put_inline().data().object_id(), ref.Binary());
  EXPECT_EQ(sent[1].object_location().object_id(), args.Binary());
  EXPECT_EQ(sent[2].body_case(), kSubmit);
  EXPECT_EQ(Released(sent[3]), (std::vector<ObjectId>{ref, args}));
}

TEST_F(RemoteTasksTest, ASpilledArgumentIsSentAsALocationHereNeverAsAnEmptyValue) {
  const ObjectId spilled = PutInStore(4096);
  objects_.BeginSpill(spilled);  // its bytes are in a file on this node
  ASSERT_TRUE(objects_.EndSpill(spilled, /*written=*/true));
  const rpc::TaskSpec spec = Spec({spilled});

  ASSERT_TRUE(remote_.Send(node_b_, IdOf(spec), spec, kOneCpu).ok());

  EXPECT_TRUE(peers_.Of(node_b_, kPutInline).empty()) << "its value is not in memory to send";
  const auto locations = peers_.Of(node_b_, kLocation);
  ASSERT_EQ(locations.size(), 1u);
  EXPECT_EQ(locations[0].object_location().object_id(), spilled.Binary());
  EXPECT_EQ(locations[0].object_location().size(), 4096u);
  EXPECT_EQ(locations[0].object_location().node_id(), self_.Binary());
}

TEST_F(RemoteTasksTest, ATaskWithoutArgumentsIsSentAloneWithNothingToRelease) {
  const rpc::TaskSpec spec = Spec();
  ASSERT_TRUE(remote_.Send(node_b_, IdOf(spec), spec, kOneCpu).ok());
  ASSERT_EQ(peers_.sent[node_b_].size(), 1u);
  EXPECT_EQ(peers_.sent[node_b_][0].body_case(), kSubmit);
}

TEST_F(RemoteTasksTest, AnArgumentNotReadyHereRefusesTheTaskAndSendsNothing) {
  const ObjectId pending = ObjectIdFor(TaskId::FromRandom(), 1);
  objects_.AddPending(kDriver, pending);
  const rpc::TaskSpec spec = Spec({PutSmall("ready"), pending});

  const absl::Status sent = remote_.Send(node_b_, IdOf(spec), spec, kOneCpu);

  EXPECT_EQ(sent.code(), absl::StatusCode::kFailedPrecondition) << sent;
  EXPECT_NE(sent.message().find(pending.Hex()), std::string::npos)
      << "the message names the argument: " << sent;
  EXPECT_TRUE(peers_.sent[node_b_].empty());
  EXPECT_FALSE(remote_.Runs(IdOf(spec)));
}

TEST_F(RemoteTasksTest, AnUnknownArgumentRefusesTheTaskAndSendsNothing) {
  const ObjectId unknown = ObjectIdFor(TaskId::FromRandom(), 1);
  const rpc::TaskSpec spec = Spec({unknown});
  const absl::Status sent = remote_.Send(node_b_, IdOf(spec), spec, kOneCpu);
  EXPECT_EQ(sent.code(), absl::StatusCode::kFailedPrecondition) << sent;
  EXPECT_TRUE(peers_.sent[node_b_].empty());
  EXPECT_FALSE(remote_.Runs(IdOf(spec)));
}

TEST_F(RemoteTasksTest, AnUnreachableNodeRefusesTheTaskWithUnavailableAndNothingIsPending) {
  peers_.unreachable.insert(node_b_);
  const rpc::TaskSpec spec = Spec({PutSmall("x")});

  const absl::Status sent = remote_.Send(node_b_, IdOf(spec), spec, kOneCpu);

  EXPECT_EQ(sent.code(), absl::StatusCode::kUnavailable) << sent;
  EXPECT_NE(sent.message().find(node_b_.Hex()), std::string::npos)
      << "the message names the node: " << sent;
  EXPECT_FALSE(remote_.Runs(IdOf(spec)));
  EXPECT_EQ(remote_.size(), 0u);
  EXPECT_TRUE(remote_.DemandOn(node_b_).Empty());
}

TEST_F(RemoteTasksTest, DemandOnANodeIsWhatItsUnfinishedTasksAsk) {
  SendOk(node_b_, Spec());
  const rpc::TaskSpec second = Spec();
  ASSERT_TRUE(
      remote_.Send(node_b_, IdOf(second), second, ResourceSet::FromMap({{"CPU", 2}})).ok());
  SendOk(node_c_, Spec());

  EXPECT_EQ(remote_.DemandOn(node_b_).Get("CPU"), 3);
  EXPECT_EQ(remote_.DemandOn(node_c_).Get("CPU"), 1);
  EXPECT_TRUE(remote_.DemandOn(self_).Empty());

  remote_.Forget(IdOf(second));
  EXPECT_EQ(remote_.DemandOn(node_b_).Get("CPU"), 1) << "a finished task asks nothing";
}

// ---- returns coming back ------------------------------------------------------------

TEST_F(RemoteTasksTest, AnInlineReturnIsStoredHereAndReleasedThere) {
  const TaskId task = SendOk(node_b_, Spec());

  const std::optional<TaskId> done = remote_.OnObject(node_b_, Inline(task, 1, "42"));

  ASSERT_EQ(returns_.stored.size(), 1u);
  EXPECT_EQ(returns_.stored[0].inline_data(), "42");
  const ObjectEntry* entry = objects_.Find(ObjectIdFor(task, 1));
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->state, ObjectState::kReady);
  EXPECT_EQ(entry->inline_data, "42");
  EXPECT_EQ(AllReleased(node_b_), std::vector<ObjectId>{ObjectIdFor(task, 1)})
      << "once stored here, the other node's copy goes";
  EXPECT_EQ(done, task) << "its only return: the task is done";
  EXPECT_FALSE(remote_.Runs(task));
}

TEST_F(RemoteTasksTest, AnErrorReturnIsStoredAsThatError) {
  const TaskId task = SendOk(node_b_, Spec());

  remote_.OnObject(node_b_, Error(task, 1, rpc::TASK_ERROR, "ZeroDivisionError"));

  const ObjectEntry* entry = objects_.Find(ObjectIdFor(task, 1));
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->state, ObjectState::kReady);
  EXPECT_EQ(entry->error, rpc::TASK_ERROR);
  EXPECT_EQ(entry->error_message, "ZeroDivisionError");
  EXPECT_TRUE(peers_.pulls.empty()) << "an error is never pulled, even if marked in_store";
  EXPECT_EQ(AllReleased(node_b_), std::vector<ObjectId>{ObjectIdFor(task, 1)});
  EXPECT_FALSE(remote_.Runs(task));
}

TEST_F(RemoteTasksTest, AnArenaReturnStaysOnItsNodeUnpinnedUntilItIsFreedHere) {
  objects_.SetFreeListener([this](const ObjectId& id) { remote_.OnFreed(id); });
  const TaskId task = SendOk(node_b_, Spec());
  const ObjectId id = ObjectIdFor(task, 1);

  const std::optional<TaskId> done = remote_.OnObject(node_b_, InStore(task, 1, 1 << 16));

  EXPECT_EQ(done, task) << "its last return has arrived";
  EXPECT_TRUE(peers_.pulls.empty()) << "nothing here reads it yet";
  ASSERT_EQ(returns_.stored.size(), 1u);
  EXPECT_TRUE(returns_.stored[0].elsewhere());
  EXPECT_FALSE(returns_.stored[0].in_store());
  EXPECT_EQ(NodeId::FromBinary(returns_.stored[0].node_id()), node_b_);
  EXPECT_TRUE(objects_.NeedsFetch(id));
  EXPECT_EQ(peers_.Of(node_b_, rpc::Message::kReleasePins).size(), 1u)
      << "unpinned there at once: that node may spill it";
  EXPECT_TRUE(AllReleased(node_b_).empty()) << "but held there for us";

  objects_.RemoveRef(kDriver, id);

  EXPECT_EQ(AllReleased(node_b_), std::vector<ObjectId>{id}) << "freed here: let go of there";
}

TEST_F(RemoteTasksTest, AFetchPullsFromTheHolderOnceAndReportsTheEnd) {
  std::vector<std::pair<ObjectId, absl::Status>> ends;
  remote_.SetFetchListener(
      [&](const ObjectId& id, const absl::Status& status) { ends.emplace_back(id, status); });
  const TaskId task = SendOk(node_b_, Spec());
  const ObjectId id = ObjectIdFor(task, 1);
  remote_.OnObject(node_b_, InStore(task, 1, 1 << 16));

  remote_.Fetch(id);
  remote_.Fetch(id);

  ASSERT_EQ(peers_.pulls.size(), 1u) << "one pull for both readers";
  EXPECT_EQ(peers_.pulls[0].id, id);
  EXPECT_EQ(peers_.pulls[0].from, node_b_);
  EXPECT_EQ(peers_.pulls[0].size, uint64_t{1} << 16);
  peers_.pulls[0].done(absl::UnavailableError("connection reset"));
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].first, id);
  EXPECT_NE(ends[0].second.message().find(node_b_.Hex()), std::string::npos)
      << ends[0].second;
  EXPECT_NE(ends[0].second.message().find("connection reset"), std::string::npos);

  remote_.Fetch(id);
  EXPECT_EQ(peers_.pulls.size(), 2u) << "a failed fetch can be tried again";
}

TEST_F(RemoteTasksTest, ReturnsOnlyALostNodeHeldAreHandedBackOnce) {
  const TaskId task = SendOk(node_b_, Spec({}, /*num_returns=*/2));
  remote_.OnObject(node_b_, InStore(task, 1, 1 << 16));
  remote_.OnObject(node_b_, Inline(task, 2, "small"));

  const std::vector<ObjectId> lost = remote_.OnlyOn(node_b_);

  EXPECT_EQ(lost, std::vector<ObjectId>{ObjectIdFor(task, 1)}) << "the small one's copy is here";
  EXPECT_TRUE(objects_.NeedsFetch(ObjectIdFor(task, 1))) << "the caller decides what it becomes";
  EXPECT_TRUE(remote_.OnlyOn(node_b_).empty());
}

TEST_F(RemoteTasksTest, OnlyTheLastReturnFinishesTheTask) {
  const TaskId task = SendOk(node_b_, Spec({}, /*num_returns=*/3));

  EXPECT_EQ(remote_.OnObject(node_b_, Inline(task, 2, "b")), std::nullopt);
  EXPECT_EQ(remote_.OnObject(node_b_, InStore(task, 1, 100)), std::nullopt);
  EXPECT_TRUE(remote_.Runs(task));
  EXPECT_EQ(remote_.OnObject(node_b_, Error(task, 3, rpc::TASK_ERROR, "e")), task);
  EXPECT_FALSE(remote_.Runs(task));
  EXPECT_EQ(remote_.size(), 0u);
}

TEST_F(RemoteTasksTest, ADuplicateReturnIsIgnoredAndDoesNotCountTowardsTheLast) {
  const TaskId task = SendOk(node_b_, Spec({}, /*num_returns=*/2));
  remote_.OnObject(node_b_, Inline(task, 1, "first"));
  peers_.sent.clear();

  EXPECT_EQ(remote_.OnObject(node_b_, Inline(task, 1, "again")), std::nullopt);

  ASSERT_EQ(returns_.stored.size(), 1u) << "stored once";
  EXPECT_EQ(objects_.Find(ObjectIdFor(task, 1))->inline_data, "first");
  EXPECT_TRUE(peers_.sent[node_b_].empty()) << "nothing is released twice";
  EXPECT_TRUE(remote_.Runs(task)) << "return 2 is still to come";
  EXPECT_EQ(remote_.OnObject(node_b_, Inline(task, 2, "second")), task);
}

TEST_F(RemoteTasksTest, AReturnOfAFinishedTaskIsIgnored) {
  const TaskId task = SendOk(node_b_, Spec());
  ASSERT_EQ(remote_.OnObject(node_b_, Inline(task, 1, "first")), task);
  peers_.sent.clear();

  EXPECT_EQ(remote_.OnObject(node_b_, Inline(task, 1, "late")), std::nullopt);

  EXPECT_EQ(returns_.stored.size(), 1u);
  EXPECT_TRUE(peers_.pulls.empty());
  EXPECT_TRUE(peers_.sent[node_b_].empty());
}

TEST_F(RemoteTasksTest, AReturnFromANodeTheTaskWasNotSentToIsIgnored) {
  const TaskId task = SendOk(node_b_, Spec());

  EXPECT_EQ(remote_.OnObject(node_c_, Inline(task, 1, "impostor")), std::nullopt);
  EXPECT_EQ(remote_.OnObject(node_c_, InStore(task, 1, 100)), std::nullopt);

  EXPECT_TRUE(returns_.stored.empty());
  EXPECT_TRUE(peers_.pulls.empty());
  EXPECT_TRUE(remote_.Runs(task));
}

TEST_F(RemoteTasksTest, AnObjectOfNoTaskSentAnywhereIsIgnored) {
  const TaskId never_sent = IdOf(Spec());
  EXPECT_EQ(remote_.OnObject(node_b_, Inline(never_sent, 1, "x")), std::nullopt);
  EXPECT_TRUE(returns_.stored.empty());
  EXPECT_TRUE(peers_.sent[node_b_].empty());
}

// ---- forgetting, cancelling, losing nodes --------------------------------------------------

TEST_F(RemoteTasksTest, ForgettingATaskReleasesThereOnlyTheReturnsNotYetHere) {
  const TaskId task = SendOk(node_b_, Spec({}, /*num_returns=*/3));
  remote_.OnObject(node_b_, Inline(task, 2, "b"));
  peers_.sent.clear();

  remote_.Forget(task);

  EXPECT_EQ(AllReleased(node_b_),
            (std::vector<ObjectId>{ObjectIdFor(task, 1), ObjectIdFor(task, 3)}));
  EXPECT_FALSE(remote_.Runs(task));
  peers_.sent.clear();
  EXPECT_EQ(remote_.OnObject(node_b_, Inline(task, 1, "late")), std::nullopt)
      << "later returns are ignored";
  EXPECT_EQ(returns_.stored.size(), 1u);
}

TEST_F(RemoteTasksTest, AnArenaReturnThatIsNotTakenIsUnpinnedAndReleasedThere) {
  // The node pinned its copy for us when it sent it; a return that comes
  // after the task was forgotten (cancelled here while it finished there),
  // twice, or from a node the task no longer runs on must not stay pinned.
  const TaskId forgotten = SendOk(node_b_, Spec());
  remote_.Forget(forgotten);
  const TaskId twice = SendOk(node_b_, Spec({}, /*num_returns=*/2));
  remote_.OnObject(node_b_, InStore(twice, 1, 100));
  const TaskId elsewhere = SendOk(node_b_, Spec());
  peers_.sent.clear();

  EXPECT_EQ(remote_.OnObject(node_b_, InStore(forgotten, 1, 100)), std::nullopt);
  EXPECT_EQ(remote_.OnObject(node_b_, InStore(twice, 1, 100)), std::nullopt);
  EXPECT_EQ(remote_.OnObject(node_c_, InStore(elsewhere, 1, 100)), std::nullopt);

  const auto unpinned = [&](const NodeId& node) {
    std::vector<ObjectId> ids;
    for (const auto& message : peers_.Of(node, rpc::Message::kReleasePins)) {
      for (const auto& binary : message.release_pins().object_ids()) {
        ids.push_back(ObjectId::FromBinary(binary));
      }
    }
    return ids;
  };
  EXPECT_EQ(unpinned(node_b_),
            (std::vector<ObjectId>{ObjectIdFor(forgotten, 1), ObjectIdFor(twice, 1)}));
  EXPECT_EQ(AllReleased(node_b_),
            (std::vector<ObjectId>{ObjectIdFor(forgotten, 1), ObjectIdFor(twice, 1)}));
  EXPECT_EQ(unpinned(node_c_), (std::vector<ObjectId>{ObjectIdFor(elsewhere, 1)}));
  EXPECT_TRUE(remote_.Runs(elsewhere));
}

TEST_F(RemoteTasksTest, ForgettingATaskNotSentAnywhereSendsNothing) {
  remote_.Forget(TaskId::FromRandom());
  EXPECT_TRUE(peers_.sent.empty());
}

TEST_F(RemoteTasksTest, CancelAsksTheTasksNodeToStopItCarryingForce) {
  const TaskId gentle = SendOk(node_b_, Spec());
  const TaskId forced = SendOk(node_c_, Spec());

  remote_.Cancel(gentle, /*force=*/false);
  remote_.Cancel(forced, /*force=*/true);

  const auto to_b = peers_.Of(node_b_, kCancel);
  ASSERT_EQ(to_b.size(), 1u);
  EXPECT_EQ(to_b[0].cancel_task().task_id(), gentle.Binary());
  EXPECT_FALSE(to_b[0].cancel_task().force());
  const auto to_c = peers_.Of(node_c_, kCancel);
  ASSERT_EQ(to_c.size(), 1u);
  EXPECT_EQ(to_c[0].cancel_task().task_id(), forced.Binary());
  EXPECT_TRUE(to_c[0].cancel_task().force());
  EXPECT_TRUE(remote_.Runs(gentle)) << "the task is the caller's to forget";
}

TEST_F(RemoteTasksTest, CancellingATaskNotSentAnywhereSendsNothing) {
  SendOk(node_b_, Spec());
  remote_.Cancel(TaskId::FromRandom(), /*force=*/true);
  EXPECT_TRUE(peers_.sent.empty());
}

TEST_F(RemoteTasksTest, ALostNodeHandsBackItsTasksAndIsSentNothing) {
  const TaskId first = SendOk(node_b_, Spec());
  const TaskId second = SendOk(node_b_, Spec({}, /*num_returns=*/2));
  const TaskId elsewhere = SendOk(node_c_, Spec());
  remote_.OnObject(node_b_, Inline(second, 1, "half"));
  peers_.sent.clear();

  std::vector<TaskId> gone = remote_.OnNodeGone(node_b_);

  std::sort(gone.begin(), gone.end());
  std::vector<TaskId> expected{first, second};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(gone, expected);
  EXPECT_TRUE(peers_.sent.empty()) << "nothing is released on a node that is gone";
  EXPECT_FALSE(remote_.Runs(first));
  EXPECT_FALSE(remote_.Runs(second));
  EXPECT_TRUE(remote_.Runs(elsewhere));
  EXPECT_TRUE(remote_.DemandOn(node_b_).Empty());
  EXPECT_EQ(remote_.OnObject(node_b_, Inline(first, 1, "late")), std::nullopt)
      << "what a lost node still sends is ignored";
}

TEST_F(RemoteTasksTest, ATaskSentAgainToAnotherNodeTakesReturnsOnlyFromThere) {
  const rpc::TaskSpec spec = Spec();
  const TaskId task = SendOk(node_b_, spec);
  remote_.OnNodeGone(node_b_);
  SendOk(node_c_, spec);

  EXPECT_EQ(remote_.OnObject(node_b_, Inline(task, 1, "stale")), std::nullopt);
  EXPECT_EQ(remote_.OnObject(node_c_, Inline(task, 1, "fresh")), task);
  EXPECT_EQ(objects_.Find(ObjectIdFor(task, 1))->inline_data, "fresh");
}

}  // namespace
}  // namespace flare
