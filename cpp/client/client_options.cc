#include "client/client_options.h"

#include <algorithm>
#include <cstdlib>

namespace flare {

std::chrono::microseconds ParseSpin(const char* text) {
  const std::chrono::microseconds fallback = WaiterOptions().spin;
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  const long long us = std::strtoll(text, &end, 10);
  if (*end != '\0' || us < 0) return fallback;
  return std::chrono::microseconds(std::min<long long>(us, 100000));
}

std::chrono::microseconds SpinFromEnvironment() { return ParseSpin(std::getenv("FLARE_SPIN_US")); }

}  // namespace flare
