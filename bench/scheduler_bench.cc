// The raylet's "scheduling a ready task" path: Scheduler::Add of a task whose
// arguments exist, Dispatch of it, and Release of its CPU when it finishes.
#include <cstdint>
#include <cstring>
#include <vector>

#include <benchmark/benchmark.h>

#include "raylet/scheduler.h"

namespace flare {
namespace {

TaskId TaskNumber(uint64_t n) {
  TaskId id;
  std::memcpy(id.MutableData() + JobId::kSize, &n, sizeof(n));
  return id;
}

ResourceSet OneCpu() { return ResourceSet::FromMap({{"CPU", 1}}); }

// Baseline: checking and acquiring the demand alone, with no queueing.
void BM_BaselineFitAcquireRelease(benchmark::State& state) {
  ResourceSet available = ResourceSet::FromMap({{"CPU", 2}});
  const ResourceSet demand = OneCpu();
  for (auto _ : state) {
    if (!demand.IsSubsetOf(available)) state.SkipWithError("does not fit");
    available.Subtract(demand);
    available.Add(demand);
  }
}
BENCHMARK(BM_BaselineFitAcquireRelease);

void BM_AddDispatchReleaseReadyTask(benchmark::State& state) {
  Scheduler scheduler(ResourceSet::FromMap({{"CPU", 2}}));
  const ResourceSet demand = OneCpu();
  uint64_t next = 0;
  for (auto _ : state) {
    scheduler.Add(TaskNumber(next++), demand, {});
    std::vector<TaskId> ready = scheduler.Dispatch(1);
    if (ready.size() != 1) state.SkipWithError("task not dispatched");
    scheduler.Release(demand);
  }
}
BENCHMARK(BM_AddDispatchReleaseReadyTask);

// The same with 10,000 tasks queued for the single CPU: each iteration adds
// one at the tail and dispatches the head, so the queue depth stays constant.
void BM_AddDispatchReleaseWith10000Queued(benchmark::State& state) {
  constexpr uint64_t kQueued = 10000;
  Scheduler scheduler(ResourceSet::FromMap({{"CPU", 1}}));
  const ResourceSet demand = OneCpu();
  uint64_t next = 0;
  scheduler.Acquire(demand);  // hold the CPU while the queue fills
  for (; next < kQueued; ++next) scheduler.Add(TaskNumber(next), demand, {});
  scheduler.Release(demand);
  for (auto _ : state) {
    scheduler.Add(TaskNumber(next++), demand, {});
    std::vector<TaskId> ready = scheduler.Dispatch(1);
    if (ready.size() != 1) state.SkipWithError("task not dispatched");
    scheduler.Release(demand);
  }
  state.counters["queued"] = static_cast<double>(scheduler.num_queued());
}
BENCHMARK(BM_AddDispatchReleaseWith10000Queued);

// A task waiting on one argument: Add, OnObjectReady, Dispatch, Release.
void BM_TaskWithOneDependency(benchmark::State& state) {
  Scheduler scheduler(ResourceSet::FromMap({{"CPU", 2}}));
  const ResourceSet demand = OneCpu();
  uint64_t next = 0;
  for (auto _ : state) {
    const TaskId task = TaskNumber(next++);
    const ObjectId arg = ObjectIdFor(TaskNumber(next++), 1);
    scheduler.Add(task, demand, {arg});
    scheduler.OnObjectReady(arg);
    std::vector<TaskId> ready = scheduler.Dispatch(1);
    if (ready.size() != 1) state.SkipWithError("task not dispatched");
    scheduler.Release(demand);
  }
}
BENCHMARK(BM_TaskWithOneDependency);

}  // namespace
}  // namespace flare

BENCHMARK_MAIN();
