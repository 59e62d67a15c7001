// Specification of the shared-memory arena: the raylet creates it, clients
// map the same memory from a received file descriptor.
#include "object_store/arena.h"

#include <unistd.h>

#include <cstring>

#include <gtest/gtest.h>

namespace flare {
namespace {

constexpr uint64_t kSize = 4 << 20;

TEST(ArenaTest, CreateMapsWritableMemoryOfTheRequestedSize) {
  auto arena = Arena::Create(kSize, "flare-test");
  ASSERT_TRUE(arena.ok()) << arena.status();
  EXPECT_EQ((*arena)->size(), kSize);
  EXPECT_GE((*arena)->fd(), 0);
  ASSERT_NE((*arena)->base(), nullptr);
  std::memset((*arena)->base(), 0xab, kSize);
  EXPECT_EQ((*arena)->base()[kSize - 1], 0xab);
}

TEST(ArenaTest, SecondMappingOfTheDescriptorSeesTheSameBytes) {
  auto owner = Arena::Create(kSize, "flare-test");
  ASSERT_TRUE(owner.ok()) << owner.status();
  auto client = Arena::Map(dup((*owner)->fd()), kSize);
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_NE((*client)->base(), (*owner)->base()) << "a separate mapping";

  std::memcpy((*owner)->base() + 1000, "hello", 5);
  EXPECT_EQ(std::memcmp((*client)->base() + 1000, "hello", 5), 0);
  std::memcpy((*client)->base() + kSize - 5, "world", 5);
  EXPECT_EQ(std::memcmp((*owner)->base() + kSize - 5, "world", 5), 0);
}

TEST(ArenaTest, MemoryOutlivesTheCreatorWhileAClientMapsIt) {
  auto owner = Arena::Create(kSize, "flare-test");
  ASSERT_TRUE(owner.ok());
  auto client = Arena::Map(dup((*owner)->fd()), kSize);
  ASSERT_TRUE(client.ok());
  std::memcpy((*owner)->base(), "kept", 4);
  owner->reset();
  EXPECT_EQ(std::memcmp((*client)->base(), "kept", 4), 0);
}

TEST(ArenaTest, MapOfAnInvalidDescriptorFails) {
  EXPECT_FALSE(Arena::Map(-1, kSize).ok());
}

}  // namespace
}  // namespace flare
