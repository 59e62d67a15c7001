// Specification of the raylet's event loop runner: it runs what is posted,
// in order, whether it polls or sleeps between events, and returns once
// the loop is stopped or out of work.
#include "raylet/event_loop.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <thread>
#include <vector>

namespace flare {
namespace {

class EventLoopTest : public ::testing::TestWithParam<int> {
 protected:
  std::chrono::microseconds spin() const { return std::chrono::microseconds(GetParam()); }
};

TEST_P(EventLoopTest, RunsWhatIsPostedInOrderThenReturnsOutOfWork) {
  boost::asio::io_context io;
  std::vector<int> ran;
  for (int i = 0; i < 5; ++i) {
    boost::asio::post(io, [&ran, &io, i] {
      ran.push_back(i);
      if (i == 2) boost::asio::post(io, [&ran] { ran.push_back(10); });  // posted by a handler
    });
  }
  RunEventLoop(io, spin());
  EXPECT_EQ(ran, (std::vector<int>{0, 1, 2, 3, 4, 10}));
}

TEST_P(EventLoopTest, HandlersPostedFromAnotherThreadWhileItWaitsRunAndStopEndsIt) {
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);  // never out of work: only stop ends it
  std::vector<int> ran;
  std::thread poster([&] {
    for (int i = 0; i < 100; ++i) boost::asio::post(io, [&ran, i] { ran.push_back(i); });
    boost::asio::post(io, [&io] { io.stop(); });
  });
  RunEventLoop(io, spin());
  poster.join();
  ASSERT_EQ(ran.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(ran[i], i);
}

INSTANTIATE_TEST_SUITE_P(SpinOrSleep, EventLoopTest, ::testing::Values(0, 100, 10000));

TEST(RayletSpinTest, IsReadFromTheEnvironmentWithinBounds) {
  const std::chrono::microseconds fallback(100);
  unsetenv("FLARE_RAYLET_SPIN_US");
  EXPECT_EQ(RayletSpinFromEnvironment(fallback), fallback);
  setenv("FLARE_RAYLET_SPIN_US", "0", 1);
  EXPECT_EQ(RayletSpinFromEnvironment(fallback).count(), 0);
  setenv("FLARE_RAYLET_SPIN_US", "250", 1);
  EXPECT_EQ(RayletSpinFromEnvironment(fallback).count(), 250);
  for (const char* bad : {"-1", "20000", "12x", ""}) {
    setenv("FLARE_RAYLET_SPIN_US", bad, 1);
    EXPECT_EQ(RayletSpinFromEnvironment(fallback), fallback) << bad;
  }
  unsetenv("FLARE_RAYLET_SPIN_US");
}

}  // namespace
}  // namespace flare
