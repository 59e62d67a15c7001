// The local scheduler: which submitted tasks may run now. Pure state with no
// I/O: tasks come in with their resource demand and the arguments they still
// wait for; Dispatch() hands back tasks whose arguments exist and whose
// demand fits the node's available resources, acquiring those resources.
//
// Ready tasks queue per demand shape (e.g. "CPU=1"), FIFO inside a shape, so
// a large demand at the head never blocks small ones behind it. Across
// shapes, what fits is placed in submission order: an actor created before
// a batch of tasks gets the first free CPU, whatever its shape's name.
//
// Thread-compatible: the raylet's event loop is its only user.
#ifndef FLARE_RAYLET_SCHEDULER_H_
#define FLARE_RAYLET_SCHEDULER_H_

#include <cstdint>
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
  // Gives back the capacity a burst of tasks left behind.
  void Compact();

  // Queues `task`, runnable once every object in `unready` is ready.
  // kInfeasible (nothing queued) when the node could never fit `demand`.
  // Tasks with a `tag` (e.g. actor creations) queue apart from untagged ones
  // of the same demand, so TakeQueued never mixes them.
  AddResult Add(const TaskId& task, const ResourceSet& demand,
                const std::vector<ObjectId>& unready, const std::string& tag = "");

  // An object became ready: tasks waiting only on it become dispatchable.
  void OnObjectReady(const ObjectId& object);
  // The queued tasks still waiting for `object`.
  std::vector<TaskId> WaitingFor(const ObjectId& object) const;

  // Takes up to `max_tasks` dispatchable tasks whose demand fits, oldest
  // first (a task that does not fit is passed over), and acquires their
  // resources.
  std::vector<TaskId> Dispatch(size_t max_tasks);

  // Takes up to `max_tasks` dispatchable tasks of demand shape `shape`
  // WITHOUT acquiring resources: for queueing behind a running task of the
  // same shape that already holds them. Only tasks submitted before every
  // dispatchable task of another shape are taken, so queueing never lets a
  // task jump ahead of an older one waiting for the same resources.
  std::vector<TaskId> TakeQueued(const std::string& shape, size_t max_tasks);

  // Up to `max_tasks` dispatchable tasks, oldest first, left queued (to
  // send some elsewhere with Remove).
  std::vector<TaskId> PeekDispatchable(size_t max_tasks) const;

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
  struct Ready {
    uint64_t seq;  // when it became dispatchable: the order of placement
    TaskId task;
  };
  struct ShapeQueue {
    ResourceSet demand;
    std::deque<Ready> tasks;
  };
  using ShapeMap = std::map<std::string, ShapeQueue>;

  void MakeDispatchable(const TaskId& task, Entry& entry);
  // Drops removed tasks from the head of `queue`; false when it is empty.
  bool SkipRemoved(ShapeQueue& queue);
  // The shape whose oldest task fits the available resources and is the
  // oldest of those; end() if none fits.
  ShapeMap::iterator OldestFitting();
  // The oldest dispatchable task not of `shape` (UINT64_MAX if none).
  uint64_t OldestOtherThan(const std::string& shape);
  TaskId Pop(ShapeQueue& queue);

  ResourceSet total_;
  ResourceSet available_;
  absl::flat_hash_map<TaskId, Entry, IdHash> tasks_;
  absl::flat_hash_map<ObjectId, std::vector<TaskId>, IdHash> waiting_;
  ShapeMap ready_;
  absl::flat_hash_set<TaskId, IdHash> removed_;  // lazily dropped from ready_
  size_t num_dispatchable_ = 0;
  uint64_t next_seq_ = 0;
};

}  // namespace flare

#endif  // FLARE_RAYLET_SCHEDULER_H_
