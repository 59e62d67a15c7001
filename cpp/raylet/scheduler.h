// The local scheduler: which submitted tasks may run now. Pure state with no
// I/O: tasks come in with their resource demand and the arguments they still
// wait for; Dispatch() hands back tasks whose arguments exist and whose
// demand fits the node's available resources, acquiring those resources.
//
// Ready tasks queue per demand shape (e.g. "CPU=1"), FIFO inside a shape, so
// a large demand at the head never blocks small ones behind it.
//
// Thread-compatible: the raylet's event loop is its only user.
#ifndef FLARE_RAYLET_SCHEDULER_H_
#define FLARE_RAYLET_SCHEDULER_H_

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "common/ids.h"
#include "raylet/resources.h"

namespace flare {

class Scheduler {
 public:
  enum class AddResult { kQueued, kInfeasible };

  explicit Scheduler(ResourceSet total);

  // Queues `task`, runnable once every object in `unready` is ready.
  // kInfeasible (nothing queued) when the node could never fit `demand`.
  // Tasks with a `tag` (e.g. actor creations) queue apart from untagged ones
  // of the same demand, so TakeQueued never mixes them.
  AddResult Add(const TaskId& task, const ResourceSet& demand,
                const std::vector<ObjectId>& unready, const std::string& tag = "");

  // An object became ready: tasks waiting only on it become dispatchable.
  void OnObjectReady(const ObjectId& object);

  // Takes up to `max_tasks` dispatchable tasks whose demand fits, in
  // submission order per shape, and acquires their resources.
  std::vector<TaskId> Dispatch(size_t max_tasks);

  // Takes up to `max_tasks` dispatchable tasks of demand shape `shape`
  // WITHOUT acquiring resources: for queueing behind a running task of the
  // same shape that already holds them.
  std::vector<TaskId> TakeQueued(const std::string& shape, size_t max_tasks);

  // Removes a task that has not been dispatched. False if it is not queued.
  bool Remove(const TaskId& task);

  void Acquire(const ResourceSet& amount) { available_.Subtract(amount); }
  // The node offers more (a reserved placement group's resources), or stops
  // offering them; what running tasks hold of them comes back later.
  void AddCapacity(const ResourceSet& amount) {
    total_.Add(amount);
    available_.Add(amount);
  }
  void RemoveCapacity(const ResourceSet& amount) {
    total_.Subtract(amount);
    available_.Subtract(amount);
  }
  void Release(const ResourceSet& amount) { available_.Add(amount); }

  // Tasks whose arguments are ready but that wait for a worker or resources.
  size_t num_dispatchable() const { return num_dispatchable_; }
  // Of those, how many would fit the available resources right now.
  size_t NumFittingNow() const;
  size_t num_queued() const { return tasks_.size(); }
  const ResourceSet& total() const { return total_; }
  const ResourceSet& available() const { return available_; }

 private:
  struct Entry {
    ResourceSet demand;
    size_t unresolved = 0;
    std::string shape;
  };
  struct ShapeQueue {
    ResourceSet demand;
    std::deque<TaskId> tasks;
  };

  void MakeDispatchable(const TaskId& task, Entry& entry);

  ResourceSet total_;
  ResourceSet available_;
  absl::flat_hash_map<TaskId, Entry, IdHash> tasks_;
  absl::flat_hash_map<ObjectId, std::vector<TaskId>, IdHash> waiting_;
  std::map<std::string, ShapeQueue> ready_;
  absl::flat_hash_set<TaskId, IdHash> removed_;  // lazily dropped from ready_
  size_t num_dispatchable_ = 0;
};

}  // namespace flare

#endif  // FLARE_RAYLET_SCHEDULER_H_
