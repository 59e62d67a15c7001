// Specification of the raylet's object table: reference counting, pins,
// nested references, subscriptions and departed clients. No I/O involved.
#include "object_store/object_table.h"

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace flare {
namespace {

constexpr ClientId kDriver = 1;
constexpr ClientId kWorker = 7;
constexpr ClientId kReader = 9;
constexpr uint64_t kCapacity = 1 << 20;

ObjectId NewPutId() { return ObjectIdFor(TaskId::FromRandom(), kPutIndexBit | 1); }
ObjectId NewReturnId() { return ObjectIdFor(TaskId::FromRandom(), 1); }

std::vector<ClientId> Sorted(std::vector<ClientId> clients) {
  std::sort(clients.begin(), clients.end());
  return clients;
}

class ObjectTableTest : public ::testing::Test {
 protected:
  // A put of `size` bytes in the arena, sealed, held by `creator`.
  ObjectId PutInStore(ClientId creator, uint64_t size,
                      std::vector<ObjectId> contained = {}) {
    const ObjectId id = NewPutId();
    EXPECT_TRUE(table_.Create(creator, id, size).ok());
    EXPECT_TRUE(table_.Seal(id, std::move(contained)).ok());
    return id;
  }

  ObjectTable table_{kCapacity};
};

TEST_F(ObjectTableTest, CreatedPutIsHeldByItsCreatorAndFreedByItsLastRemoveRef) {
  const ObjectId id = NewPutId();
  auto offset = table_.Create(kDriver, id, 1000);
  ASSERT_TRUE(offset.ok()) << offset.status();
  EXPECT_FALSE(table_.IsReady(id)) << "not ready before Seal";
  ASSERT_TRUE(table_.Seal(id, {}).ok());
  EXPECT_TRUE(table_.IsReady(id));
  const ObjectEntry* entry = table_.Find(id);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->refs, 1);
  EXPECT_EQ(entry->holders.at(kDriver), 1);
  EXPECT_GE(table_.Stats().used, 1000u);

  table_.RemoveRef(kDriver, id);
  EXPECT_FALSE(table_.Contains(id));
  EXPECT_EQ(table_.Stats().used, 0u);
  EXPECT_EQ(table_.Stats().num_objects, 0u);
}

TEST_F(ObjectTableTest, InlinePutIsHeldByItsCreatorAndFreedByItsLastRemoveRef) {
  const ObjectId id = NewPutId();
  EXPECT_TRUE(table_.PutInline(kDriver, id, "value", {}).empty());
  EXPECT_TRUE(table_.IsReady(id));
  EXPECT_EQ(table_.Stats().num_inline, 1u);
  EXPECT_EQ(table_.Stats().used, 0u) << "inline objects stay out of the arena";

  table_.RemoveRef(kDriver, id);
  EXPECT_FALSE(table_.Contains(id));
  EXPECT_EQ(table_.Stats().num_inline, 0u);
  EXPECT_EQ(table_.Stats().num_objects, 0u);
}

TEST_F(ObjectTableTest, ExtraRefsKeepAnObjectUntilEachIsRemoved) {
  const ObjectId id = PutInStore(kDriver, 100);
  table_.AddRef(kDriver, id);
  table_.AddRef(kReader, id);
  table_.RemoveRef(kDriver, id);
  table_.RemoveRef(kDriver, id);
  EXPECT_TRUE(table_.Contains(id)) << "the reader still holds it";
  table_.RemoveRef(kReader, id);
  EXPECT_FALSE(table_.Contains(id));
}

TEST_F(ObjectTableTest, RemoveRefByAClientThatHoldsNoneIsIgnored) {
  const ObjectId id = PutInStore(kDriver, 100);
  table_.RemoveRef(kReader, id);
  EXPECT_TRUE(table_.Contains(id));
  EXPECT_EQ(table_.Find(id)->refs, 1);
}

TEST_F(ObjectTableTest, AddRefDoesNotResurrectAFreedObject) {
  const ObjectId id = PutInStore(kDriver, 100);
  table_.RemoveRef(kDriver, id);
  table_.AddRef(kDriver, id);
  EXPECT_FALSE(table_.Contains(id));
}

TEST_F(ObjectTableTest, PendingTaskReturnSurvivesZeroRefs) {
  const ObjectId id = NewReturnId();
  table_.AddPending(kDriver, id);
  table_.RemoveRef(kDriver, id);
  EXPECT_TRUE(table_.Contains(id)) << "its task has not finished yet";
  EXPECT_FALSE(table_.IsReady(id));
}

TEST_F(ObjectTableTest, UnreferencedTaskReturnIsFreedWhenItsInlineValueArrives) {
  const ObjectId id = NewReturnId();
  table_.AddPending(kDriver, id);
  table_.RemoveRef(kDriver, id);
  table_.PutInline(kTaskArgHolder, id, "result", {});
  EXPECT_FALSE(table_.Contains(id));
  EXPECT_EQ(table_.Stats().num_inline, 0u);
}

TEST_F(ObjectTableTest, UnreferencedTaskReturnIsFreedWhenSealed) {
  const ObjectId id = NewReturnId();
  table_.AddPending(kDriver, id);
  table_.RemoveRef(kDriver, id);
  ASSERT_TRUE(table_.Create(kWorker, id, 5000).ok());
  ASSERT_TRUE(table_.Seal(id, {}).ok());
  EXPECT_FALSE(table_.Contains(id));
  EXPECT_EQ(table_.Stats().used, 0u);
}

TEST_F(ObjectTableTest, TaskReturnIsHeldByTheCallerNotByTheWorkerThatWroteIt) {
  const ObjectId id = NewReturnId();
  table_.AddPending(kDriver, id);
  ASSERT_TRUE(table_.Create(kWorker, id, 100).ok());
  ASSERT_TRUE(table_.Seal(id, {}).ok());
  const ObjectEntry* entry = table_.Find(id);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->refs, 1);
  EXPECT_FALSE(entry->holders.contains(kWorker));
  table_.RemoveRef(kDriver, id);
  EXPECT_FALSE(table_.Contains(id));
  EXPECT_EQ(table_.Stats().used, 0u);
}

TEST_F(ObjectTableTest, PinKeepsAnObjectAliveAfterItsRefsDrop) {
  const ObjectId id = PutInStore(kDriver, 4096);
  rpc::ObjectData data;
  table_.DescribeAndPin(kReader, id, &data);
  EXPECT_TRUE(data.in_store());
  EXPECT_EQ(data.size(), 4096u);
  EXPECT_EQ(data.offset() % Allocator::kAlignment, 0u);
  EXPECT_EQ(data.error(), rpc::ERROR_NONE);

  table_.RemoveRef(kDriver, id);
  EXPECT_TRUE(table_.Contains(id)) << "a reader still maps its bytes";
  EXPECT_GT(table_.Stats().used, 0u);
  table_.Unpin(kReader, id);
  EXPECT_FALSE(table_.Contains(id));
  EXPECT_EQ(table_.Stats().used, 0u);
}

TEST_F(ObjectTableTest, InlineObjectIsDescribedByValueAndNotPinned) {
  const ObjectId id = NewPutId();
  table_.PutInline(kDriver, id, "small", {});
  rpc::ObjectData data;
  table_.DescribeAndPin(kReader, id, &data);
  EXPECT_FALSE(data.in_store());
  EXPECT_EQ(data.inline_data(), "small");
  EXPECT_EQ(data.object_id(), id.Binary());
  table_.RemoveRef(kDriver, id);
  EXPECT_FALSE(table_.Contains(id));
}

TEST_F(ObjectTableTest, ContainedRefKeepsTheInnerObjectAliveUntilTheOuterIsFreed) {
  const ObjectId inner = PutInStore(kDriver, 100);
  const ObjectId outer = NewPutId();
  table_.PutInline(kDriver, outer, "[ref]", {inner});
  table_.RemoveRef(kDriver, inner);
  EXPECT_TRUE(table_.Contains(inner)) << "the outer object still refers to it";
  table_.RemoveRef(kDriver, outer);
  EXPECT_FALSE(table_.Contains(outer));
  EXPECT_FALSE(table_.Contains(inner));
  EXPECT_EQ(table_.Stats().used, 0u);
}

TEST_F(ObjectTableTest, FreeingAnOuterObjectFreesNestedObjectsRecursively) {
  const ObjectId innermost = PutInStore(kDriver, 100);
  const ObjectId middle = PutInStore(kDriver, 200, {innermost});
  const ObjectId outer = PutInStore(kDriver, 300, {middle});
  table_.RemoveRef(kDriver, innermost);
  table_.RemoveRef(kDriver, middle);
  EXPECT_EQ(table_.Stats().num_objects, 3u);
  table_.RemoveRef(kDriver, outer);
  EXPECT_EQ(table_.Stats().num_objects, 0u);
  EXPECT_EQ(table_.Stats().used, 0u);
}

TEST_F(ObjectTableTest, InnerObjectStillHeldByAClientOutlivesItsContainer) {
  const ObjectId inner = PutInStore(kDriver, 100);
  const ObjectId outer = PutInStore(kDriver, 100, {inner});
  table_.RemoveRef(kDriver, outer);
  EXPECT_FALSE(table_.Contains(outer));
  ASSERT_TRUE(table_.Contains(inner));
  EXPECT_EQ(table_.Find(inner)->refs, 1);
}

TEST_F(ObjectTableTest, SubscribeToAPendingObjectWaitsAndInlinePutReturnsTheSubscribers) {
  const ObjectId id = NewReturnId();
  table_.AddPending(kDriver, id);
  EXPECT_FALSE(table_.Subscribe(kDriver, id));
  EXPECT_FALSE(table_.Subscribe(kReader, id));
  EXPECT_EQ(Sorted(table_.PutInline(kTaskArgHolder, id, "v", {})),
            (std::vector<ClientId>{kDriver, kReader}));
  EXPECT_TRUE(table_.Subscribe(kReader, id)) << "ready objects need no waiting";
}

TEST_F(ObjectTableTest, SealReturnsTheSubscribers) {
  const ObjectId id = NewReturnId();
  table_.AddPending(kDriver, id);
  EXPECT_FALSE(table_.Subscribe(kReader, id));
  ASSERT_TRUE(table_.Create(kWorker, id, 10).ok());
  EXPECT_FALSE(table_.Subscribe(kDriver, id)) << "a created object is not ready yet";
  auto waiting = table_.Seal(id, {});
  ASSERT_TRUE(waiting.ok());
  EXPECT_EQ(Sorted(*waiting), (std::vector<ClientId>{kDriver, kReader}));
}

TEST_F(ObjectTableTest, SetErrorReturnsTheSubscribers) {
  const ObjectId id = NewReturnId();
  table_.AddPending(kDriver, id);
  EXPECT_FALSE(table_.Subscribe(kDriver, id));
  EXPECT_EQ(table_.SetError(id, rpc::WORKER_CRASHED, "died"), std::vector<ClientId>{kDriver});
}

TEST_F(ObjectTableTest, SubscribeToAnUnknownIdIsReadyAndDescribedAsLost) {
  const ObjectId id = NewPutId();
  EXPECT_TRUE(table_.Subscribe(kReader, id));
  rpc::ObjectData data;
  table_.DescribeAndPin(kReader, id, &data);
  EXPECT_EQ(data.error(), rpc::OBJECT_LOST);
  EXPECT_FALSE(data.error_message().empty());
  EXPECT_EQ(data.object_id(), id.Binary());
}

TEST_F(ObjectTableTest, SetErrorCarriesCodeMessageAndPayload) {
  const ObjectId id = NewReturnId();
  table_.AddPending(kDriver, id);
  table_.SetError(id, rpc::TASK_ERROR, "ValueError: boom", "pickled-exception");
  EXPECT_TRUE(table_.IsReady(id));
  EXPECT_TRUE(table_.IsError(id));
  rpc::ObjectData data;
  table_.DescribeAndPin(kDriver, id, &data);
  EXPECT_EQ(data.error(), rpc::TASK_ERROR);
  EXPECT_EQ(data.error_message(), "ValueError: boom");
  EXPECT_EQ(data.inline_data(), "pickled-exception");
  EXPECT_FALSE(data.in_store());
  EXPECT_EQ(table_.Stats().num_inline, 0u) << "errors are not counted as inline values";
  table_.RemoveRef(kDriver, id);
  EXPECT_FALSE(table_.Contains(id));
}

// A large error is stored once; each of the task's error returns refers to
// it, as a value refers to the objects it contains.
TEST_F(ObjectTableTest, AnErrorKeepsTheObjectsItRefersToUntilItIsFreed) {
  const ObjectId stored = PutInStore(kWorker, 5000);
  const ObjectId first = NewReturnId();
  const ObjectId second = ObjectIdFor(TaskOfObject(first), 2);
  table_.AddPending(kDriver, first);
  table_.AddPending(kDriver, second);
  table_.SetError(first, rpc::TASK_ERROR, "KeyError", "ref", {stored});
  table_.SetError(second, rpc::TASK_ERROR, "", "ref", {stored});
  table_.RemoveRef(kWorker, stored);
  ASSERT_TRUE(table_.Contains(stored)) << "freed while the errors refer to it";
  EXPECT_EQ(table_.Find(stored)->refs, 2);

  table_.RemoveRef(kDriver, first);
  EXPECT_TRUE(table_.Contains(stored));
  table_.RemoveRef(kDriver, second);
  EXPECT_FALSE(table_.Contains(stored)) << "it outlived the errors that referred to it";
  EXPECT_EQ(table_.Stats().used, 0u);
}

TEST_F(ObjectTableTest, ALateErrorForAReadyObjectTakesNoReference) {
  const ObjectId stored = PutInStore(kWorker, 100);
  const ObjectId id = NewReturnId();
  table_.AddPending(kDriver, id);
  table_.PutInline(kTaskArgHolder, id, "value", {});
  table_.SetError(id, rpc::TASK_ERROR, "late", "ref", {stored});
  EXPECT_EQ(table_.Find(stored)->refs, 1) << "only its creator holds it";
  table_.RemoveRef(kWorker, stored);
  EXPECT_FALSE(table_.Contains(stored));
}

// A task cancelled while its worker writes a return: readers see the error
// at once, but the block stays the writer's until it is done with it.
TEST_F(ObjectTableTest, SetErrorOnAnObjectBeingWrittenKeepsTheBlockUntilTheWriterIsDone) {
  const ObjectId id = NewReturnId();
  table_.AddPending(kDriver, id);
  ASSERT_TRUE(table_.Create(kWorker, id, 10000).ok());
  table_.SetError(id, rpc::TASK_CANCELLED, "cancelled");
  rpc::ObjectData data;
  table_.DescribeAndPin(kDriver, id, &data);
  EXPECT_EQ(data.error(), rpc::TASK_CANCELLED);
  EXPECT_FALSE(data.in_store());
  EXPECT_GT(table_.Stats().used, 0u) << "freed while the writer may still copy into it";
  EXPECT_FALSE(table_.Seal(id, {}).ok()) << "a failed object cannot be sealed";
  EXPECT_EQ(table_.Stats().used, 0u);
  table_.RemoveRef(kDriver, id);
  EXPECT_FALSE(table_.Contains(id));
}

TEST_F(ObjectTableTest, AbandonedBlockReturnsWhenItsWriterAbortsOrGoesAway) {
  for (bool drop : {false, true}) {
    const ObjectId id = NewReturnId();
    table_.AddPending(kDriver, id);
    ASSERT_TRUE(table_.Create(kWorker, id, 10000).ok());
    table_.SetError(id, rpc::TASK_CANCELLED, "cancelled");
    table_.RemoveRef(kDriver, id);
    EXPECT_TRUE(table_.Contains(id));
    if (drop) {
      table_.DropClient(kWorker);
    } else {
      table_.Abort(id);
    }
    EXPECT_EQ(table_.Stats().used, 0u);
    EXPECT_FALSE(table_.Contains(id));
  }
}

TEST_F(ObjectTableTest, SetErrorDoesNotOverwriteAReadyValue) {
  const ObjectId id = NewPutId();
  table_.PutInline(kDriver, id, "value", {});
  EXPECT_TRUE(table_.SetError(id, rpc::TASK_CANCELLED, "late cancel").empty());
  EXPECT_FALSE(table_.IsError(id));
}

TEST_F(ObjectTableTest, DropClientForgetsItsRefsAndPins) {
  const ObjectId id = PutInStore(kDriver, 100);
  table_.AddRef(kReader, id);
  table_.AddRef(kReader, id);
  rpc::ObjectData data;
  table_.DescribeAndPin(kReader, id, &data);
  table_.RemoveRef(kDriver, id);
  ASSERT_TRUE(table_.Contains(id));
  table_.DropClient(kReader);
  EXPECT_FALSE(table_.Contains(id));
  EXPECT_EQ(table_.Stats().used, 0u);
}

TEST_F(ObjectTableTest, DropClientReachesEveryWayItTouchedAnObjectAndNothingElse) {
  const ObjectId held = PutInStore(kDriver, 100);
  table_.AddRef(kReader, held);
  const ObjectId pinned = PutInStore(kDriver, 100);
  rpc::ObjectData data;
  table_.DescribeAndPin(kReader, pinned, &data);
  const ObjectId awaited = NewReturnId();
  table_.AddPending(kDriver, awaited);
  EXPECT_FALSE(table_.Subscribe(kReader, awaited));
  const ObjectId gone = PutInStore(kReader, 100);
  table_.RemoveRef(kReader, gone);  // touched once, freed since
  const ObjectId others = PutInStore(kWorker, 100);

  table_.DropClient(kReader);

  EXPECT_EQ(table_.Find(held)->refs, 1) << "the driver's ref stays";
  EXPECT_FALSE(table_.Find(held)->holders.contains(kReader));
  EXPECT_TRUE(table_.Find(pinned)->pins.empty());
  EXPECT_EQ(table_.PutInline(kWorker, awaited, "v", {}), std::vector<ClientId>{})
      << "the departed reader is no longer waiting";
  EXPECT_FALSE(table_.Contains(gone));
  EXPECT_EQ(table_.Find(others)->refs, 1);
  table_.DropClient(kReader);  // twice: nothing left to do
  EXPECT_EQ(table_.Find(held)->refs, 1);
}

TEST_F(ObjectTableTest, DropClientAbortsTheTaskReturnItWasWriting) {
  const ObjectId id = NewReturnId();
  table_.AddPending(kDriver, id);
  ASSERT_TRUE(table_.Create(kWorker, id, 10000).ok());
  table_.DropClient(kWorker);
  EXPECT_EQ(table_.Stats().used, 0u);
  ASSERT_TRUE(table_.Contains(id)) << "a retry of the task may still produce it";
  EXPECT_FALSE(table_.IsReady(id));
  // The retry's worker can write it again.
  EXPECT_TRUE(table_.Create(kWorker + 1, id, 10000).ok());
  EXPECT_TRUE(table_.Seal(id, {}).ok());
  EXPECT_TRUE(table_.IsReady(id));
}

// A put whose writer vanished before sealing can never become ready, and no
// one else can hold a reference to it: nothing may remain of it.
TEST_F(ObjectTableTest, DropClientForgetsThePutItWasWriting) {
  const ObjectId id = NewPutId();
  ASSERT_TRUE(table_.Create(kWorker, id, 10000).ok());
  table_.DropClient(kWorker);
  EXPECT_EQ(table_.Stats().used, 0u);
  EXPECT_FALSE(table_.Contains(id)) << "the aborted put's entry leaked (state pending, 0 refs)";
  EXPECT_EQ(table_.Stats().num_objects, 0u);
}

TEST_F(ObjectTableTest, AbortReturnsTheMemoryOfAnUnsealedObject) {
  const ObjectId id = NewReturnId();
  table_.AddPending(kDriver, id);
  ASSERT_TRUE(table_.Create(kWorker, id, 10000).ok());
  table_.Abort(id);
  EXPECT_EQ(table_.Stats().used, 0u);
  EXPECT_FALSE(table_.IsReady(id));
  EXPECT_FALSE(table_.Seal(id, {}).ok()) << "an aborted object cannot be sealed";
}

// CoreClient::Abort sends only AbortObject (no RemoveRef): the put's entry
// and the creator's first reference must go with it.
TEST_F(ObjectTableTest, AbortedPutLeavesNoEntryBehind) {
  const ObjectId id = NewPutId();
  ASSERT_TRUE(table_.Create(kDriver, id, 10000).ok());
  table_.Abort(id);
  EXPECT_EQ(table_.Stats().used, 0u);
  EXPECT_FALSE(table_.Contains(id)) << "the aborted put's entry leaked";
}

TEST_F(ObjectTableTest, CreateLargerThanTheArenaFailsAndLeavesTheTableUsable) {
  const ObjectId big = NewPutId();
  auto result = table_.Create(kDriver, big, 2 * kCapacity);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(table_.Contains(big));
  EXPECT_EQ(table_.Stats().num_objects, 0u);

  const ObjectId small = NewPutId();
  EXPECT_TRUE(table_.Create(kDriver, small, 1000).ok());
  EXPECT_TRUE(table_.Seal(small, {}).ok());
}

TEST_F(ObjectTableTest, FailedCreateOfATaskReturnLeavesItPending) {
  const ObjectId id = NewReturnId();
  table_.AddPending(kDriver, id);
  EXPECT_FALSE(table_.Create(kWorker, id, 2 * kCapacity).ok());
  ASSERT_TRUE(table_.Contains(id));
  EXPECT_FALSE(table_.IsReady(id));
  EXPECT_EQ(table_.Find(id)->refs, 1);
}

TEST_F(ObjectTableTest, CreateOfAHugeSizeFailsInsteadOfWrappingAround) {
  const ObjectId id = NewPutId();
  auto result = table_.Create(kDriver, id, std::numeric_limits<uint64_t>::max() - 10);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kResourceExhausted)
      << "a 2^64-byte object was granted a block in a 1 MiB arena";
}

TEST_F(ObjectTableTest, CreateOfAnExistingObjectFails) {
  const ObjectId id = PutInStore(kDriver, 100);
  auto result = table_.Create(kDriver, id, 100);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(ObjectTableTest, SealOfAnObjectNotBeingCreatedFails) {
  auto result = table_.Seal(NewPutId(), {});
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ObjectTableTest, PutAndDropLoopReturnsAllMemory) {
  for (int i = 0; i < 1000; ++i) {
    const ObjectId id = PutInStore(kDriver, 64 * 1024);
    table_.RemoveRef(kDriver, id);
  }
  EXPECT_EQ(table_.Stats().used, 0u);
  EXPECT_EQ(table_.Stats().num_objects, 0u);
}

// ---- objects whose bytes stay on the node that made them ---------------------

class ElsewhereTest : public ObjectTableTest {
 protected:
  // A task return the caller holds, made on `node_` and left there.
  ObjectId MadeElsewhere(uint64_t size) {
    const ObjectId id = NewReturnId();
    table_.AddPending(kDriver, id);
    table_.Subscribe(kDriver, id);
    EXPECT_EQ(table_.SetElsewhere(id, size, node_), std::vector<ClientId>{kDriver});
    return id;
  }

  const NodeId node_ = NodeId::FromRandom();
};

TEST_F(ElsewhereTest, IsReadyButNeedsAFetchAndTakesNoArenaSpace) {
  const ObjectId id = MadeElsewhere(4096);
  EXPECT_TRUE(table_.IsReady(id));
  EXPECT_TRUE(table_.NeedsFetch(id));
  EXPECT_EQ(table_.Stats().used, 0u);
  EXPECT_EQ(table_.Stats().num_inline, 0u);
  EXPECT_TRUE(table_.SpillCandidates().empty()) << "nothing here to spill";

  rpc::ObjectData where;
  table_.DescribeAndPin(kReader, id, &where);
  EXPECT_TRUE(where.elsewhere());
  EXPECT_FALSE(where.in_store());
  EXPECT_EQ(NodeId::FromBinary(where.node_id()), node_);
  EXPECT_EQ(where.size(), 4096u);
  EXPECT_TRUE(table_.Find(id)->pins.empty()) << "nothing here to pin";
}

TEST_F(ElsewhereTest, AFetchedCopyIsReadLikeAnyObjectHere) {
  const ObjectId id = MadeElsewhere(4096);
  ASSERT_TRUE(table_.Create(kObjectManagerClient, id, 4096).ok());
  EXPECT_TRUE(table_.IsReady(id)) << "ready all along, while its copy arrives";
  EXPECT_FALSE(table_.Create(kObjectManagerClient, id, 4096).ok()) << "one copy at a time";
  auto waiting = table_.Seal(id, {});
  ASSERT_TRUE(waiting.ok()) << waiting.status();
  EXPECT_TRUE(waiting->empty());
  EXPECT_FALSE(table_.NeedsFetch(id));

  rpc::ObjectData where;
  table_.DescribeAndPin(kReader, id, &where);
  EXPECT_TRUE(where.in_store());
  EXPECT_FALSE(where.elsewhere());
  table_.Unpin(kReader, id);
  table_.RemoveRef(kDriver, id);
  EXPECT_FALSE(table_.Contains(id));
  EXPECT_EQ(table_.Stats().used, 0u);
  EXPECT_EQ(table_.Stats().num_inline, 0u);
}

TEST_F(ElsewhereTest, AnAbortedFetchLeavesItElsewhereAndReturnsTheBlock) {
  const ObjectId id = MadeElsewhere(4096);
  ASSERT_TRUE(table_.Create(kObjectManagerClient, id, 4096).ok());
  table_.Abort(id);
  EXPECT_TRUE(table_.NeedsFetch(id));
  EXPECT_EQ(table_.Stats().used, 0u);
  EXPECT_TRUE(table_.Create(kObjectManagerClient, id, 4096).ok()) << "fetched again";
}

TEST_F(ElsewhereTest, AnObjectDroppedWhileItsCopyArrivesGoesOnceThePullEnds) {
  const ObjectId id = MadeElsewhere(4096);
  std::vector<ObjectId> freed;
  table_.SetFreeListener([&](const ObjectId& gone) { freed.push_back(gone); });
  ASSERT_TRUE(table_.Create(kObjectManagerClient, id, 4096).ok());
  table_.RemoveRef(kDriver, id);
  EXPECT_TRUE(table_.Contains(id)) << "the pull still writes into its block";
  ASSERT_TRUE(table_.Seal(id, {}).ok());
  EXPECT_FALSE(table_.Contains(id));
  EXPECT_EQ(freed, std::vector<ObjectId>{id});
  EXPECT_EQ(table_.Stats().used, 0u);
}

TEST_F(ElsewhereTest, LostWhileItsCopyArrivesKeepsTheBlockUntilThePullEnds) {
  const ObjectId id = MadeElsewhere(4096);
  ASSERT_TRUE(table_.Create(kObjectManagerClient, id, 4096).ok());
  table_.MarkLost(id, "its node died");
  EXPECT_FALSE(table_.NeedsFetch(id));
  EXPECT_TRUE(table_.IsError(id));
  EXPECT_GT(table_.Stats().used, 0u) << "the pull may still be writing";
  EXPECT_TRUE(table_.Seal(id, {}).ok());
  EXPECT_EQ(table_.Stats().used, 0u);
  EXPECT_TRUE(table_.IsError(id)) << "a late copy does not bring it back";
}

TEST_F(ElsewhereTest, OnlyAPendingReturnCanBeElsewhere) {
  const ObjectId put = PutInStore(kDriver, 100);
  EXPECT_TRUE(table_.SetElsewhere(put, 100, node_).empty());
  EXPECT_FALSE(table_.NeedsFetch(put));
  EXPECT_TRUE(table_.SetElsewhere(NewReturnId(), 100, node_).empty()) << "unknown: ignored";
}

}  // namespace
}  // namespace flare

namespace flare {
namespace {

TEST(ObjectTableCompactTest, AfterABurstTheTableShrinksToWhatItHolds) {
  ObjectTable table(1 << 20);
  constexpr ClientId kDriver = 1;
  std::vector<ObjectId> ids;
  for (int i = 0; i < 100000; ++i) {
    ids.push_back(ObjectIdFor(TaskId::FromRandom(), kPutIndexBit | 1));
    table.PutInline(kDriver, ids.back(), "v", {});
  }
  const size_t peak = table.table_capacity();
  const ObjectId kept = ids.front();
  for (size_t i = 1; i < ids.size(); ++i) table.RemoveRef(kDriver, ids[i]);
  EXPECT_EQ(table.table_capacity(), peak) << "erasing alone keeps the capacity";

  table.Compact();
  EXPECT_LT(table.table_capacity(), peak / 16);
  EXPECT_TRUE(table.IsReady(kept)) << "what it holds stays";
  table.RemoveRef(kDriver, kept);
  EXPECT_FALSE(table.Contains(kept)) << "and is still indexed under its holder";
  const size_t small = table.table_capacity();
  table.Compact();
  EXPECT_EQ(table.table_capacity(), small) << "nothing to give back: nothing done";
}

}  // namespace
}  // namespace flare
