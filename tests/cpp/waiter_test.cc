// Specification of how the client's callers wait: until their condition
// holds, their deadline passes, the connection is lost or they are
// interrupted. Time is a fake clock that moves only when the waiter sleeps
// or looks at it, so nothing here sleeps.
#include "client/waiter.h"

#include <thread>

#include <gtest/gtest.h>

namespace flare {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

// Sleeping jumps to the wake-up time (or `sleep_ends_after` on, when set;
// a sleep without a deadline leaves the time as it is); each look at the
// time moves it by `tick`.
class FakeClock : public Clock {
 public:
  TimePoint Now() const override {
    now += tick;
    if (on_now) on_now();
    return now;
  }
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint until) const override {
    sleeps++;
    last_cv = &cv;
    last_until = until;
    if (on_sleep) {  // without the lock, as a real sleep
      lock.unlock();
      on_sleep();
      lock.lock();
    }
    if (sleep_ends_after.count() > 0 && now + sleep_ends_after < until) {
      until = now + sleep_ends_after;
    }
    if (until > now && until != TimePoint::max()) now = until;
  }

  microseconds tick{0};
  microseconds sleep_ends_after{0};  // > 0: a sleep ends this soon (a notification)
  std::function<void()> on_now;  // runs at each look at the time
  std::function<void()> on_sleep;  // runs at each sleep (unlocked), as whatever woke it
  mutable TimePoint last_until{};
  mutable TimePoint now{};
  mutable int sleeps = 0;
  mutable const std::condition_variable* last_cv = nullptr;  // slept on last
};

Clock::TimePoint TimePointZero() { return Clock::TimePoint(); }

WaiterOptions NoSpin() {
  WaiterOptions options;
  options.spin = microseconds(0);
  return options;
}

class WaiterTest : public ::testing::Test {
 protected:
  absl::Status Wait(int64_t timeout_ms, const std::function<bool()>& done,
                    const InterruptCheck& interrupted = nullptr) {
    std::unique_lock<std::mutex> lock(waiter_.mutex());
    return waiter_.Wait(lock, timeout_ms, interrupted, done);
  }

  FakeClock clock_;
  Waiter waiter_{NoSpin(), clock_};
};

TEST_F(WaiterTest, AConditionThatHoldsEndsTheWaitAtOnce) {
  EXPECT_TRUE(Wait(1000, [] { return true; }).ok());
  EXPECT_EQ(clock_.sleeps, 0);
}

TEST_F(WaiterTest, ANegativeTimeoutWaitsUntilTheConditionHolds) {
  int checks = 0;
  EXPECT_TRUE(Wait(-1, [&] { return ++checks == 20; }).ok());
  EXPECT_GT(clock_.sleeps, 0);
}

TEST_F(WaiterTest, TheDeadlineEndsTheWaitWithDeadlineExceeded) {
  const auto start = clock_.now;
  absl::Status status = Wait(200, [] { return false; });
  EXPECT_TRUE(absl::IsDeadlineExceeded(status)) << status;
  EXPECT_GE(clock_.now - start, milliseconds(200)) << "returned before the deadline";
}

TEST_F(WaiterTest, AZeroTimeoutLooksOnceAndReturns) {
  absl::Status status = Wait(0, [] { return false; });
  EXPECT_TRUE(absl::IsDeadlineExceeded(status)) << status;
  EXPECT_EQ(clock_.sleeps, 0);
}

TEST_F(WaiterTest, AWaitWithoutADeadlineSleepsUntilWokenNotOnATimer) {
  bool arrived = false;
  clock_.on_sleep = [&] { arrived = true; };  // as a batch would
  EXPECT_TRUE(Wait(-1, [&] { return arrived; }).ok());
  EXPECT_EQ(clock_.sleeps, 1) << "one sleep, ended by the batch";
  EXPECT_EQ(clock_.last_until, Clock::TimePoint::max()) << "an idle waiter must not wake on a timer";
}

TEST_F(WaiterTest, AWaitWithADeadlineSleepsOnceUntilIt) {
  const auto start = clock_.now;
  absl::Status status = Wait(200, [] { return false; }, [] { return false; });
  EXPECT_TRUE(absl::IsDeadlineExceeded(status)) << status;
  EXPECT_EQ(clock_.sleeps, 1) << "no periodic wake-ups before the deadline";
  EXPECT_EQ(clock_.last_until - start, milliseconds(200));
}

TEST_F(WaiterTest, TheInterruptionCheckRunsOnlyAfterASignal) {
  int checks = 0;
  absl::Status status = Wait(200, [] { return false; }, [&] {
    ++checks;
    return false;
  });
  EXPECT_TRUE(absl::IsDeadlineExceeded(status)) << status;
  EXPECT_EQ(checks, 0) << "no signal came, so nothing to check";
}

TEST_F(WaiterTest, ASignalDuringTheSleepRunsTheCheckOnceAndTheWaitGoesOn) {
  int checks = 0;
  int signals = 0;
  clock_.on_sleep = [&] {
    if (signals++ == 0) waiter_.Interrupt();  // the I/O thread, on a signal
  };
  absl::Status status = Wait(200, [] { return false; }, [&] {
    ++checks;
    return false;
  });
  EXPECT_TRUE(absl::IsDeadlineExceeded(status)) << status;
  EXPECT_EQ(checks, 1);
}

TEST_F(WaiterTest, ASignalBeforeTheWaitIsCheckedBeforeSleeping) {
  waiter_.Interrupt();
  int checks = 0;
  absl::Status status = Wait(200, [] { return false; }, [&] { return ++checks > 0; });
  EXPECT_TRUE(absl::IsCancelled(status)) << status;
  EXPECT_EQ(checks, 1);
  EXPECT_EQ(clock_.sleeps, 0);
}

TEST_F(WaiterTest, AWaitWithoutACheckLeavesTheSignalForTheOneWithACheck) {
  waiter_.Interrupt();
  EXPECT_TRUE(absl::IsDeadlineExceeded(Wait(0, [] { return false; })));
  absl::Status status = Wait(-1, [] { return false; }, [] { return true; });
  EXPECT_TRUE(absl::IsCancelled(status)) << status;
}

TEST_F(WaiterTest, AnInterruptionEndsTheWaitWithCancelled) {
  clock_.on_sleep = [&] { waiter_.Interrupt(); };
  absl::Status status = Wait(-1, [] { return false; }, [] { return true; });
  EXPECT_TRUE(absl::IsCancelled(status)) << status;
}

TEST_F(WaiterTest, ALostConnectionFailsWaitsWithItsReason) {
  waiter_.Close("the raylet exited");
  EXPECT_EQ(waiter_.ClosedReason(), "the raylet exited");
  absl::Status status = Wait(-1, [] { return false; });
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
  EXPECT_NE(status.message().find("the raylet exited"), std::string::npos) << status;
}

TEST_F(WaiterTest, ALostConnectionDoesNotFailAConditionThatHolds) {
  waiter_.Close("the raylet exited");
  EXPECT_TRUE(Wait(-1, [] { return true; }).ok()) << "what already arrived can be read";
}

class WaiterSpinTest : public ::testing::Test {
 protected:
  WaiterSpinTest() { clock_.tick = microseconds(10); }

  absl::Status Wait(int64_t timeout_ms, const std::function<bool()>& done) {
    std::unique_lock<std::mutex> lock(waiter_.mutex());
    return waiter_.Wait(lock, timeout_ms, nullptr, done);
  }

  static WaiterOptions Spin200us() {
    WaiterOptions options;
    options.spin = microseconds(200);
    return options;
  }

  // After 20 waits that each end `wait` into a sleep (as a notification
  // would end them), how often the next wait looks at the clock: a spinning
  // waiter looks at each turn.
  int LooksAfterWaitsOf(microseconds wait) {
    clock_.sleep_ends_after = wait;
    for (int i = 0; i < 20; ++i) {
      const int sleeps = clock_.sleeps;
      EXPECT_TRUE(Wait(1000, [&] { return clock_.sleeps > sleeps; }).ok());
    }
    int looks = 0;
    clock_.on_now = [&] { ++looks; };
    EXPECT_TRUE(absl::IsDeadlineExceeded(Wait(10, [] { return false; })));
    return looks;
  }

  FakeClock clock_;
  Waiter waiter_{Spin200us(), clock_};
};

TEST_F(WaiterSpinTest, WithoutABatchTheSpinnerNeverRechecksAndThenSleeps) {
  int checks = 0;
  absl::Status status = Wait(1000, [&] {
    ++checks;
    return false;
  });
  EXPECT_TRUE(absl::IsDeadlineExceeded(status)) << status;
  EXPECT_GT(clock_.sleeps, 0);
  EXPECT_EQ(checks, clock_.sleeps + 2) << "one check before the spin, one per sleep, one last";
}

TEST_F(WaiterSpinTest, ABatchDuringTheSpinEndsTheWaitWithoutSleeping) {
  bool arrived = false;
  const auto start = clock_.now;
  clock_.on_now = [&] {
    if (!arrived && clock_.now - start >= microseconds(100)) {
      arrived = true;  // as the I/O thread would, under the lock the spinner dropped
      waiter_.NotifyBatch();
    }
  };
  EXPECT_TRUE(Wait(1000, [&] { return arrived; }).ok());
  EXPECT_EQ(clock_.sleeps, 0);
}

TEST_F(WaiterSpinTest, TheSpinNeverOutlastsTheDeadline) {
  absl::Status status = Wait(0, [] { return false; });
  EXPECT_TRUE(absl::IsDeadlineExceeded(status)) << status;
  EXPECT_LT(clock_.now - TimePointZero(), microseconds(200)) << "spun past a zero timeout";
}

TEST_F(WaiterSpinTest, AfterWaitsLongerThanTheSpinTheNextWaitSleepsAtOnce) {
  int looks = 0;  // at the clock: a spinning waiter looks at each turn
  clock_.on_now = [&] { ++looks; };
  EXPECT_TRUE(absl::IsDeadlineExceeded(Wait(10, [] { return false; })));
  EXPECT_GT(looks, 15) << "the first wait polls for its spin";
  for (int i = 0; i < 2; ++i) EXPECT_TRUE(absl::IsDeadlineExceeded(Wait(10, [] { return false; })));

  looks = 0;
  EXPECT_TRUE(absl::IsDeadlineExceeded(Wait(10, [] { return false; })));
  EXPECT_LT(looks, 5) << "waits of 10 ms are typical now: it sleeps without polling";
}

TEST_F(WaiterSpinTest, WaitsALittleLongerThanTheSpinKeepSpinning) {
  // Sleeping makes a wait longer by its wake-ups; were the rule "spin while
  // waits are under the spin", waits of 400 us would stop the spin that
  // might bring them under it again.
  EXPECT_GT(LooksAfterWaitsOf(microseconds(400)), 15)
      << "waits of 400 us are under the ceiling: it still spins";
}

TEST_F(WaiterSpinTest, ShortWaitsBringTheSpinBack) {
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(absl::IsDeadlineExceeded(Wait(10, [] { return false; })));
  EXPECT_GT(LooksAfterWaitsOf(microseconds(20)), 15)
      << "waits of tens of microseconds are typical again: it spins";
}

TEST_F(WaiterTest, AQuietWaiterSleepsApartFromTheWaitersThatBatchesWake) {
  EXPECT_TRUE(absl::IsDeadlineExceeded(Wait(10, [] { return false; })));
  const std::condition_variable* batch_cv = clock_.last_cv;
  std::unique_lock<std::mutex> lock(waiter_.mutex());
  EXPECT_TRUE(absl::IsDeadlineExceeded(waiter_.WaitQuietly(lock, 10, [] { return false; })));
  ASSERT_NE(clock_.last_cv, nullptr);
  EXPECT_NE(clock_.last_cv, batch_cv) << "NotifyBatch would wake the quiet waiter";
}

TEST(WaiterQuietTest, ItsNotificationWakesAQuietWaiter) {
  SteadyClock clock;
  Waiter waiter(WaiterOptions(), clock);
  bool logs = false;
  std::thread io([&] {
    std::lock_guard<std::mutex> lock(waiter.mutex());
    logs = true;
    waiter.NotifyQuiet();
  });
  std::unique_lock<std::mutex> lock(waiter.mutex());
  const absl::Status status = waiter.WaitQuietly(lock, 60000, [&] { return logs; });
  lock.unlock();
  io.join();
  EXPECT_TRUE(status.ok()) << status;
}

TEST(WaiterQuietTest, ALostConnectionEndsAQuietWait) {
  SteadyClock clock;
  Waiter waiter(WaiterOptions(), clock);
  std::thread io([&] { waiter.Close("the raylet went away"); });
  std::unique_lock<std::mutex> lock(waiter.mutex());
  const absl::Status status = waiter.WaitQuietly(lock, 60000, [] { return false; });
  lock.unlock();
  io.join();
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
}

// Waits, with real time, for a flag another thread sets as the I/O thread
// does: under the lock, then NotifyBatch.
absl::Status WaitForAnotherThread(const WaiterOptions& options) {
  SteadyClock clock;
  Waiter waiter(options, clock);
  bool arrived = false;
  std::thread io([&] {
    {
      std::lock_guard<std::mutex> lock(waiter.mutex());
      arrived = true;
    }
    waiter.NotifyBatch();
  });
  std::unique_lock<std::mutex> lock(waiter.mutex());
  absl::Status status = waiter.Wait(lock, -1, nullptr, [&] { return arrived; });
  lock.unlock();
  io.join();
  return status;
}

TEST(WaiterThreadTest, ABatchFromAnotherThreadEndsASpinningWait) {
  WaiterOptions options;
  options.spin = microseconds(100000);
  EXPECT_TRUE(WaitForAnotherThread(options).ok());
}

TEST(WaiterThreadTest, ABatchFromAnotherThreadWakesASleepingWait) {
  WaiterOptions options;
  options.spin = microseconds(0);  // sleeps at once; only the notification wakes it
  EXPECT_TRUE(WaitForAnotherThread(options).ok());
}

}  // namespace
}  // namespace flare
