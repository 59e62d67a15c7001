// The receive path of one object chunk, as PullStream runs it on gRPC's
// thread: read the ObjectChunk header from the received slices, then copy
// the data into the arena (ChunkReader). Against two references measured in
// the same run: one memcpy of the chunk (the floor), and decoding the chunk
// as a protobuf message first (what a generated stub does: the `bytes`
// field is copied into a std::string, then into the arena). Also the
// PullManager's bookkeeping for one chunk (event in, next request out).
//
// gRPC hands a message over as the slices it read from the socket; the
// argument is their size (16 KiB is one HTTP/2 frame at gRPC's defaults).
#include <cstring>
#include <vector>

#include <benchmark/benchmark.h>
#include <grpcpp/impl/codegen/proto_utils.h>

#include "object_manager/chunk_codec.h"
#include "object_manager/pull_manager.h"

namespace flare {
namespace {

constexpr uint64_t kChunkBytes = 4u << 20;

// An ObjectChunk as received: its encoding cut into slices of `slice_bytes`.
grpc::ByteBuffer ReceivedChunk(const std::vector<uint8_t>& data, size_t slice_bytes) {
  grpc::ByteBuffer encoded = EncodeChunk(0, data.data(), data.size(), nullptr);
  grpc::Slice whole;
  (void)encoded.DumpToSingleSlice(&whole);
  std::vector<grpc::Slice> slices;
  for (size_t at = 0; at < whole.size(); at += slice_bytes) {
    slices.emplace_back(whole.begin() + at, std::min(slice_bytes, whole.size() - at));
  }
  return grpc::ByteBuffer(slices.data(), slices.size());
}

void BM_BaselineMemcpyChunk(benchmark::State& state) {
  std::vector<uint8_t> data(kChunkBytes, 7), arena(kChunkBytes, 0);
  for (auto _ : state) {
    std::memcpy(arena.data(), data.data(), kChunkBytes);
    benchmark::DoNotOptimize(arena.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kChunkBytes));
}
BENCHMARK(BM_BaselineMemcpyChunk);

void BM_ChunkReaderIntoArena(benchmark::State& state) {
  std::vector<uint8_t> data(kChunkBytes, 7), arena(kChunkBytes, 0);
  const grpc::ByteBuffer message = ReceivedChunk(data, state.range(0));
  ChunkReader reader;
  for (auto _ : state) {
    if (!reader.Parse(message).ok()) state.SkipWithError("unparsable chunk");
    reader.CopyDataTo(arena.data() + reader.offset());
    benchmark::DoNotOptimize(arena.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kChunkBytes));
}
BENCHMARK(BM_ChunkReaderIntoArena)->Arg(16 << 10)->Arg(256 << 10)->Arg(4 << 20)->ArgName("slice");

void BM_ProtobufDecodeIntoArena(benchmark::State& state) {
  std::vector<uint8_t> data(kChunkBytes, 7), arena(kChunkBytes, 0);
  const grpc::ByteBuffer message = ReceivedChunk(data, state.range(0));
  for (auto _ : state) {
    grpc::ByteBuffer copy = message;  // Deserialize consumes its buffer
    rpc::ObjectChunk chunk;
    if (!grpc::SerializationTraits<rpc::ObjectChunk>::Deserialize(&copy, &chunk).ok()) {
      state.SkipWithError("unparsable chunk");
    }
    std::memcpy(arena.data() + chunk.offset(), chunk.data().data(), chunk.data().size());
    benchmark::DoNotOptimize(arena.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kChunkBytes));
}
BENCHMARK(BM_ProtobufDecodeIntoArena)
    ->Arg(16 << 10)
    ->Arg(256 << 10)
    ->Arg(4 << 20)
    ->ArgName("slice");

// One chunk's bookkeeping: OnChunk, which asks for the next chunk.
void BM_PullManagerPerChunk(benchmark::State& state) {
  PullOptions options;
  options.chunk_bytes = 1;
  PullManager pulls(options);
  const PullClock::time_point now = PullClock::now();
  ObjectId object;
  NodeId holder;
  holder.MutableData()[0] = 1;
  const uint64_t kChunks = 1u << 30;  // never runs out
  (void)pulls.Pull(object, kChunks, {holder}, 1, now);
  PullActions actions = pulls.OnAllocated(object, absl::OkStatus(), now);
  AttemptId attempt = 0;
  std::vector<uint64_t> in_flight;
  for (const PullAction& action : actions) {
    if (action.kind == PullAction::Kind::kOpen) attempt = action.attempt;
    if (action.kind == PullAction::Kind::kRequest) in_flight = action.chunks;
  }
  size_t next = 0;
  for (auto _ : state) {
    actions = pulls.OnChunk(attempt, in_flight[next], now);
    in_flight[next] = actions.back().chunks.front();
    next = (next + 1) % in_flight.size();
  }
}
BENCHMARK(BM_PullManagerPerChunk);

}  // namespace
}  // namespace flare

BENCHMARK_MAIN();
