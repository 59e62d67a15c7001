// Copies large buffers with several threads: on the machines flare runs on,
// one core's memcpy reaches about half the memory bandwidth, so a 100 MiB put
// into the object store is nearly twice as fast with two.
#ifndef FLARE_COMMON_PARALLEL_COPY_H_
#define FLARE_COMMON_PARALLEL_COPY_H_

#include <cstddef>

namespace flare {

// Below this a single memcpy is as fast (thread start-up costs ~50 us).
inline constexpr size_t kParallelCopyMinBytes = 8u << 20;

// memcpy(dst, src, size), split over up to `max_threads` threads (0: one
// per hardware thread, at most 8) in chunks of at least 4 MiB; the calling
// thread copies one chunk itself. The ranges must not overlap.
void ParallelCopy(void* dst, const void* src, size_t size, unsigned max_threads = 0);

}  // namespace flare

#endif  // FLARE_COMMON_PARALLEL_COPY_H_
