// Specification of spilling: which objects leave a full arena, how they come
// back, and what happens when their bytes cannot be read back. No files: the
// spilled bytes live in a map, and a read can be made to fail.
#include "raylet/spill_manager.h"

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace flare {
namespace {

constexpr ClientId kDriver = 1;
constexpr ClientId kReader = 9;
constexpr uint64_t kCapacity = 1 << 20;

class MemorySpillFiles : public SpillFiles {
 public:
  absl::Status Write(const ObjectId& id, const uint8_t* data, uint64_t size) override {
    if (fail_writes) return absl::InternalError("disk full");
    files[id.Hex()] = std::string(reinterpret_cast<const char*>(data), size);
    return absl::OkStatus();
  }
  absl::Status Read(const ObjectId& id, uint8_t* data, uint64_t size) override {
    auto it = files.find(id.Hex());
    if (fail_reads || it == files.end()) return absl::DataLossError("unreadable");
    if (it->second.size() != size) return absl::DataLossError("short file");
    std::memcpy(data, it->second.data(), size);
    return absl::OkStatus();
  }
  void Remove(const ObjectId& id) override { files.erase(id.Hex()); }

  std::map<std::string, std::string> files;
  bool fail_writes = false;
  bool fail_reads = false;
};

class SpillManagerTest : public ::testing::Test {
 protected:
  // A sealed put of `size` bytes filled with `fill`, held by the driver.
  ObjectId Put(uint64_t size, char fill) {
    const ObjectId id = ObjectIdFor(TaskId::FromRandom(), kPutIndexBit | 1);
    auto created = spill_.Create(kDriver, id, size);
    EXPECT_TRUE(created.offset.ok()) << created.offset.status();
    std::memset(arena_.data() + *created.offset, fill, size);
    EXPECT_TRUE(objects_.Seal(id, {}).ok());
    return id;
  }

  std::string Bytes(const ObjectId& id) {
    const ObjectEntry* entry = objects_.Find(id);
    return std::string(reinterpret_cast<const char*>(arena_.data() + entry->offset), entry->size);
  }

  std::vector<uint8_t> arena_ = std::vector<uint8_t>(kCapacity);
  ObjectTable objects_{kCapacity};
  MemorySpillFiles files_;
  SpillManager spill_{objects_, arena_.data(), files_};
};

TEST_F(SpillManagerTest, AFullArenaSpillsAnUnmappedObjectToMakeRoom) {
  const ObjectId first = Put(600 * 1024, 'a');
  const ObjectId second = Put(600 * 1024, 'b');  // needs the first one's room
  EXPECT_TRUE(objects_.IsSpilled(first));
  EXPECT_FALSE(objects_.IsSpilled(second));
  EXPECT_EQ(files_.files.size(), 1u);
  EXPECT_EQ(spill_.num_spilled(), 1u);
}

TEST_F(SpillManagerTest, AMappedObjectIsNeverSpilledAndTheCreatorIsToldToAskForUnpins) {
  const ObjectId mapped = Put(600 * 1024, 'a');
  rpc::ObjectData described;
  objects_.DescribeAndPin(kReader, mapped, &described);  // a reader maps it
  auto created = spill_.Create(kDriver, ObjectIdFor(TaskId::FromRandom(), 1), 600 * 1024);
  EXPECT_TRUE(absl::IsResourceExhausted(created.offset.status()));
  EXPECT_TRUE(created.ask_clients_to_unpin);
  EXPECT_FALSE(objects_.IsSpilled(mapped));
}

TEST_F(SpillManagerTest, AnObjectLargerThanTheArenaIsRefusedWithoutSpillingOrUnpinning) {
  const ObjectId small = Put(1024, 'a');
  auto created = spill_.Create(kDriver, ObjectIdFor(TaskId::FromRandom(), 1), kCapacity * 2);
  EXPECT_FALSE(created.offset.ok());
  EXPECT_FALSE(created.ask_clients_to_unpin);
  EXPECT_FALSE(objects_.IsSpilled(small));
}

TEST_F(SpillManagerTest, ARestoredObjectHasItsBytesBackAndItsFileGoes) {
  const ObjectId first = Put(600 * 1024, 'a');
  const ObjectId second = Put(600 * 1024, 'b');
  ASSERT_TRUE(objects_.IsSpilled(first));
  EXPECT_EQ(spill_.Restore(first), SpillManager::Restored::kInArena);  // spills `second`
  EXPECT_FALSE(objects_.IsSpilled(first));
  EXPECT_TRUE(objects_.IsSpilled(second));
  EXPECT_EQ(Bytes(first), std::string(600 * 1024, 'a'));
  EXPECT_EQ(files_.files.count(first.Hex()), 0u);
}

TEST_F(SpillManagerTest, AnUnreadableSpillFileMakesTheObjectLostInsteadOfServingGarbage) {
  const ObjectId first = Put(600 * 1024, 'a');
  Put(600 * 1024, 'b');
  ASSERT_TRUE(objects_.IsSpilled(first));
  const uint64_t used_before = objects_.Stats().used;
  files_.fail_reads = true;
  EXPECT_EQ(spill_.Restore(first), SpillManager::Restored::kLost);
  rpc::ObjectData described;
  objects_.DescribeAndPin(kReader, first, &described);
  EXPECT_EQ(described.error(), rpc::OBJECT_LOST);
  EXPECT_NE(described.error_message().find("could not be read back"), std::string::npos)
      << described.error_message();
  EXPECT_FALSE(described.in_store());
  // The block it was being read into went back to the arena.
  EXPECT_LE(objects_.Stats().used, used_before);
  EXPECT_EQ(spill_.num_spilled(), 1u) << "only the other object is still spilled";
}

TEST_F(SpillManagerTest, RestoringWithEverythingMappedReportsNoRoom) {
  const ObjectId first = Put(600 * 1024, 'a');
  const ObjectId second = Put(600 * 1024, 'b');
  ASSERT_TRUE(objects_.IsSpilled(first));
  rpc::ObjectData described;
  objects_.DescribeAndPin(kReader, second, &described);
  EXPECT_EQ(spill_.Restore(first), SpillManager::Restored::kNoRoom);
  EXPECT_TRUE(objects_.IsSpilled(first));
  EXPECT_EQ(spill_.RestoreAll({first, second}), SpillManager::Restored::kNoRoom);
}

TEST_F(SpillManagerTest, AFailedWriteLeavesTheObjectInTheArena) {
  const ObjectId first = Put(600 * 1024, 'a');
  files_.fail_writes = true;
  auto created = spill_.Create(kDriver, ObjectIdFor(TaskId::FromRandom(), 1), 600 * 1024);
  EXPECT_FALSE(created.offset.ok());
  EXPECT_FALSE(objects_.IsSpilled(first));
  EXPECT_EQ(Bytes(first), std::string(600 * 1024, 'a'));
}

TEST_F(SpillManagerTest, FreeingASpilledObjectRemovesItsBytes) {
  const ObjectId first = Put(600 * 1024, 'a');
  Put(600 * 1024, 'b');
  ASSERT_EQ(files_.files.count(first.Hex()), 1u);
  objects_.RemoveRef(kDriver, first);
  spill_.OnObjectFreed(first);
  EXPECT_EQ(files_.files.count(first.Hex()), 0u);
  EXPECT_EQ(spill_.num_spilled(), 0u);
}

}  // namespace
}  // namespace flare
