// The object table's bookkeeping on the put/get paths, and the arena
// allocator under fragmentation. No memory is touched: these measure the
// raylet's cost per object, which is independent of the object's size.
#include <cstdint>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "absl/container/flat_hash_map.h"
#include "object_store/allocator.h"
#include "object_store/object_table.h"

namespace flare {
namespace {

constexpr ClientId kDriver = 1;
constexpr ClientId kReader = 2;
constexpr uint64_t kArena = 1ull << 30;

// Baseline: the least any table must do per object, one hash insert + erase.
void BM_BaselineHashInsertErase(benchmark::State& state) {
  absl::flat_hash_map<ObjectId, ObjectEntry, IdHash> map;
  const TaskId driver_task = TaskId::FromRandom();
  uint32_t next_put = 0;
  for (auto _ : state) {
    const ObjectId id = ObjectIdFor(driver_task, kPutIndexBit | (next_put++ & 0xffffff));
    map.try_emplace(id);
    map.erase(id);
  }
}
BENCHMARK(BM_BaselineHashInsertErase);

// put: Create + Seal, then the driver drops its ObjectRef.
void BM_CreateSealRemoveRef(benchmark::State& state) {
  const uint64_t size = static_cast<uint64_t>(state.range(0));
  ObjectTable table(kArena);
  const TaskId driver_task = TaskId::FromRandom();
  uint32_t next_put = 0;
  for (auto _ : state) {
    const ObjectId id = ObjectIdFor(driver_task, kPutIndexBit | (next_put++ & 0xffffff));
    auto offset = table.Create(kDriver, id, size);
    if (!offset.ok()) state.SkipWithError("create failed");
    auto waiting = table.Seal(id, {});
    benchmark::DoNotOptimize(waiting);
    table.RemoveRef(kDriver, id);
  }
  if (table.Stats().used != 0) state.SkipWithError("memory leaked");
}
BENCHMARK(BM_CreateSealRemoveRef)->Arg(1 << 10)->Arg(100 << 20)->ArgName("bytes");

// A small put read back by another process: PutInline, Subscribe (ready at
// once), DescribeAndPin for the reply, then the ref is dropped.
void BM_PutInlineSubscribeDescribeRemoveRef(benchmark::State& state) {
  ObjectTable table(kArena);
  const TaskId driver_task = TaskId::FromRandom();
  const std::string value(100, 'v');
  uint32_t next_put = 0;
  rpc::ObjectData data;
  for (auto _ : state) {
    const ObjectId id = ObjectIdFor(driver_task, kPutIndexBit | (next_put++ & 0xffffff));
    table.PutInline(kDriver, id, value, {});
    if (!table.Subscribe(kReader, id)) state.SkipWithError("inline put not ready");
    data.Clear();
    table.DescribeAndPin(kReader, id, &data);
    benchmark::DoNotOptimize(data);
    table.RemoveRef(kDriver, id);
  }
  if (table.Stats().num_objects != 0) state.SkipWithError("objects leaked");
}
BENCHMARK(BM_PutInlineSubscribeDescribeRemoveRef);

// Allocate + Free with ~1000 live blocks of mixed sizes and 500 holes in
// between. A 4 KiB request fits the first hole; a 1 MiB request fits no hole
// and first-fit walks all of them to reach the tail.
void BM_AllocatorWith1000LiveBlocks(benchmark::State& state) {
  const uint64_t size = static_cast<uint64_t>(state.range(0));
  Allocator allocator(kArena);
  std::vector<uint64_t> offsets;
  for (int i = 0; i < 1500; ++i) offsets.push_back(*allocator.Allocate(4096 << (i % 3)));
  for (size_t i = 0; i < offsets.size(); i += 3) allocator.Free(offsets[i]);
  state.counters["live_blocks"] = static_cast<double>(allocator.num_allocations());
  for (auto _ : state) {
    auto offset = allocator.Allocate(size);
    if (!offset) state.SkipWithError("arena full");
    allocator.Free(*offset);
  }
}
BENCHMARK(BM_AllocatorWith1000LiveBlocks)->Arg(4 << 10)->Arg(1 << 20)->ArgName("bytes");

// A client that held one object disconnects while the node holds `live`
// others (issue 13: with 1M live objects a disconnect scanned all of them,
// 43 ms each). Its cost should not grow with `live`.
void BM_DropClientAmongLiveObjects(benchmark::State& state) {
  const int64_t live = state.range(0);
  ObjectTable table(kArena);
  const TaskId driver_task = TaskId::FromRandom();
  uint32_t next_put = 0;
  for (int64_t i = 0; i < live; ++i) {
    table.PutInline(kDriver, ObjectIdFor(driver_task, kPutIndexBit | next_put++), "v", {});
  }
  ClientId client = 100;
  for (auto _ : state) {
    const ObjectId id = ObjectIdFor(driver_task, kPutIndexBit | next_put++);
    table.PutInline(client, id, "v", {});
    table.DropClient(client++);
  }
  if (table.Stats().num_objects != static_cast<uint64_t>(live)) {
    state.SkipWithError("objects leaked");
  }
}
BENCHMARK(BM_DropClientAmongLiveObjects)->Arg(1000)->Arg(1000000)->ArgName("live");

}  // namespace
}  // namespace flare

BENCHMARK_MAIN();
