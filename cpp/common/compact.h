// Giving back what a container no longer needs after a burst: a hash map
// keeps the capacity of its largest size, and a deque its blocks, until
// asked to let go. Called from a periodic, cheap check (a capacity
// comparison when there is nothing to give back).
#ifndef FLARE_COMMON_COMPACT_H_
#define FLARE_COMMON_COMPACT_H_

#include <algorithm>
#include <cstddef>
#include <deque>

namespace flare {

// Rehashes `map` (an absl hash map or set) to fit what it holds when its
// capacity is more than four times that (and more than a small floor).
// Returns whether it did.
template <typename HashMap>
bool ShrinkIfSparse(HashMap& map) {
  if (map.capacity() <= 4 * std::max<size_t>(map.size(), 1024)) return false;
  map.rehash(0);
  return true;
}

template <typename T>
bool ShrinkIfSparse(std::deque<T>& queue) {
  queue.shrink_to_fit();
  return false;
}

}  // namespace flare

#endif  // FLARE_COMMON_COMPACT_H_
