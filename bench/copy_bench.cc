// Writing a large value into the store: one memcpy (the baseline) against
// ParallelCopy, which the put path uses for buffers of 8 MiB and more.
#include <cstring>
#include <vector>

#include <benchmark/benchmark.h>

#include "common/parallel_copy.h"

namespace flare {
namespace {

constexpr size_t kBytes = 100u << 20;

void BM_BaselineMemcpy100MiB(benchmark::State& state) {
  std::vector<char> source(kBytes, 1), target(kBytes, 0);
  for (auto _ : state) {
    std::memcpy(target.data(), source.data(), kBytes);
    benchmark::DoNotOptimize(target.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kBytes);
}
BENCHMARK(BM_BaselineMemcpy100MiB)->UseRealTime();

void BM_ParallelCopy100MiB(benchmark::State& state) {
  std::vector<char> source(kBytes, 1), target(kBytes, 0);
  for (auto _ : state) {
    ParallelCopy(target.data(), source.data(), kBytes, static_cast<unsigned>(state.range(0)));
    benchmark::DoNotOptimize(target.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kBytes);
}
BENCHMARK(BM_ParallelCopy100MiB)->Arg(2)->Arg(4)->ArgName("threads")->UseRealTime();

}  // namespace
}  // namespace flare

BENCHMARK_MAIN();
