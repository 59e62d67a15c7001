// Bookkeeping of the node's Python worker processes: which are starting,
// idle, running a task or blocked in get/wait. Starting a process goes
// through the injected WorkerLauncher, so the pool's policy is testable
// without processes.
//
// Policy: keep `num_prestart` workers (one per CPU); start more only when
// dispatchable tasks outnumber idle and starting workers (that happens when
// running tasks block in get and give their CPU back). At most
// `max_workers` of them may be runnable (idle, starting or busy and not
// blocked): a worker blocked in get/wait does not count, or deep nesting
// (quick sort, recursive fan-out) would deadlock once every worker waits on
// children that have none left. The hard limit on all pooled processes is
// kBlockedFactor times that.
//
// Thread-compatible: the raylet's event loop is its only user.
#ifndef FLARE_RAYLET_WORKER_POOL_H_
#define FLARE_RAYLET_WORKER_POOL_H_

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common/ids.h"
#include "object_store/object_table.h"

namespace flare {

class WorkerLauncher {
 public:
  virtual ~WorkerLauncher() = default;
  // Starts a worker process that will register with `worker_id`.
  virtual absl::StatusOr<pid_t> Launch(const WorkerId& worker_id) = 0;
};

enum class WorkerState { kStarting, kIdle, kBusy };

struct WorkerInfo {
  WorkerId id;
  pid_t pid = 0;
  ClientId client = 0;  // 0 until it registers
  WorkerState state = WorkerState::kStarting;
  bool blocked = false;
  bool dedicated = false;  // hosts an actor: not part of the task pool
  std::optional<TaskId> task;
};

class WorkerPool {
 public:
  WorkerPool(WorkerLauncher& launcher, size_t num_prestart, size_t max_workers);

  // Starts workers until `num_prestart` exist.
  absl::Status Prestart();

  // A process registered. Returns false for an unknown worker id.
  bool OnRegistered(const WorkerId& id, ClientId client);

  // Takes an idle worker for `task`. nullopt when none is idle.
  std::optional<ClientId> PopIdle(const TaskId& task);
  // The worker finished its task and can take another.
  void OnTaskFinished(ClientId client);
  void SetBlocked(ClientId client, bool blocked);
  // The busy worker now hosts an actor for good: the pool's prestart and
  // maximum counts no longer include it.
  void Dedicate(ClientId client);

  // The worker's connection closed: it takes no more tasks. Its record stays
  // until its process exits.
  void OnDisconnected(ClientId client);
  // The process exited. Returns what it was (and was running), and forgets it.
  std::optional<WorkerInfo> OnProcessExited(pid_t pid);

  // Starts workers so that `dispatchable` tasks find one soon. Returns how
  // many were started.
  size_t Grow(size_t dispatchable);

  // Grow stopped at the hard limit with tasks still waiting for a worker.
  bool at_hard_limit() const { return num_pooled() >= hard_max_workers(); }

  const WorkerInfo* Find(ClientId client) const;
  size_t num_idle() const { return idle_.size(); }
  size_t num_starting() const { return num_starting_; }
  size_t size() const { return workers_.size(); }
  std::vector<pid_t> Pids() const;

 private:
  absl::Status StartOne();
  std::optional<WorkerInfo> Forget(const WorkerId& id);

  WorkerLauncher& launcher_;
  size_t num_prestart_;
  size_t max_workers_;
  size_t num_starting_ = 0;
  size_t num_dedicated_ = 0;
  size_t num_blocked_ = 0;  // pooled and blocked in get/wait
  static constexpr size_t kBlockedFactor = 8;
  // Workers that serve tasks (not hosting an actor).
  size_t num_pooled() const { return workers_.size() - num_dedicated_; }
  size_t num_runnable() const { return num_pooled() - num_blocked_; }
  size_t hard_max_workers() const { return max_workers_ * kBlockedFactor; }
  absl::flat_hash_map<WorkerId, WorkerInfo, IdHash> workers_;
  absl::flat_hash_map<ClientId, WorkerId> by_client_;
  absl::flat_hash_map<pid_t, WorkerId> by_pid_;
  std::deque<ClientId> idle_;  // LIFO use keeps hot workers hot
};

}  // namespace flare

#endif  // FLARE_RAYLET_WORKER_POOL_H_
