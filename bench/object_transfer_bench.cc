// Cross-node object transfer on one machine: a pull of a 100 or 500 MiB
// object between two in-process nodes (two arenas, two gRPC servers on
// 127.0.0.1, tests/cpp/object_transfer_harness.h), against two baselines
// measured in the same run: one memcpy between the arenas (the floor any
// transfer pays on the receiving side) and a raw TCP stream that sends from
// one arena and receives straight into the other (what a data connection
// beside gRPC could reach).
//
// Arguments: object MiB / chunk MiB / chunks in flight. Each iteration is
// one whole pull; the copy is freed (untimed) before the next.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <thread>

#include <benchmark/benchmark.h>

#include "../tests/cpp/object_transfer_harness.h"
#include "object_manager/malloc_tuning.h"

namespace flare {
namespace {

constexpr uint64_t kMiB = 1u << 20;

// The CPU time all threads of this process have used, in seconds.
double ProcessCpuSeconds() {
  timespec now;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// GiB/s of wall time, and the CPU time all threads spent per GiB moved
// (`cpu_seconds`, measured around the moves only): on a busy machine the
// first varies with the neighbours, the second much less.
void ReportRate(benchmark::State& state, uint64_t bytes, double cpu_seconds) {
  const double gib = static_cast<double>(state.iterations() * bytes) / (1u << 30);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["GiB/s"] = benchmark::Counter(gib, benchmark::Counter::kIsRate);
  state.counters["cpu_ms/GiB"] = 1000.0 * cpu_seconds / gib;
}

void BM_BaselineMemcpy(benchmark::State& state) {
  const uint64_t bytes = state.range(0) * kMiB;
  auto from = *Arena::Create(bytes, "bench-from");
  auto to = *Arena::Create(bytes, "bench-to");
  std::memset(from->base(), 1, bytes);
  std::memset(to->base(), 0, bytes);
  const double cpu_start = ProcessCpuSeconds();
  for (auto _ : state) {
    std::memcpy(to->base(), from->base(), bytes);
    benchmark::DoNotOptimize(to->base());
  }
  ReportRate(state, bytes, ProcessCpuSeconds() - cpu_start);
}
BENCHMARK(BM_BaselineMemcpy)->Arg(100)->Arg(500)->ArgName("MiB")->UseRealTime();

// Channel settings tried on the receiver's side: 0 gRPC's defaults, 1 large
// socket reads, 2 a large flow-control window, 3 both and large frames.
grpc::ChannelArguments Tuning(int64_t variant) {
  grpc::ChannelArguments args;
  if (variant == 1 || variant == 3) {
    args.SetInt(GRPC_ARG_TCP_READ_CHUNK_SIZE, 1 << 20);
    args.SetInt(GRPC_ARG_TCP_MIN_READ_CHUNK_SIZE, 256 << 10);
    args.SetInt(GRPC_ARG_TCP_MAX_READ_CHUNK_SIZE, 4 << 20);
  }
  if (variant == 2 || variant == 3) {
    args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 << 20);
  }
  if (variant == 3) args.SetInt(GRPC_ARG_HTTP2_MAX_FRAME_SIZE, (16 << 20) - 1);
  if (variant == 4) {
    args.SetInt(GRPC_ARG_TCP_READ_CHUNK_SIZE, 64 << 10);
    args.SetInt(GRPC_ARG_TCP_MIN_READ_CHUNK_SIZE, 64 << 10);
    args.SetInt(GRPC_ARG_TCP_MAX_READ_CHUNK_SIZE, 64 << 10);
  }
  return args;
}

ObjectManagerOptions TransferOptions(uint64_t chunk_bytes, size_t in_flight, int64_t tuning) {
  ObjectManagerOptions options;
  options.channel_args = Tuning(tuning);
  options.token = "bench";
  options.pull.chunk_bytes = chunk_bytes;
  options.pull.max_chunks_in_flight_per_pull = in_flight;
  options.pull.max_chunks_in_flight = in_flight;
  return options;
}

// Pulls the object from one node into the other, again and again.
void RunPulls(benchmark::State& state, const ObjectManagerOptions& options, NodePort port) {
  const uint64_t bytes = state.range(0) * kMiB;
  LoopThread loop;
  TransferNode sender(loop, bytes + kMiB, options, 1, port);
  TransferNode receiver(loop, bytes + kMiB, options, 2, port);
  const ObjectId id = sender.Put(bytes, 1);
  auto pull_once = [&] {
    absl::Status pulled = receiver.PullAndWait(id, bytes, {sender.AsHolder()});
    if (!pulled.ok()) state.SkipWithError(std::string(pulled.message()).c_str());
  };
  auto drop_copy = [&] {
    loop.Run([&] {
      receiver.table().RemoveRef(kTransferClient, id);
      return 0;
    });
  };
  pull_once();  // first touch of the receiver's arena pages, untimed
  drop_copy();
  double cpu_seconds = 0;
  for (auto _ : state) {
    const double cpu_start = ProcessCpuSeconds();
    pull_once();
    cpu_seconds += ProcessCpuSeconds() - cpu_start;
    state.PauseTiming();
    drop_copy();
    state.ResumeTiming();
  }
  ReportRate(state, bytes, cpu_seconds);
}

void BM_GrpcPull(benchmark::State& state) {
  ObjectManagerOptions options =
      TransferOptions(state.range(1) * kMiB, state.range(2), state.range(3));
  RunPulls(state, options, NodePort::kGrpcOnly);
}
BENCHMARK(BM_GrpcPull)
    ->ArgNames({"MiB", "chunk_MiB", "in_flight", "tuning"})
    ->Args({100, 4, 4, 0})
    ->Args({100, 4, 4, 1})
    ->Args({100, 4, 4, 2})
    ->Args({100, 4, 4, 3})
    ->Args({100, 4, 4, 4})
    ->Args({100, 1, 4, 0})
    ->Args({100, 2, 4, 0})
    ->Args({100, 8, 4, 0})
    ->Args({100, 4, 2, 0})
    ->Args({100, 4, 8, 0})
    ->Args({500, 2, 4, 0})
    ->Args({500, 4, 4, 0})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// The same pulls over raw data connections on the same port.
void BM_RawPull(benchmark::State& state) {
  ObjectManagerOptions options = TransferOptions(state.range(1) * kMiB, state.range(2), 0);
  options.transport = TransferTransport::kRawTcp;
  RunPulls(state, options, NodePort::kGrpcAndRaw);
}
BENCHMARK(BM_RawPull)
    ->ArgNames({"MiB", "chunk_MiB", "in_flight"})
    ->Args({100, 1, 4})
    ->Args({100, 2, 4})
    ->Args({100, 4, 2})
    ->Args({100, 4, 4})
    ->Args({100, 4, 8})
    ->Args({100, 8, 4})
    ->Args({500, 1, 4})
    ->Args({500, 4, 4})
    ->Args({500, 8, 4})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// A connected pair of loopback TCP sockets.
struct TcpPair {
  int send_fd = -1;
  int recv_fd = -1;
  TcpPair() {
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    listen(listener, 1);
    getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
    send_fd = socket(AF_INET, SOCK_STREAM, 0);
    connect(send_fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    recv_fd = accept(listener, nullptr, nullptr);
    close(listener);
  }
  ~TcpPair() {
    close(send_fd);
    close(recv_fd);
  }
};

// Raw TCP from one arena into the other: the sender writes with send()
// (variant 0: the kernel copies from the arena) or sendfile() from the
// arena's memfd (variant 1: the socket takes the shared-memory pages without
// a copy); the receiver recv()s straight into its arena.
void BM_RawTcpStream(benchmark::State& state) {
  const uint64_t bytes = state.range(0) * kMiB;
  const uint64_t chunk = state.range(1) * kMiB;
  const bool use_sendfile = state.range(2) == 1;
  auto from = *Arena::Create(bytes, "bench-from");
  auto to = *Arena::Create(bytes, "bench-to");
  std::memset(from->base(), 1, bytes);
  std::memset(to->base(), 0, bytes);
  TcpPair pair;
  auto send_all = [&] {
    for (uint64_t sent = 0; sent < bytes;) {
      const size_t length = std::min(chunk, bytes - sent);
      ssize_t n;
      if (use_sendfile) {
        off_t offset = static_cast<off_t>(sent);
        n = sendfile(pair.send_fd, from->fd(), &offset, length);
      } else {
        n = send(pair.send_fd, from->base() + sent, length, 0);
      }
      if (n <= 0) return;
      sent += static_cast<uint64_t>(n);
    }
  };
  auto receive_all = [&] {
    for (uint64_t got = 0; got < bytes;) {
      ssize_t n = recv(pair.recv_fd, to->base() + got, bytes - got, MSG_WAITALL);
      if (n <= 0) return;
      got += static_cast<uint64_t>(n);
    }
  };
  const double cpu_start = ProcessCpuSeconds();
  for (auto _ : state) {
    std::thread sender(send_all);
    receive_all();
    sender.join();
  }
  ReportRate(state, bytes, ProcessCpuSeconds() - cpu_start);
}
BENCHMARK(BM_RawTcpStream)
    ->ArgNames({"MiB", "chunk_MiB", "sendfile"})
    ->Args({100, 4, 0})
    ->Args({100, 4, 1})
    ->Args({500, 4, 0})
    ->Args({500, 4, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace flare

// As the raylet runs (malloc_tuning.h), unless FLARE_BENCH_DEFAULT_MALLOC is
// set: then with glibc's defaults, for comparison.
int main(int argc, char** argv) {
  if (getenv("FLARE_BENCH_DEFAULT_MALLOC") == nullptr) flare::KeepLargeAllocationsForReuse();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
