#include "raylet/gpu_slots.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "raylet/resources.h"

namespace flare {

namespace {
constexpr int64_t kWhole = ResourceSet::kUnit;
int64_t ToFixed(double amount) { return static_cast<int64_t>(std::llround(amount * kWhole)); }
}  // namespace

GpuSlots::GpuSlots(double total) {
  int64_t left = std::max<int64_t>(ToFixed(total), 0);
  while (left > 0) {
    capacity_.push_back(std::min(left, kWhole));
    left -= capacity_.back();
  }
  free_ = capacity_;
}

double GpuSlots::free(uint32_t device) const {
  return device < free_.size() ? static_cast<double>(free_[device]) / kWhole : 0.0;
}

std::vector<uint32_t> GpuSlots::Take(double amount) {
  const int64_t want = ToFixed(amount);
  if (want <= 0 || free_.empty()) return {};
  std::vector<uint32_t> order(free_.size());
  std::iota(order.begin(), order.end(), 0);
  if (want < kWhole) {
    // Best fit: the device with the least room that still fits.
    uint32_t best = 0;
    bool found = false;
    for (uint32_t d : order) {
      if (free_[d] >= want && (!found || free_[d] < free_[best])) {
        best = d;
        found = true;
      }
    }
    if (!found) best = *std::max_element(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
      return free_[a] < free_[b];
    });
    free_[best] -= want;
    return {best};
  }
  const size_t count = std::min<size_t>(static_cast<size_t>((want + kWhole - 1) / kWhole), free_.size());
  // Emptiest first; among equals, the lowest index.
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return free_[a] > free_[b]; });
  std::vector<uint32_t> devices(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(count));
  std::sort(devices.begin(), devices.end());
  for (uint32_t d : devices) free_[d] -= std::min(capacity_[d], kWhole);
  return devices;
}

void GpuSlots::Give(const std::vector<uint32_t>& devices, double amount) {
  const int64_t want = ToFixed(amount);
  for (uint32_t d : devices) {
    if (d >= free_.size()) continue;
    free_[d] = std::min(capacity_[d], free_[d] + (want < kWhole ? want : std::min(capacity_[d], kWhole)));
  }
}

}  // namespace flare
