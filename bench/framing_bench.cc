// The local socket's framing: every task submission pays one AppendFrame on
// the client and one FrameDecoder::Next in the raylet.
#include <string>

#include <benchmark/benchmark.h>

#include "common/framing.h"
#include "common/ids.h"

namespace flare {
namespace {

// A SubmitTask as a driver sends it for `f.remote(1, 2)`: a few dozen bytes
// of pickled arguments, one return, one CPU.
rpc::Message TypicalSubmit() {
  rpc::Message message;
  rpc::TaskSpec* spec = message.mutable_submit_task()->mutable_spec();
  const TaskId task = TaskId::FromRandom();
  spec->set_task_id(task.Binary());
  spec->set_job_id(JobOfTask(task).Binary());
  spec->set_function_key("fn:0123456789abcdef0123456789abcdef");
  spec->set_function_name("small_task");
  spec->set_args(std::string(48, 'a'));
  spec->set_num_returns(1);
  spec->set_max_retries(3);
  (*spec->mutable_resources()->mutable_amounts())["CPU"] = 1;
  return message;
}

// Time per message, shown by the "per_msg" counter.
benchmark::Counter PerMessage(double messages_per_iteration) {
  return benchmark::Counter(messages_per_iteration,
                            benchmark::Counter::kIsIterationInvariantRate |
                                benchmark::Counter::kInvert);
}

// Baseline: the same message through plain protobuf, no framing.
void BM_BaselineProtobufRoundTrip(benchmark::State& state) {
  const rpc::Message message = TypicalSubmit();
  std::string wire;
  rpc::Message parsed;
  for (auto _ : state) {
    message.SerializeToString(&wire);
    if (!parsed.ParseFromString(wire)) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(parsed);
  }
}
BENCHMARK(BM_BaselineProtobufRoundTrip);

void BM_FrameRoundTripSubmitTask(benchmark::State& state) {
  const rpc::Message message = TypicalSubmit();
  std::string wire;
  FrameDecoder decoder;
  rpc::Message parsed;
  absl::Status status;
  for (auto _ : state) {
    wire.clear();
    AppendFrame(message, &wire);
    decoder.Append(wire.data(), wire.size());
    if (!decoder.Next(&parsed, &status)) state.SkipWithError("frame not decoded");
    benchmark::DoNotOptimize(parsed);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(wire.size()));
  state.counters["frame_bytes"] = static_cast<double>(wire.size());
}
BENCHMARK(BM_FrameRoundTripSubmitTask);

constexpr int kBatch = 1000;

void BM_EncodeBatchOf1000(benchmark::State& state) {
  const rpc::Message message = TypicalSubmit();
  std::string wire;
  for (auto _ : state) {
    wire.clear();
    for (int i = 0; i < kBatch; ++i) AppendFrame(message, &wire);
    benchmark::DoNotOptimize(wire.data());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["per_msg"] = PerMessage(kBatch);
}
BENCHMARK(BM_EncodeBatchOf1000);

void BM_DecodeBatchOf1000(benchmark::State& state) {
  std::string wire;
  for (int i = 0; i < kBatch; ++i) AppendFrame(TypicalSubmit(), &wire);
  FrameDecoder decoder;
  rpc::Message parsed;
  absl::Status status;
  for (auto _ : state) {
    decoder.Append(wire.data(), wire.size());
    int decoded = 0;
    while (decoder.Next(&parsed, &status)) decoded++;
    if (decoded != kBatch) state.SkipWithError("batch not fully decoded");
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["per_msg"] = PerMessage(kBatch);
}
BENCHMARK(BM_DecodeBatchOf1000);

}  // namespace
}  // namespace flare

BENCHMARK_MAIN();
