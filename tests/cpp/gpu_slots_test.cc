#include "raylet/gpu_slots.h"

#include <gtest/gtest.h>

namespace flare {
namespace {

using Devices = std::vector<uint32_t>;

TEST(GpuSlotsTest, WholeGpusGetDistinctDevices) {
  GpuSlots gpus(4);
  EXPECT_EQ(gpus.Take(1), Devices{0});
  EXPECT_EQ(gpus.Take(2), (Devices{1, 2}));
  EXPECT_EQ(gpus.Take(1), Devices{3});
  gpus.Give({1, 2}, 2);
  EXPECT_EQ(gpus.Take(1), Devices{1});
}

TEST(GpuSlotsTest, FractionsPackOntoOneDevice) {
  GpuSlots gpus(2);
  EXPECT_EQ(gpus.Take(0.5), Devices{0});
  EXPECT_EQ(gpus.Take(0.25), Devices{0});
  EXPECT_EQ(gpus.Take(0.25), Devices{0});
  EXPECT_DOUBLE_EQ(gpus.free(0), 0.0);
  EXPECT_EQ(gpus.Take(0.5), Devices{1});
  // A whole GPU now: none is free, so the emptiest is shared.
  EXPECT_EQ(gpus.Take(1), Devices{1});
}

TEST(GpuSlotsTest, GivingBackRestoresCapacityExactly) {
  GpuSlots gpus(1);
  const Devices third = gpus.Take(0.3333);
  gpus.Give(third, 0.3333);
  EXPECT_DOUBLE_EQ(gpus.free(0), 1.0);
  gpus.Give({0}, 1);  // never above capacity
  EXPECT_DOUBLE_EQ(gpus.free(0), 1.0);
}

TEST(GpuSlotsTest, NoGpusMeansNoDevices) {
  GpuSlots none(0);
  EXPECT_TRUE(none.Take(1).empty());
  GpuSlots gpus(2);
  EXPECT_TRUE(gpus.Take(0).empty());
}

TEST(GpuSlotsTest, AFractionalTotalEndsInAPartialDevice) {
  GpuSlots gpus(1.5);
  ASSERT_EQ(gpus.size(), 2u);
  EXPECT_DOUBLE_EQ(gpus.free(1), 0.5);
}

}  // namespace
}  // namespace flare
