// Waiter: the client's lock, and how callers block under it until what they
// wait for holds.
//
// Every unit of the CoreClient keeps its state under this one lock (the I/O
// thread takes it to apply each incoming message); a caller that must wait
// — a get, a wait, a request's reply, the worker's next task — waits here.
// A wait ends when its condition holds, its deadline passes, the
// connection is lost (Close) or its interruption check says stop (Ctrl-C).
// A sleeping waiter wakes only for those: a batch of messages, Close, its
// deadline, or Interrupt (a signal arrived, so the interruption check may
// now say stop). Nothing wakes it periodically, so an idle process costs no
// CPU.
//
// Most waits are short (a round trip through the raylet takes about a
// hundred microseconds), so a waiter first polls the I/O thread's batch
// counter for `spin` before it sleeps on the condition variable: sleeping
// costs a futex wake-up, and on a VM an idle vCPU's halt and wake, each way.
// Only while waits are short: once the typical wait (a moving average of
// recent ones) is longer than kSpinCeiling spins — an idle worker, a long
// task — a waiter sleeps at once, so its polling does not take a core from
// the processes doing the work it waits for.
//
// The ceiling is well above the spin on purpose. A wait that sleeps is
// longer by the wake-ups it pays, so a rule "spin while the typical wait is
// under the spin" locks itself out: a round trip to another node took about
// 120 us while both ends spun and 330 us once they slept, and the cluster
// bench flipped between the two from run to run. Waits between the spin and
// the ceiling cost at most one spin of polling each.
//
// Thread-safe.
#ifndef FLARE_CLIENT_WAITER_H_
#define FLARE_CLIENT_WAITER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "client/clock.h"

namespace flare {

// Returns true when the caller should stop waiting (e.g. Ctrl-C is pending).
// Called without the lock.
using InterruptCheck = std::function<bool()>;

struct WaiterOptions {
  // How long a waiter polls for the I/O thread's next batch before it
  // sleeps; 0 sleeps at once.
  std::chrono::microseconds spin{200};
  // A waiter spins while the typical wait is at most this many spins.
  static constexpr int kSpinCeiling = 5;
};

// The error of every call once the connection to the raylet is lost.
absl::Status ConnectionLostError(const std::string& reason);

class Waiter {
 public:
  // `clock` is borrowed and must outlive the waiter.
  Waiter(const WaiterOptions& options, const Clock& clock) : options_(options), clock_(clock) {}
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  // The client's lock.
  std::mutex& mutex() { return mu_; }

  // I/O thread: a batch of messages was applied; wakes every waiter but
  // the quiet ones.
  void NotifyBatch();
  // Wakes the quiet waiters (WaitQuietly): what they wait for may hold.
  void NotifyQuiet() { quiet_cv_.notify_all(); }

  // A signal arrived (e.g. Ctrl-C): the waiter sleeping with an
  // interruption check runs it (once), and so does the next one if none
  // sleeps now. Takes the lock.
  void Interrupt();

  // The connection is lost: waits in progress and later ones fail with
  // ConnectionLostError(reason). Takes the lock.
  void Close(const std::string& reason);
  // Why the connection was lost; empty while it is up. Takes the lock.
  std::string ClosedReason() const;

  // Waits until done() holds. OK when it does; DeadlineExceeded after
  // `timeout_ms` (< 0: no deadline); Unavailable once closed; Cancelled
  // when `interrupted` (may be empty), run after each Interrupt, says so.
  // done() is called with the lock held. At most one waiter at a time
  // should pass `interrupted` (the thread that handles signals): each
  // Interrupt runs one check.
  // REQUIRES: `lock` holds mutex().
  absl::Status Wait(std::unique_lock<std::mutex>& lock, int64_t timeout_ms,
                    const InterruptCheck& interrupted, const std::function<bool()>& done);
  // The same for a background thread whose condition only NotifyQuiet
  // reports (the driver's reader of worker logs): it neither spins nor wakes
  // at each batch of messages the others wait for, so a round trip wakes
  // only the threads that wait for it.
  absl::Status WaitQuietly(std::unique_lock<std::mutex>& lock, int64_t timeout_ms,
                           const std::function<bool()>& done);

 private:
  // Polls the batch counter until done() holds or the spin time (bounded by
  // `deadline`) passes. Returns with the lock held.
  void Spin(std::unique_lock<std::mutex>& lock, Clock::TimePoint deadline,
            const std::function<bool()>& done);
  // Sleeps on the condition variable until done(), the deadline, the
  // connection's loss or an interruption.
  absl::Status Sleep(std::unique_lock<std::mutex>& lock, Clock::TimePoint deadline,
                     const InterruptCheck& interrupted, const std::function<bool()>& done);

  const WaiterOptions options_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable quiet_cv_;  // WaitQuietly's
  std::string closed_reason_;  // guarded by mu_
  bool interrupt_pending_ = false;  // guarded by mu_: Interrupt since the last check
  // Batches of messages the I/O thread has applied; spinning waiters poll it.
  std::atomic<uint64_t> batches_{0};
  // How long recent waits took, a moving average (ns); decides whether the
  // next one spins. Updated by racing waiters without a lock: an estimate.
  std::atomic<int64_t> typical_wait_ns_{0};
};

}  // namespace flare

#endif  // FLARE_CLIENT_WAITER_H_
