#include "raylet/event_loop.h"

#include <sched.h>

#include <cstdlib>
#include <string>

namespace flare {

namespace {
constexpr int kSpinCeiling = 5;
}  // namespace

void RunEventLoop(boost::asio::io_context& io, std::chrono::microseconds spin) {
  if (spin.count() <= 0) {
    io.run();
    return;
  }
  using Clock = std::chrono::steady_clock;
  const int64_t ceiling_ns = kSpinCeiling * std::chrono::nanoseconds(spin).count();
  int64_t typical_gap_ns = 0;
  while (!io.stopped()) {
    // The gap until the next event: polled for while gaps are short, else
    // slept through.
    const Clock::time_point idle = Clock::now();
    size_t ran = 0;
    if (typical_gap_ns <= ceiling_ns) {
      while (ran == 0 && Clock::now() - idle < spin && !io.stopped()) {
        ran = io.poll_one();
        if (ran == 0) sched_yield();
      }
    }
    if (ran == 0 && io.run_one() == 0) return;  // stopped, or out of work
    const int64_t gap =
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - idle).count();
    typical_gap_ns += (gap - typical_gap_ns) / 4;
    io.poll();  // what else is ready, before the next gap starts
  }
}

std::chrono::microseconds RayletSpinFromEnvironment(std::chrono::microseconds fallback) {
  const char* text = std::getenv("FLARE_RAYLET_SPIN_US");
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (*end != '\0' || value < 0 || value > 10000) return fallback;
  return std::chrono::microseconds(value);
}

}  // namespace flare
