#include "common/parallel_copy.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace flare {
namespace {

std::vector<uint8_t> Pattern(size_t size) {
  std::vector<uint8_t> data(size);
  for (size_t i = 0; i < size; ++i) data[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
  return data;
}

TEST(ParallelCopyTest, CopiesEveryByteOfOddSizes) {
  for (size_t size : std::vector<size_t>{0, 1, 4095, (8u << 20) + 3, (37u << 20) + 61}) {
    for (unsigned threads : {1u, 2u, 3u, 0u}) {
      const std::vector<uint8_t> source = Pattern(size);
      std::vector<uint8_t> target(size + 1, 0xAB);
      ParallelCopy(target.data(), source.data(), size, threads);
      EXPECT_TRUE(std::equal(source.begin(), source.end(), target.begin()))
          << size << " bytes, " << threads << " threads";
      EXPECT_EQ(target[size], 0xAB) << "wrote past the end";
    }
  }
}

}  // namespace
}  // namespace flare
