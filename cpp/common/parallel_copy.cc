#include "common/parallel_copy.h"

#include <algorithm>
#include <cstring>
#include <thread>
#include <vector>

namespace flare {

namespace {
constexpr size_t kMinChunk = 4u << 20;
constexpr size_t kAlign = 64;  // chunk boundaries on cache lines
}  // namespace

void ParallelCopy(void* dst, const void* src, size_t size, unsigned max_threads) {
  if (max_threads == 0) max_threads = std::min(8u, std::max(1u, std::thread::hardware_concurrency()));
  const size_t by_size = std::max<size_t>(1, size / kMinChunk);
  const size_t threads = std::min<size_t>(max_threads, by_size);
  if (size < kParallelCopyMinBytes || threads <= 1) {
    std::memcpy(dst, src, size);
    return;
  }
  size_t chunk = (size + threads - 1) / threads;
  chunk = (chunk + kAlign - 1) / kAlign * kAlign;
  auto* out = static_cast<char*>(dst);
  const auto* in = static_cast<const char*>(src);
  std::vector<std::thread> helpers;
  helpers.reserve(threads - 1);
  for (size_t begin = chunk; begin < size; begin += chunk) {
    const size_t length = std::min(chunk, size - begin);
    helpers.emplace_back([=] { std::memcpy(out + begin, in + begin, length); });
  }
  std::memcpy(out, in, std::min(chunk, size));
  for (auto& helper : helpers) helper.join();
}

}  // namespace flare
