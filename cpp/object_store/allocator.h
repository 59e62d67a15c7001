// First-fit allocator of offsets inside the arena. Pure bookkeeping: it never
// touches the memory. Freed neighbours coalesce, and the lowest fitting
// offset wins so that memory freed by a put-and-drop loop is reused while it
// is still mapped and faulted in.
//
// Thread-compatible: the raylet's event loop is its only user.
#ifndef FLARE_OBJECT_STORE_ALLOCATOR_H_
#define FLARE_OBJECT_STORE_ALLOCATOR_H_

#include <cstdint>
#include <map>
#include <optional>

#include "absl/container/flat_hash_map.h"

namespace flare {

class Allocator {
 public:
  static constexpr uint64_t kAlignment = 64;

  explicit Allocator(uint64_t capacity);

  // Returns the offset of a block of at least `size` bytes, or nullopt when
  // no free block is large enough.
  std::optional<uint64_t> Allocate(uint64_t size);

  // REQUIRES: `offset` was returned by Allocate and not freed since.
  void Free(uint64_t offset);

  uint64_t capacity() const { return capacity_; }
  uint64_t used() const { return used_; }
  uint64_t largest_free_block() const;
  size_t num_allocations() const { return allocated_.size(); }

 private:
  uint64_t capacity_;
  uint64_t used_ = 0;
  std::map<uint64_t, uint64_t> free_;                    // offset -> size
  absl::flat_hash_map<uint64_t, uint64_t> allocated_;    // offset -> size
};

}  // namespace flare

#endif  // FLARE_OBJECT_STORE_ALLOCATOR_H_
