// Specification of spilling: what makes room in a full arena (secondary
// copies evicted before primaries are written out), how objects come back,
// what waits meanwhile, and what happens when bytes cannot be written or
// read back. No files and no threads: the spilled bytes live in a map, and
// each write or read ends only when the spec completes it, so the specs
// state what happens before and after each end.
#include "raylet/spill_manager.h"

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "raylet_fakes.h"

namespace flare {
namespace {

using testing::ManualTimers;
using testing::MemorySpillFiles;
using Restored = SpillManager::Restored;

constexpr ClientId kDriver = 1;
constexpr ClientId kReader = 9;
constexpr uint64_t kCapacity = 1 << 20;
constexpr uint64_t kBig = 600 * 1024;  // two do not fit together

class SpillManagerTest : public ::testing::Test {
 protected:
  SpillManagerTest() {
    spill_.SetRoomListener([this] { events_.push_back("room"); });
    objects_.SetFreeListener([this](const ObjectId& id) { spill_.OnObjectFreed(id); });
  }

  // A sealed put of `size` bytes filled with `fill`, held by the driver.
  // REQUIRES: it fits without spilling.
  ObjectId Put(uint64_t size, char fill) {
    const ObjectId id = NewId();
    auto created = spill_.Create(kDriver, id, size);
    EXPECT_TRUE(created.offset.ok()) << created.offset.status();
    Fill(id, *created.offset, size, fill);
    return id;
  }

  void Fill(const ObjectId& id, uint64_t offset, uint64_t size, char fill) {
    std::memset(arena_.data() + offset, fill, size);
    EXPECT_TRUE(objects_.Seal(id, {}).ok());
  }

  // A copy pulled here of an object made here whose primary is on another
  // node.
  ObjectId PulledCopy(uint64_t size) {
    const ObjectId id = ObjectIdFor(TaskId::FromRandom(), 1);
    objects_.AddPending(kDriver, id);
    objects_.SetElsewhere(id, size, NodeId::FromRandom());
    auto offset = objects_.Create(kObjectManagerClient, id, size);
    EXPECT_TRUE(offset.ok()) << offset.status();
    EXPECT_TRUE(objects_.Seal(id, {}).ok());
    EXPECT_FALSE(objects_.NeedsFetch(id));
    return id;
  }

  static ObjectId NewId() { return ObjectIdFor(TaskId::FromRandom(), kPutIndexBit | 1); }

  // Puts `first` and then a second object that needs its room: the first is
  // written out, and the second created once that is done.
  ObjectId SpillFirstFor(const ObjectId& first, char fill) {
    const ObjectId second = NewId();
    EXPECT_TRUE(spill_.Create(kDriver, second, kBig).wait_for_room);
    EXPECT_TRUE(files_.NextIs(first, /*write=*/true));
    files_.CompleteAll();
    auto created = spill_.Create(kDriver, second, kBig);
    EXPECT_TRUE(created.offset.ok()) << created.offset.status();
    Fill(second, *created.offset, kBig, fill);
    EXPECT_TRUE(objects_.IsSpilled(first));
    events_.clear();
    return second;
  }

  SpillManager::RestoreDone Record(const std::string& name) {
    return [this, name](Restored outcome) {
      events_.push_back(name + (outcome == Restored::kInArena  ? ":in-arena"
                                : outcome == Restored::kLost   ? ":lost"
                                : outcome == Restored::kNoRoom ? ":no-room"
                                                               : ":pending"));
    };
  }

  // `id` is gone, and so are its block and its file.
  void ExpectNothingLeftOf(const ObjectId& id) {
    EXPECT_FALSE(objects_.Contains(id));
    EXPECT_EQ(objects_.Stats().used, 0u);
    EXPECT_TRUE(files_.files.empty()) << "its file went with it";
    EXPECT_EQ(spill_.num_spilled(), 0u);
  }

  std::string Bytes(const ObjectId& id) {
    const ObjectEntry* entry = objects_.Find(id);
    return std::string(reinterpret_cast<const char*>(arena_.data() + entry->offset), entry->size);
  }

  std::vector<uint8_t> arena_ = std::vector<uint8_t>(kCapacity);
  ObjectTable objects_{kCapacity};
  MemorySpillFiles files_;
  ManualTimers timers_;
  int unpin_requests_ = 0;
  SpillManager spill_{objects_, arena_.data(), files_, timers_, [this] { ++unpin_requests_; }};
  std::vector<std::string> events_;
};

TEST_F(SpillManagerTest, ACreateWaitsForTheSpillThatMakesItsRoomAndFitsOnceItEnds) {
  const ObjectId first = Put(kBig, 'a');
  const ObjectId second = NewId();
  auto created = spill_.Create(kDriver, second, kBig);
  EXPECT_FALSE(created.offset.ok());
  EXPECT_TRUE(created.wait_for_room) << "a spill is under way";
  EXPECT_FALSE(created.ask_clients_to_unpin);
  EXPECT_FALSE(objects_.IsSpilled(first)) << "not before its bytes are written";
  EXPECT_EQ(Bytes(first), std::string(kBig, 'a'));
  EXPECT_TRUE(events_.empty());

  ASSERT_TRUE(files_.Complete());
  EXPECT_EQ(events_, std::vector<std::string>{"room"});
  EXPECT_TRUE(objects_.IsSpilled(first));
  EXPECT_EQ(spill_.num_spilled(), 1u);
  EXPECT_TRUE(spill_.Create(kDriver, second, kBig).offset.ok());
}

TEST_F(SpillManagerTest, ASecondCreateWhileASpillIsUnderWayWaitsForItWithoutStartingAnother) {
  const ObjectId first = Put(kBig, 'a');
  EXPECT_TRUE(spill_.Create(kDriver, NewId(), kBig).wait_for_room);
  EXPECT_TRUE(spill_.Create(kDriver, NewId(), 500 * 1024).wait_for_room);
  EXPECT_EQ(files_.num_pending(), 1u);
  EXPECT_TRUE(files_.NextIs(first, /*write=*/true));
}

TEST_F(SpillManagerTest, AnObjectMappedWhileItIsWrittenStaysInTheArenaAndItsFileGoes) {
  const ObjectId first = Put(kBig, 'a');
  EXPECT_TRUE(spill_.Create(kDriver, NewId(), kBig).wait_for_room);
  rpc::ObjectData described;
  objects_.DescribeAndPin(kReader, first, &described);  // readable meanwhile
  EXPECT_TRUE(described.in_store());

  files_.CompleteAll();
  EXPECT_FALSE(objects_.IsSpilled(first));
  EXPECT_EQ(Bytes(first), std::string(kBig, 'a'));
  EXPECT_TRUE(files_.files.empty());
  EXPECT_EQ(spill_.num_spilled(), 0u);
  EXPECT_EQ(events_, std::vector<std::string>{"room"}) << "waiting creates look again";
}

TEST_F(SpillManagerTest, AnObjectFreedWhileItIsWrittenKeepsItsBlockUntilTheWriteEndsThenLeavesNothing) {
  const ObjectId first = Put(kBig, 'a');
  EXPECT_TRUE(spill_.Create(kDriver, NewId(), kBig).wait_for_room);
  objects_.RemoveRef(kDriver, first);
  EXPECT_TRUE(objects_.Contains(first)) << "the write still reads its block";
  EXPECT_EQ(objects_.Stats().used, kBig);

  files_.CompleteAll();
  ExpectNothingLeftOf(first);
}

TEST_F(SpillManagerTest, ARestoreWaitsForTheSpillThatMakesItsRoomThenForItsReadAndReadersWaitInOrder) {
  const ObjectId first = Put(kBig, 'a');
  const ObjectId second = SpillFirstFor(first, 'b');

  EXPECT_EQ(spill_.Restore({first}, Record("reader")), Restored::kPending);
  EXPECT_TRUE(files_.NextIs(second, /*write=*/true)) << "room is made for it first";
  EXPECT_EQ(spill_.Restore({first}, Record("task")), Restored::kPending);
  EXPECT_EQ(files_.num_pending(), 1u) << "one spill makes room for both";

  ASSERT_TRUE(files_.Complete());  // `second` is out
  EXPECT_EQ(events_, std::vector<std::string>{"room"});
  EXPECT_TRUE(files_.NextIs(first, /*write=*/false));
  EXPECT_TRUE(objects_.IsSpilled(first)) << "unreadable until its bytes are back";
  rpc::ObjectData described;
  objects_.DescribeAndPin(kReader, first, &described);
  EXPECT_FALSE(described.in_store());

  ASSERT_TRUE(files_.Complete());
  EXPECT_EQ(events_, (std::vector<std::string>{"room", "reader:in-arena", "task:in-arena"}));
  EXPECT_EQ(Bytes(first), std::string(kBig, 'a'));
  EXPECT_EQ(files_.files.count(first.Hex()), 0u);
  EXPECT_TRUE(objects_.IsSpilled(second));
}

TEST_F(SpillManagerTest, AnObjectInTheArenaOrBeingWrittenIsReadableAtOnce) {
  const ObjectId first = Put(kBig, 'a');
  EXPECT_EQ(spill_.Restore({first}, Record("reader")), Restored::kInArena);
  EXPECT_TRUE(spill_.Create(kDriver, NewId(), kBig).wait_for_room);
  EXPECT_EQ(spill_.Restore({first}, Record("reader")), Restored::kInArena);
  EXPECT_TRUE(events_.empty());
}

TEST_F(SpillManagerTest, AnObjectFreedWhileItIsReadBackGoesWhenTheReadEndsWithItsFile) {
  const ObjectId first = Put(kBig, 'a');
  const ObjectId second = SpillFirstFor(first, 'b');
  objects_.RemoveRef(kDriver, second);  // room to read `first` back into
  EXPECT_EQ(spill_.Restore({first}, Record("reader")), Restored::kPending);
  ASSERT_TRUE(files_.NextIs(first, /*write=*/false));
  objects_.RemoveRef(kDriver, first);
  EXPECT_TRUE(objects_.Contains(first)) << "the read still writes into its block";
  EXPECT_EQ(objects_.Stats().used, kBig);

  files_.CompleteAll();
  ExpectNothingLeftOf(first);
  EXPECT_EQ(events_.size(), 1u) << "the reader hears, and finds it gone";
}

TEST_F(SpillManagerTest, AnUnreadableSpillFileMakesTheObjectLostInsteadOfServingGarbage) {
  const ObjectId first = Put(kBig, 'a');
  const ObjectId second = SpillFirstFor(first, 'b');
  objects_.RemoveRef(kDriver, second);  // room to read `first` back into
  files_.fail_reads = true;
  EXPECT_EQ(spill_.Restore({first}, Record("reader")), Restored::kPending);
  files_.CompleteAll();
  EXPECT_EQ(events_, (std::vector<std::string>{"reader:lost", "room"}))
      << "the block it was to be read into is free again";
  rpc::ObjectData described;
  objects_.DescribeAndPin(kReader, first, &described);
  EXPECT_EQ(described.error(), rpc::OBJECT_LOST);
  EXPECT_NE(described.error_message().find("could not be read back"), std::string::npos)
      << described.error_message();
  EXPECT_EQ(objects_.Stats().used, 0u) << "the block it was read into went back";
  EXPECT_EQ(spill_.num_spilled(), 0u);
}

TEST_F(SpillManagerTest, ARestoreThatFindsNoRoomAsksForUnpinsAndRetriesABoundedNumberOfTimes) {
  const ObjectId first = Put(kBig, 'a');
  const ObjectId second = SpillFirstFor(first, 'b');
  rpc::ObjectData described;
  objects_.DescribeAndPin(kReader, second, &described);  // nothing left to spill
  EXPECT_EQ(spill_.Restore({first}, Record("reader")), Restored::kPending);
  EXPECT_EQ(unpin_requests_, 1);
  for (int i = 1; i < SpillManager::kRestoreAttempts; ++i) {
    timers_.Advance(SpillManager::kRestoreRetry);
  }
  EXPECT_TRUE(events_.empty()) << "still trying";
  EXPECT_EQ(unpin_requests_, SpillManager::kRestoreAttempts);
  timers_.Advance(SpillManager::kRestoreRetry);
  EXPECT_EQ(events_, std::vector<std::string>{"reader:no-room"});
  EXPECT_TRUE(objects_.IsSpilled(first));
  EXPECT_EQ(files_.num_pending(), 0u);
}

TEST_F(SpillManagerTest, ARestoreThatFindsNoRoomGoesOnOnceAReaderUnpins) {
  const ObjectId first = Put(kBig, 'a');
  const ObjectId second = SpillFirstFor(first, 'b');
  rpc::ObjectData described;
  objects_.DescribeAndPin(kReader, second, &described);
  EXPECT_EQ(spill_.Restore({first}, Record("reader")), Restored::kPending);
  objects_.Unpin(kReader, second);
  timers_.Advance(SpillManager::kRestoreRetry);
  EXPECT_TRUE(files_.NextIs(second, /*write=*/true));
  files_.CompleteAll();  // the write, then the read it made room for
  EXPECT_EQ(events_, (std::vector<std::string>{"room", "reader:in-arena"}));
  EXPECT_EQ(Bytes(first), std::string(kBig, 'a'));
}

TEST_F(SpillManagerTest, ATasksArgumentsComeBackTogetherWithoutSpillingEachOther) {
  const ObjectId in_arena = Put(400 * 1024, 'a');
  const ObjectId spilled = Put(450 * 1024, 'b');
  const ObjectId other = NewId();
  EXPECT_TRUE(spill_.Create(kDriver, other, 300 * 1024).wait_for_room);
  EXPECT_TRUE(files_.NextIs(spilled, /*write=*/true)) << "the largest goes first";
  files_.CompleteAll();
  auto created = spill_.Create(kDriver, other, 300 * 1024);
  ASSERT_TRUE(created.offset.ok()) << created.offset.status();
  Fill(other, *created.offset, 300 * 1024, 'c');
  events_.clear();

  EXPECT_EQ(spill_.Restore({in_arena, spilled}, Record("task")), Restored::kPending);
  EXPECT_TRUE(files_.NextIs(other, /*write=*/true)) << "not the other argument";
  EXPECT_EQ(files_.num_pending(), 1u);
  files_.CompleteAll();
  EXPECT_EQ(events_, (std::vector<std::string>{"room", "task:in-arena"}));
  EXPECT_EQ(Bytes(in_arena), std::string(400 * 1024, 'a'));
  EXPECT_EQ(Bytes(spilled), std::string(450 * 1024, 'b'));
}

TEST_F(SpillManagerTest, AMappedObjectIsNeverSpilledAndTheCreatorIsToldToAskForUnpins) {
  const ObjectId mapped = Put(kBig, 'a');
  rpc::ObjectData described;
  objects_.DescribeAndPin(kReader, mapped, &described);
  auto created = spill_.Create(kDriver, NewId(), kBig);
  EXPECT_TRUE(absl::IsResourceExhausted(created.offset.status()));
  EXPECT_FALSE(created.wait_for_room);
  EXPECT_TRUE(created.ask_clients_to_unpin);
  EXPECT_EQ(files_.num_pending(), 0u);
}

TEST_F(SpillManagerTest, AnObjectLargerThanTheArenaIsRefusedWithoutSpillingOrUnpinning) {
  Put(1024, 'a');
  auto created = spill_.Create(kDriver, NewId(), kCapacity * 2);
  EXPECT_FALSE(created.offset.ok());
  EXPECT_FALSE(created.wait_for_room);
  EXPECT_FALSE(created.ask_clients_to_unpin);
  EXPECT_EQ(files_.num_pending(), 0u);
}

TEST_F(SpillManagerTest, AFailedWriteLeavesTheObjectInTheArenaAndTheCreateFailsOnItsRetry) {
  const ObjectId first = Put(kBig, 'a');
  files_.fail_writes = true;
  const ObjectId second = NewId();
  EXPECT_TRUE(spill_.Create(kDriver, second, kBig).wait_for_room);
  files_.CompleteAll();
  EXPECT_EQ(events_, std::vector<std::string>{"room"});
  auto retried = spill_.Create(kDriver, second, kBig);
  EXPECT_FALSE(retried.offset.ok());
  EXPECT_FALSE(retried.wait_for_room) << "the object that failed is not written again at once";
  EXPECT_FALSE(objects_.IsSpilled(first));
  EXPECT_EQ(Bytes(first), std::string(kBig, 'a'));
}

TEST_F(SpillManagerTest, FreeingASpilledObjectRemovesItsBytes) {
  const ObjectId first = Put(kBig, 'a');
  SpillFirstFor(first, 'b');
  ASSERT_EQ(files_.files.count(first.Hex()), 1u);
  objects_.RemoveRef(kDriver, first);
  EXPECT_EQ(files_.files.count(first.Hex()), 0u);
  EXPECT_EQ(spill_.num_spilled(), 0u);
}

// ---- secondary copies ------------------------------------------------------

TEST_F(SpillManagerTest, AFullArenaEvictsASecondaryCopyBeforeSpillingAPrimary) {
  const ObjectId primary = Put(400 * 1024, 'a');
  const ObjectId copy = PulledCopy(500 * 1024);
  auto created = spill_.Create(kDriver, NewId(), 400 * 1024);
  EXPECT_TRUE(created.offset.ok()) << "room at once: " << created.offset.status();
  EXPECT_EQ(files_.num_pending(), 0u) << "nothing written out";
  EXPECT_TRUE(objects_.NeedsFetch(copy)) << "pulled again when read";
  EXPECT_FALSE(objects_.IsSpilled(primary));
  EXPECT_EQ(Bytes(primary), std::string(400 * 1024, 'a'));
}

TEST_F(SpillManagerTest, MappedSecondaryCopiesAreAskedForOnceBeforeAPrimaryIsSpilled) {
  const ObjectId primary = Put(400 * 1024, 'a');
  const ObjectId copy = PulledCopy(500 * 1024);
  rpc::ObjectData described;
  objects_.DescribeAndPin(kReader, copy, &described);
  const ObjectId id = NewId();
  EXPECT_TRUE(spill_.Create(kDriver, id, 400 * 1024).wait_for_room);
  EXPECT_EQ(unpin_requests_, 1) << "clients may only cache it";
  EXPECT_EQ(files_.num_pending(), 0u);
  spill_.OnUnpinned();  // another client's, not the copy's
  EXPECT_TRUE(events_.empty());
  timers_.Advance(SpillManager::kUnpinWait);
  EXPECT_EQ(events_, std::vector<std::string>{"room"});

  // Still mapped: in use, so the primary goes to disk instead.
  EXPECT_TRUE(spill_.Create(kDriver, id, 400 * 1024).wait_for_room);
  EXPECT_EQ(unpin_requests_, 1) << "asked once while the arena stays full";
  EXPECT_TRUE(files_.NextIs(primary, /*write=*/true));
  EXPECT_FALSE(objects_.NeedsFetch(copy));
}

TEST_F(SpillManagerTest, ASecondaryCopyUnpinnedWhenAskedIsEvictedAndNothingIsSpilled) {
  Put(400 * 1024, 'a');
  const ObjectId copy = PulledCopy(500 * 1024);
  rpc::ObjectData described;
  objects_.DescribeAndPin(kReader, copy, &described);
  const ObjectId id = NewId();
  EXPECT_TRUE(spill_.Create(kDriver, id, 400 * 1024).wait_for_room);
  objects_.Unpin(kReader, copy);  // it only cached it
  spill_.OnUnpinned();
  EXPECT_EQ(events_, std::vector<std::string>{"room"}) << "at once, not after a wait";
  EXPECT_TRUE(spill_.Create(kDriver, id, 400 * 1024).offset.ok());
  EXPECT_TRUE(objects_.NeedsFetch(copy));
  EXPECT_EQ(files_.num_pending(), 0u);
  timers_.Advance(SpillManager::kUnpinWait);
  EXPECT_EQ(events_.size(), 1u) << "the wait ended with the unpin";
}

TEST_F(SpillManagerTest, ARestoreEvictsASecondaryCopyForItsRoom) {
  const ObjectId first = Put(kBig, 'a');
  const ObjectId second = SpillFirstFor(first, 'b');
  objects_.RemoveRef(kDriver, second);
  const ObjectId copy = PulledCopy(kBig);
  EXPECT_EQ(spill_.Restore({first}, Record("reader")), Restored::kPending);
  EXPECT_TRUE(objects_.NeedsFetch(copy));
  EXPECT_TRUE(files_.NextIs(first, /*write=*/false)) << "read at once, nothing spilled";
}

TEST_F(SpillManagerTest, RoomForAPullComesFromEvictionAtOnceElseFromASpillElseNowhere) {
  const ObjectId primary = Put(400 * 1024, 'a');
  const ObjectId copy = PulledCopy(400 * 1024);
  EXPECT_EQ(spill_.MakeRoom(400 * 1024), SpillManager::Room::kMade);
  EXPECT_TRUE(objects_.NeedsFetch(copy));
  EXPECT_EQ(spill_.MakeRoom(400 * 1024), SpillManager::Room::kComing);
  EXPECT_TRUE(files_.NextIs(primary, /*write=*/true));
  files_.CompleteAll();
  EXPECT_EQ(events_, std::vector<std::string>{"room"});
  EXPECT_EQ(spill_.MakeRoom(400 * 1024), SpillManager::Room::kNone);
}

}  // namespace
}  // namespace flare
