#include "object_manager/malloc_tuning.h"

#include <malloc.h>

namespace flare {

bool KeepLargeAllocationsForReuse() {
  const bool mmap_set = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1;
  const bool trim_set = mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1;
  return mmap_set && trim_set;
}

}  // namespace flare
