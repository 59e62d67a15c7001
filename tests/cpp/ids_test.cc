// Specification of the fixed-size ids and how object ids derive from tasks.
#include "common/ids.h"

#include <string>

#include <gtest/gtest.h>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

namespace flare {
namespace {

TEST(IdsTest, ReturnIdsRoundTripToTheirTask) {
  const TaskId task = TaskId::FromRandom();
  for (uint32_t index : {1u, 2u, 1000u, kPutIndexBit | 1u}) {
    const ObjectId object = ObjectIdFor(task, index);
    EXPECT_EQ(TaskOfObject(object), task) << "index " << index;
  }
  EXPECT_NE(ObjectIdFor(task, 1), ObjectIdFor(task, 2));
  EXPECT_NE(ObjectIdFor(task, 1), ObjectIdFor(task, kPutIndexBit | 1));
}

TEST(IdsTest, ObjectIdIsTheTaskIdFollowedByTheIndex) {
  const TaskId task = TaskId::FromRandom();
  const std::string binary = ObjectIdFor(task, 3).Binary();
  ASSERT_EQ(binary.size(), ObjectId::kSize);
  EXPECT_EQ(binary.substr(0, TaskId::kSize), task.Binary());
  // The put bit is the top bit of the little-endian index (CoreClient reads it).
  const std::string put = ObjectIdFor(task, kPutIndexBit | 3).Binary();
  EXPECT_EQ(static_cast<uint8_t>(put[TaskId::kSize + 3]) & 0x80, 0x80);
  EXPECT_EQ(static_cast<uint8_t>(binary[TaskId::kSize + 3]) & 0x80, 0);
}

TEST(IdsTest, TheIndexIsLittleEndianAndTheTopBitMarksPuts) {
  const TaskId task = TaskId::FromRandom();
  const std::string binary = ObjectIdFor(task, 0x01020304u).Binary();
  EXPECT_EQ(binary.substr(TaskId::kSize), std::string("\x04\x03\x02\x01", 4));
  EXPECT_EQ(IndexOfObject(ObjectIdFor(task, 7)), 7u);
  EXPECT_FALSE(IsPutObject(ObjectIdFor(task, 7)));
  EXPECT_TRUE(IsPutObject(ObjectIdFor(task, kPutIndexBit | 7)));
}

TEST(IdsTest, GeneratorItemsFollowTheCompletionObject) {
  const TaskId task = TaskId::FromRandom();
  EXPECT_EQ(GeneratorItemId(task, 0), ObjectIdFor(task, 2));
  EXPECT_EQ(GeneratorItemId(task, 5), ObjectIdFor(task, 7));
}

TEST(IdsTest, JobOfTaskIsItsFirstFourBytes) {
  const TaskId task = TaskId::FromRandom();
  EXPECT_EQ(JobOfTask(task).Binary(), task.Binary().substr(0, JobId::kSize));
}

TEST(IdsTest, HexIsTwoLowercaseDigitsPerByte) {
  const JobId job = JobId::FromBinary(std::string("\x01\xab\x00\xff", 4));
  EXPECT_EQ(job.Hex(), "01ab00ff");
  EXPECT_EQ(ToHex(std::string("\x10\x0f", 2)), "100f");
  EXPECT_EQ(ObjectId::FromRandom().Hex().size(), 2 * ObjectId::kSize);
}

TEST(IdsTest, DefaultIdIsNilAndRandomIdIsNot) {
  EXPECT_TRUE(TaskId().IsNil());
  EXPECT_EQ(TaskId().Binary(), std::string(TaskId::kSize, '\0'));
  EXPECT_FALSE(TaskId::FromRandom().IsNil());
  EXPECT_NE(TaskId::FromRandom(), TaskId::FromRandom());
}

TEST(IdsTest, FromBinaryOfTheWrongLengthIsNil) {
  EXPECT_TRUE(ObjectId::FromBinary("short").IsNil());
  EXPECT_TRUE(TaskId::FromBinary(ObjectId::FromRandom().Binary()).IsNil());
}

TEST(IdsTest, BinaryRoundTrips) {
  const ObjectId id = ObjectId::FromRandom();
  EXPECT_EQ(ObjectId::FromBinary(id.Binary()), id);
}

TEST(IdsTest, IdsWorkAsFlatHashMapKeys) {
  absl::flat_hash_map<ObjectId, int, IdHash> map;
  const TaskId task = TaskId::FromRandom();
  for (uint32_t i = 1; i <= 1000; ++i) map[ObjectIdFor(task, i)] = static_cast<int>(i);
  EXPECT_EQ(map.size(), 1000u);
  EXPECT_EQ(map.at(ObjectIdFor(task, 500)), 500);
  EXPECT_FALSE(map.contains(ObjectIdFor(task, 1001)));
}

TEST(IdsTest, HashDependsOnEveryByteOfTheId) {
  // Ids that differ only in their last bytes (returns of one task) must not
  // collide; neither must ids that differ only in their first bytes.
  absl::flat_hash_set<size_t> hashes;
  const TaskId task = TaskId::FromRandom();
  for (uint32_t i = 1; i <= 256; ++i) hashes.insert(ObjectIdFor(task, i).Hash());
  EXPECT_EQ(hashes.size(), 256u);
  hashes.clear();
  for (int i = 0; i < 256; ++i) {
    ObjectId id;
    id.MutableData()[0] = static_cast<uint8_t>(i);
    hashes.insert(id.Hash());
  }
  EXPECT_EQ(hashes.size(), 256u);
}

TEST(IdsTest, AnActorIsNamedByItsCreationTaskWithTheSameBytes) {
  const TaskId creation = TaskId::FromRandom();
  const ActorId actor = ActorIdOf(creation);
  EXPECT_EQ(actor.Binary(), creation.Binary());
  EXPECT_EQ(CreationTaskOf(actor), creation);
  EXPECT_EQ(ActorId::kSize, TaskId::kSize);
  EXPECT_EQ(PlacementGroupId::kSize, 16u) << "the wire layout of a group id is 16 bytes";
  EXPECT_EQ(PlacementGroupId::FromBinary(creation.Binary()).Hex(), creation.Hex());
}

}  // namespace
}  // namespace flare
