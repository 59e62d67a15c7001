// Which GPUs of the node a lease uses. The scheduler counts GPUs as one
// amount; this picks the devices, so a task that asked for one GPU sees one
// device (CUDA_VISIBLE_DEVICES) and two tasks asking for half a GPU share
// one. Amounts are kept in the same fixed point as ResourceSet.
//
// Thread-compatible: the raylet's event loop is its only user.
#ifndef FLARE_RAYLET_GPU_SLOTS_H_
#define FLARE_RAYLET_GPU_SLOTS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace flare {

class GpuSlots {
 public:
  // `total` GPUs: device k has capacity 1 (the last one the fraction left,
  // if `total` is not whole).
  explicit GpuSlots(double total);

  // Devices for a lease of `amount` GPUs (none for 0): under one GPU, the
  // fullest device that still has room (so fractions pack); otherwise that
  // many whole free devices. When fractions have left no device free enough
  // (the scheduler only checked the total), the emptiest devices are used.
  std::vector<uint32_t> Take(double amount);
  // Gives back what Take(amount) returned.
  void Give(const std::vector<uint32_t>& devices, double amount);

  size_t size() const { return free_.size(); }
  double free(uint32_t device) const;

 private:
  std::vector<int64_t> capacity_;
  std::vector<int64_t> free_;
};

}  // namespace flare

#endif  // FLARE_RAYLET_GPU_SLOTS_H_
