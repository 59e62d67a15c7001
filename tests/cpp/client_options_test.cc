// Specification of the client's configuration read from the environment.
#include "client/client_options.h"

#include <gtest/gtest.h>

namespace flare {
namespace {

using std::chrono::microseconds;

TEST(ClientOptionsTest, TheSpinDefaultsWhenUnsetOrMalformed) {
  const microseconds fallback = WaiterOptions().spin;
  EXPECT_EQ(ParseSpin(nullptr), fallback);
  EXPECT_EQ(ParseSpin(""), fallback);
  EXPECT_EQ(ParseSpin("12us"), fallback);
  EXPECT_EQ(ParseSpin("-5"), fallback);
}

TEST(ClientOptionsTest, TheSpinIsReadInMicrosecondsUpToATenthOfASecond) {
  EXPECT_EQ(ParseSpin("0"), microseconds(0)) << "0 turns spinning off";
  EXPECT_EQ(ParseSpin("350"), microseconds(350));
  EXPECT_EQ(ParseSpin("5000000"), microseconds(100000));
}

}  // namespace
}  // namespace flare
