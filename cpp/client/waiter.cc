#include "client/waiter.h"

#include <sched.h>

namespace flare {

absl::Status ConnectionLostError(const std::string& reason) {
  return absl::UnavailableError("lost the connection to the flare raylet (" + reason +
                                "); the node is down, so this call cannot be served. Call "
                                "flare.shutdown() and flare.init() to start a new one.");
}

void Waiter::NotifyBatch() {
  batches_.fetch_add(1, std::memory_order_release);
  // One wake-up per batch of messages, not one per message.
  cv_.notify_all();
}

void Waiter::Interrupt() {
  std::lock_guard<std::mutex> lock(mu_);
  interrupt_pending_ = true;
  cv_.notify_all();
}

void Waiter::Close(const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  closed_reason_ = reason;
  cv_.notify_all();
  quiet_cv_.notify_all();
}

std::string Waiter::ClosedReason() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_reason_;
}

void Waiter::Spin(std::unique_lock<std::mutex>& lock, Clock::TimePoint deadline,
                  const std::function<bool()>& done) {
  if (options_.spin.count() <= 0) return;
  auto end = clock_.Now() + options_.spin;
  if (deadline < end) end = deadline;
  uint64_t seen = batches_.load(std::memory_order_acquire);
  lock.unlock();
  while (clock_.Now() < end) {
    const uint64_t now = batches_.load(std::memory_order_acquire);
    if (now != seen) {
      seen = now;
      lock.lock();
      if (done()) return;
      lock.unlock();
    }
    sched_yield();  // to whoever else is runnable, the I/O thread first
  }
  lock.lock();
}

absl::Status Waiter::Wait(std::unique_lock<std::mutex>& lock, int64_t timeout_ms,
                          const InterruptCheck& interrupted, const std::function<bool()>& done) {
  if (done()) return absl::OkStatus();
  const auto start = clock_.Now();
  const auto deadline =
      timeout_ms < 0 ? Clock::TimePoint::max() : start + std::chrono::milliseconds(timeout_ms);
  const int64_t typical = typical_wait_ns_.load(std::memory_order_relaxed);
  if (typical <= WaiterOptions::kSpinCeiling * std::chrono::nanoseconds(options_.spin).count()) {
    Spin(lock, deadline, done);
  }
  absl::Status status = Sleep(lock, deadline, interrupted, done);
  const int64_t took =
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock_.Now() - start).count();
  typical_wait_ns_.store(typical + (took - typical) / 4, std::memory_order_relaxed);
  return status;
}

absl::Status Waiter::WaitQuietly(std::unique_lock<std::mutex>& lock, int64_t timeout_ms,
                                 const std::function<bool()>& done) {
  const auto deadline = timeout_ms < 0 ? Clock::TimePoint::max()
                                       : clock_.Now() + std::chrono::milliseconds(timeout_ms);
  while (!done()) {
    if (!closed_reason_.empty()) return ConnectionLostError(closed_reason_);
    if (deadline != Clock::TimePoint::max() && clock_.Now() >= deadline) {
      return absl::DeadlineExceededError("timed out");
    }
    clock_.WaitUntil(quiet_cv_, lock, deadline);
  }
  return absl::OkStatus();
}

absl::Status Waiter::Sleep(std::unique_lock<std::mutex>& lock, Clock::TimePoint deadline,
                           const InterruptCheck& interrupted,
                           const std::function<bool()>& done) {
  while (!done()) {
    if (!closed_reason_.empty()) return ConnectionLostError(closed_reason_);
    if (interrupted && interrupt_pending_) {
      // Cleared under the lock before the check: a signal after it sets
      // the flag again, so the next round checks again instead of sleeping.
      interrupt_pending_ = false;
      lock.unlock();
      const bool stop = interrupted();
      lock.lock();
      if (stop) return absl::CancelledError("interrupted");
      continue;
    }
    if (deadline != Clock::TimePoint::max() && clock_.Now() >= deadline) {
      return absl::DeadlineExceededError("timed out");
    }
    clock_.WaitUntil(cv_, lock, deadline);
  }
  return absl::OkStatus();
}

}  // namespace flare
