// Clock: the time a client's waits are measured in, and the way they sleep.
// Injected so that waits with deadlines are testable without sleeping.
#ifndef FLARE_CLIENT_CLOCK_H_
#define FLARE_CLIENT_CLOCK_H_

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace flare {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
  // Sleeps on `cv` until it is notified or `until` passes (TimePoint::max():
  // never); may return early
  // (as condition variables do), so callers re-check what they wait for.
  // REQUIRES: `lock` holds the mutex `cv` is used with.
  virtual void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                         TimePoint until) const = 0;
};

// Real time. Thread-safe.
class SteadyClock : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint until) const override {
    // No deadline: an untimed wait (a time point this far off may overflow
    // the conversion to the system's clock and return at once).
    if (until == TimePoint::max()) {
      cv.wait(lock);
    } else {
      cv.wait_until(lock, until);
    }
  }
};

}  // namespace flare

#endif  // FLARE_CLIENT_CLOCK_H_
