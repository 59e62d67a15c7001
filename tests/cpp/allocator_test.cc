// Specification of the arena's first-fit offset allocator.
#include "object_store/allocator.h"

#include <cstdint>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

namespace flare {
namespace {

constexpr uint64_t kA = Allocator::kAlignment;

TEST(AllocatorTest, OffsetsAndSizesAreAlignedTo64Bytes) {
  Allocator allocator(64 * kA);
  for (uint64_t size : {1, 63, 64, 65, 100, 1000}) {
    auto offset = allocator.Allocate(size);
    ASSERT_TRUE(offset.has_value()) << "size " << size;
    EXPECT_EQ(*offset % kA, 0u) << "size " << size;
  }
  // 1, 63 and 64 take one unit each; 65 and 100 two; 1000 sixteen.
  EXPECT_EQ(allocator.used(), (1 + 1 + 1 + 2 + 2 + 16) * kA);
}

TEST(AllocatorTest, ZeroSizeStillTakesOneAlignedUnit) {
  Allocator allocator(4 * kA);
  auto a = allocator.Allocate(0);
  auto b = allocator.Allocate(0);
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b) << "two live blocks must not share an offset";
  EXPECT_EQ(allocator.used(), 2 * kA);
}

TEST(AllocatorTest, CapacityIsRoundedDownToTheAlignment) {
  Allocator allocator(10 * kA + 17);
  EXPECT_EQ(allocator.capacity(), 10 * kA);
  EXPECT_EQ(allocator.largest_free_block(), 10 * kA);
}

TEST(AllocatorTest, FirstFitReusesTheLowestFreedOffset) {
  Allocator allocator(16 * kA);
  auto a = allocator.Allocate(kA);
  auto b = allocator.Allocate(kA);
  auto c = allocator.Allocate(kA);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, 0u);
  allocator.Free(*a);
  allocator.Free(*c);
  // Both the hole at 0 and the tail fit; the lowest offset wins.
  EXPECT_EQ(allocator.Allocate(kA), 0u);
}

TEST(AllocatorTest, PutAndDropLoopKeepsReusingTheSameOffset) {
  Allocator allocator(1024 * kA);
  auto first = allocator.Allocate(10 * kA);
  ASSERT_TRUE(first);
  allocator.Free(*first);
  for (int i = 0; i < 100; ++i) {
    auto offset = allocator.Allocate(10 * kA);
    ASSERT_TRUE(offset);
    EXPECT_EQ(*offset, *first) << "iteration " << i << " moved to colder memory";
    allocator.Free(*offset);
  }
  EXPECT_EQ(allocator.used(), 0u);
}

TEST(AllocatorTest, FreedNeighboursCoalesceIntoOneBlock) {
  Allocator allocator(3 * kA);
  auto a = allocator.Allocate(kA);
  auto b = allocator.Allocate(kA);
  auto c = allocator.Allocate(kA);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(allocator.largest_free_block(), 0u);
  allocator.Free(*a);
  allocator.Free(*c);
  EXPECT_EQ(allocator.largest_free_block(), kA);
  // Freeing the middle block merges with the free block on each side.
  allocator.Free(*b);
  EXPECT_EQ(allocator.largest_free_block(), 3 * kA);
  EXPECT_EQ(allocator.Allocate(3 * kA), 0u);
}

TEST(AllocatorTest, FreeCoalescesWithTheFollowingBlockOnly) {
  Allocator allocator(4 * kA);
  auto a = allocator.Allocate(kA);
  auto b = allocator.Allocate(kA);
  auto c = allocator.Allocate(2 * kA);
  ASSERT_TRUE(a && b && c);
  allocator.Free(*c);
  allocator.Free(*b);  // merges with c's block, not with live a
  EXPECT_EQ(allocator.largest_free_block(), 3 * kA);
  EXPECT_EQ(allocator.Allocate(3 * kA), kA);
}

TEST(AllocatorTest, FreeCoalescesWithThePrecedingBlockOnly) {
  Allocator allocator(4 * kA);
  auto a = allocator.Allocate(2 * kA);
  auto b = allocator.Allocate(kA);
  auto c = allocator.Allocate(kA);
  ASSERT_TRUE(a && b && c);
  allocator.Free(*a);
  allocator.Free(*b);  // merges with a's block, not with live c
  EXPECT_EQ(allocator.largest_free_block(), 3 * kA);
  EXPECT_EQ(allocator.Allocate(3 * kA), 0u);
}

TEST(AllocatorTest, FullArenaReturnsNullopt) {
  Allocator allocator(4 * kA);
  ASSERT_TRUE(allocator.Allocate(4 * kA));
  EXPECT_FALSE(allocator.Allocate(1).has_value());
}

TEST(AllocatorTest, FragmentedArenaRejectsABlockLargerThanAnyHole) {
  Allocator allocator(4 * kA);
  std::vector<uint64_t> offsets;
  for (int i = 0; i < 4; ++i) offsets.push_back(*allocator.Allocate(kA));
  allocator.Free(offsets[0]);
  allocator.Free(offsets[2]);
  EXPECT_EQ(allocator.capacity() - allocator.used(), 2 * kA);
  EXPECT_FALSE(allocator.Allocate(2 * kA).has_value())
      << "two free units exist, but not adjacent";
}

TEST(AllocatorTest, RequestLargerThanCapacityReturnsNullopt) {
  Allocator allocator(4 * kA);
  EXPECT_FALSE(allocator.Allocate(4 * kA + 1).has_value());
}

// A size close to 2^64 must fail, not wrap around to a tiny block that the
// caller would then write far past.
TEST(AllocatorTest, HugeRequestDoesNotWrapAroundToASmallBlock) {
  Allocator allocator(4 * kA);
  const uint64_t huge = std::numeric_limits<uint64_t>::max() - 10;
  EXPECT_FALSE(allocator.Allocate(huge).has_value())
      << "a request of 2^64-11 bytes was granted in a " << allocator.capacity()
      << "-byte arena";
}

TEST(AllocatorTest, UsedReturnsToZeroAfterFreeingEverything) {
  Allocator allocator(1000 * kA);
  std::vector<uint64_t> offsets;
  for (uint64_t i = 1; i <= 40; ++i) {
    auto offset = allocator.Allocate(i * 37);
    ASSERT_TRUE(offset);
    offsets.push_back(*offset);
  }
  EXPECT_EQ(allocator.num_allocations(), 40u);
  EXPECT_GT(allocator.used(), 0u);
  // Free in an interleaved order to exercise both coalescing directions.
  for (size_t i = 0; i < offsets.size(); i += 2) allocator.Free(offsets[i]);
  for (size_t i = 1; i < offsets.size(); i += 2) allocator.Free(offsets[i]);
  EXPECT_EQ(allocator.used(), 0u);
  EXPECT_EQ(allocator.num_allocations(), 0u);
  EXPECT_EQ(allocator.largest_free_block(), allocator.capacity());
}

}  // namespace
}  // namespace flare
