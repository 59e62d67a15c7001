// Leases: a busy worker holds the resources of the task it runs (and the
// GPU devices its GPU demand uses), plus a few more tasks of the same demand
// shape queued behind it, so short tasks run back to back without the
// worker idling. A worker blocked in get/wait lends its CPU out (the node's
// or its placement group's) until it resumes; a worker with queued tasks
// that an idle worker could take is asked to hand them back.
//
// No I/O: resources move in the Scheduler and devices in GpuSlots; what to
// send to which worker is returned to the caller. Thread-compatible: the
// raylet's event loop is its only user.
#ifndef FLARE_RAYLET_LEASE_MANAGER_H_
#define FLARE_RAYLET_LEASE_MANAGER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/compact.h"
#include "common/ids.h"
#include "object_store/object_table.h"
#include "raylet/gpu_slots.h"
#include "raylet/resources.h"
#include "raylet/scheduler.h"

namespace flare {

class LeaseManager {
 public:
  // At most this many tasks sit on one lease (the running one included).
  static constexpr size_t kPipelineDepth = 4;

  LeaseManager(Scheduler& scheduler, GpuSlots& gpus) : scheduler_(scheduler), gpus_(gpus) {}
  // Gives back the capacity a burst of leases left behind.
  void Compact() {
    ShrinkIfSparse(leases_);
    for (auto& [worker, lease] : leases_) ShrinkIfSparse(lease.tasks);
  }

  // `worker` starts `task`, whose `demand` the scheduler has just acquired:
  // a new lease, with devices for its GPUs. An actor's creation gets nothing
  // queued behind it.
  void Grant(ClientId worker, const TaskId& task, const ResourceSet& demand, bool actor_creation);
  // Queues `task` behind what `worker` runs. REQUIRES: `worker` holds a lease.
  void Append(ClientId worker, const TaskId& task);
  // Takes `task` off the worker's lease. True when that ended the lease
  // (nothing left on it): its resources and devices are back.
  bool Remove(ClientId worker, const TaskId& task);
  // The worker is gone: its lease ends. Returns its tasks, running one first.
  std::deque<TaskId> End(ClientId worker);
  // An actor's creation finished on `worker`: the lease ends, but the
  // devices it used are handed to the caller (the actor may keep them).
  std::vector<uint32_t> EndKeepingDevices(ClientId worker);

  // The worker blocked in get/wait (or resumed). True when that lent its
  // CPU out, so other tasks may now fit.
  bool SetBlocked(ClientId worker, bool blocked);

  // Whether `task` is the one `worker` runs (not one queued behind it).
  bool IsRunningOn(const TaskId& task, ClientId worker) const;
  std::optional<TaskId> Running(ClientId worker) const;
  // The GPU devices the tasks of `worker`'s lease use (none: nullptr).
  const std::vector<uint32_t>* Devices(ClientId worker) const;

  // Leases that may take more tasks of their shape now, because the node
  // has no room for those tasks to start on a worker of their own.
  struct Slot {
    ClientId worker;
    std::string shape;
    size_t room;
  };
  std::vector<Slot> PipelineSlots() const;

  // Workers with unstarted tasks queued behind their running one that could
  // start elsewhere now (their demand fits what is available here, or
  // `room_elsewhere` says another node has it), to be asked to hand them
  // back (once, until OnTasksReturned).
  std::vector<ClientId> TakeRebalanceRequests(
      const std::function<bool(const ResourceSet&)>& room_elsewhere = nullptr);
  void OnTasksReturned(ClientId worker);

  // What a blocked worker lends: its CPU, the node's or a placement group's.
  static ResourceSet LentWhenBlocked(const ResourceSet& demand);
  // The GPUs a demand asks for, directly or of a placement group.
  static double GpuDemand(const ResourceSet& demand);

  size_t size() const { return leases_.size(); }

 private:
  struct Lease {
    ResourceSet demand;
    std::string shape;
    std::deque<TaskId> tasks;
    bool actor_creation = false;    // constructs an actor: nothing queues behind it
    bool cpu_lent = false;          // blocked in get/wait: its CPU is lent out
    bool return_requested = false;  // asked to hand back unstarted tasks
    std::vector<uint32_t> gpus;     // the devices its GPU demand uses
  };
  using LeaseMap = absl::flat_hash_map<ClientId, Lease>;
  // What the lease holds now: its demand, less the CPU while it is lent.
  static ResourceSet Held(const Lease& lease);
  void Erase(LeaseMap::iterator lease, bool give_devices);

  Scheduler& scheduler_;
  GpuSlots& gpus_;
  LeaseMap leases_;
};

}  // namespace flare

#endif  // FLARE_RAYLET_LEASE_MANAGER_H_
