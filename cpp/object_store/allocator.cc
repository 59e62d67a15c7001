#include "object_store/allocator.h"

#include <algorithm>
#include <cassert>

namespace flare {

Allocator::Allocator(uint64_t capacity)
    : capacity_(capacity / kAlignment * kAlignment) {
  if (capacity_ > 0) free_.emplace(0, capacity_);
}

std::optional<uint64_t> Allocator::Allocate(uint64_t size) {
  if (size > capacity_) return std::nullopt;  // also keeps the rounding below from wrapping
  const uint64_t rounded =
      std::max<uint64_t>(kAlignment, (size + kAlignment - 1) / kAlignment * kAlignment);
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    if (it->second < rounded) continue;
    const uint64_t offset = it->first;
    const uint64_t remaining = it->second - rounded;
    free_.erase(it);
    if (remaining > 0) free_.emplace(offset + rounded, remaining);
    allocated_.emplace(offset, rounded);
    used_ += rounded;
    return offset;
  }
  return std::nullopt;
}

void Allocator::Free(uint64_t offset) {
  auto found = allocated_.find(offset);
  assert(found != allocated_.end());
  if (found == allocated_.end()) return;
  uint64_t start = offset;
  uint64_t size = found->second;
  allocated_.erase(found);
  used_ -= size;

  auto next = free_.lower_bound(start);
  if (next != free_.end() && start + size == next->first) {
    size += next->second;
    next = free_.erase(next);
  }
  if (next != free_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == start) {
      start = prev->first;
      size += prev->second;
      free_.erase(prev);
    }
  }
  free_.emplace(start, size);
}

uint64_t Allocator::largest_free_block() const {
  uint64_t largest = 0;
  for (const auto& [offset, size] : free_) largest = std::max(largest, size);
  return largest;
}

}  // namespace flare
