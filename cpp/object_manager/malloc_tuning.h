// glibc's malloc gives large freed blocks back to the kernel at once (munmap,
// or madvise on a thread's heap). gRPC allocates its socket read buffers (up
// to 4 MiB) per read and frees them after the message is consumed, so during
// a transfer every read lands in fresh pages: page faults, zeroing and TLB
// shootdowns cost a third of the CPU time and halve the throughput
// (bench/object_transfer_bench.cc). Keeping such blocks in the process for
// reuse removes that.
//
// Process-wide: call once at start-up (the raylet's main), before other
// threads start. The memory kept is bounded by the process's own peak use.
#ifndef FLARE_OBJECT_MANAGER_MALLOC_TUNING_H_
#define FLARE_OBJECT_MANAGER_MALLOC_TUNING_H_

namespace flare {

// Serves allocations up to 32 MiB from the heap and trims a heap only when
// 256 MiB at its top are free. Returns false if glibc refused a setting.
bool KeepLargeAllocationsForReuse();

}  // namespace flare

#endif  // FLARE_OBJECT_MANAGER_MALLOC_TUNING_H_
