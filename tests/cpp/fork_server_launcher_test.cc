// Specification of when a worker is forked from the template process and
// when it is exec'ed: the decision alone, without processes.
#include "raylet/fork_server_launcher.h"

#include <gtest/gtest.h>

namespace flare {
namespace {

ForkServerStatus Status(size_t launches, size_t start_after = 2) {
  ForkServerStatus status;
  status.launches = launches;
  status.start_after = start_after;
  return status;
}

TEST(ChooseLaunchRouteTest, ThePrestartedWorkersAreExecedWithoutTheTemplate) {
  EXPECT_EQ(ChooseLaunchRoute(Status(0)), LaunchRoute::kExec);
  EXPECT_EQ(ChooseLaunchRoute(Status(1)), LaunchRoute::kExec);
}

TEST(ChooseLaunchRouteTest, TheFirstWorkerAfterThemStartsTheTemplateAndIsExeced) {
  EXPECT_EQ(ChooseLaunchRoute(Status(2)), LaunchRoute::kExecAndStartServer);
}

TEST(ChooseLaunchRouteTest, WorkersAreExecedWhileTheTemplateIsNotReady) {
  ForkServerStatus status = Status(3);
  status.started = true;
  EXPECT_EQ(ChooseLaunchRoute(status), LaunchRoute::kExec) << "never wait for the template";
}

TEST(ChooseLaunchRouteTest, OnceReadyTheTemplateForksEveryWorker) {
  ForkServerStatus status = Status(4);
  status.started = true;
  status.ready = true;
  EXPECT_EQ(ChooseLaunchRoute(status), LaunchRoute::kFork);
}

TEST(ChooseLaunchRouteTest, AFailedTemplateIsNeverUsedOrStartedAgain) {
  ForkServerStatus status = Status(10);
  status.started = true;
  status.ready = true;
  status.failed = true;
  EXPECT_EQ(ChooseLaunchRoute(status), LaunchRoute::kExec);
  status.started = false;
  status.ready = false;
  EXPECT_EQ(ChooseLaunchRoute(status), LaunchRoute::kExec);
}

TEST(ChooseLaunchRouteTest, ADisabledTemplateIsNeverStarted) {
  ForkServerStatus status = Status(5);
  status.enabled = false;
  EXPECT_EQ(ChooseLaunchRoute(status), LaunchRoute::kExec);
}

}  // namespace
}  // namespace flare
