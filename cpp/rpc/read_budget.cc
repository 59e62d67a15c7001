#include "rpc/read_budget.h"

namespace flare {

bool ReadBudget::OnRead(size_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  unhandled_ += bytes;
  if (unhandled_ > max_bytes_) paused_ = true;
  return !paused_;
}

bool ReadBudget::OnHandled(size_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  unhandled_ -= bytes < unhandled_ ? bytes : unhandled_;
  if (!paused_ || unhandled_ > max_bytes_ / 2) return false;
  paused_ = false;
  return true;
}

size_t ReadBudget::unhandled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return unhandled_;
}

bool ReadBudget::paused() const {
  std::lock_guard<std::mutex> lock(mu_);
  return paused_;
}

}  // namespace flare
