// Cancellation and timeouts: the NodeManager methods that stop tasks. A
// queued task is dropped; a running one is interrupted, then loses its
// worker if it has not stopped after kCancelGrace (at once with force);
// timeout_s counts from when a task reaches the front of its worker's lease.
#include <signal.h>

#include <cmath>
#include <sstream>

#include "raylet/node_manager.h"

namespace flare {

void NodeManager::OnCancelTask(const rpc::CancelTask& request) {
  const TaskId root = TaskId::FromBinary(request.task_id());
  if (!tasks_.contains(root)) return;  // finished: nothing to do
  std::vector<TaskId> targets = request.recursive() ? TaskTree(root) : std::vector<TaskId>{root};
  for (const TaskId& task_id : targets) {
    auto it = tasks_.find(task_id);
    if (it == tasks_.end()) continue;
    CancelTask(task_id, request.force(), rpc::TASK_CANCELLED,
               "task " + it->second.spec.function_name() + " was cancelled");
  }
}

std::vector<TaskId> NodeManager::TaskTree(const TaskId& root) const {
  std::vector<TaskId> tree{root};
  for (size_t i = 0; i < tree.size(); ++i) {
    const std::string parent = tree[i].Binary();
    for (const auto& [task_id, record] : tasks_) {
      if (record.spec.parent_task_id() == parent) tree.push_back(task_id);
    }
  }
  return tree;
}

void NodeManager::CancelTask(const TaskId& task_id, bool force, rpc::ErrorCode code,
                             const std::string& message) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end() || it->second.cancelled) return;
  TaskRecord& record = it->second;
  record.cancelled = true;
  if (record.running && !record.spec.actor_id().empty() && !record.spec.has_actor()) {
    // An actor call sent to its actor: as in Ray, a sync actor finishes it
    // (an actor's state must not be torn mid-call), an async actor cancels
    // its coroutine, and one still queued in the worker is dropped there.
    // Either way the worker reports how it ended.
    rpc::Message cancel;
    cancel.mutable_cancel_task()->set_task_id(task_id.Binary());
    clients_.Send(record.worker, cancel);
    return;
  }
  FailTask(record, code, message);  // get raises at once, whatever the worker does
  // A generator takes no more items: the caller's next ref raises this error.
  if (record.spec.streaming()) generators_.OnFinished(task_id);
  if (!record.running) {
    scheduler_.Remove(task_id);
    FinishTask(task_id);
    return;
  }
  const ClientId worker = record.worker;
  if (force && leases_.IsRunningOn(task_id, worker) && record.worker_pid > 0) {
    node_io_.processes->Kill(record.worker_pid, SIGKILL);
    return;
  }
  // The worker drops it if still queued there, else interrupts it.
  rpc::Message cancel;
  cancel.mutable_cancel_task()->set_task_id(task_id.Binary());
  clients_.Send(worker, cancel);
  After(kCancelGrace, [this, task_id, worker] {
    auto it = tasks_.find(task_id);
    if (it == tasks_.end() || !leases_.IsRunningOn(task_id, worker) || it->second.worker_pid <= 0) return;
    LogToDriver(it->second, "task " + it->second.spec.function_name() +
                                " did not stop when cancelled; killing its worker (pid " +
                                std::to_string(it->second.worker_pid) + ")");
    node_io_.processes->Kill(it->second.worker_pid, SIGKILL);
  });
}

void NodeManager::StartTimeoutClock(ClientId worker) {
  const std::optional<TaskId> running = leases_.Running(worker);
  if (!running) return;
  const TaskId task_id = *running;
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return;
  TaskRecord& record = it->second;
  if (record.clock_started || record.spec.timeout_s() <= 0) return;
  record.clock_started = true;
  const auto delay = std::chrono::milliseconds(
      static_cast<int64_t>(std::ceil(record.spec.timeout_s() * 1000.0)));
  const uint32_t attempt = record.spec.attempt();
  After(delay, [this, task_id, attempt] { OnTaskTimeout(task_id, attempt); });
}

void NodeManager::OnTaskTimeout(const TaskId& task_id, uint32_t attempt) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return;
  TaskRecord& record = it->second;
  if (record.spec.attempt() != attempt || record.cancelled ||
      !leases_.IsRunningOn(task_id, record.worker)) {
    return;
  }
  std::ostringstream limit;
  limit << record.spec.timeout_s();
  const std::string what = "task " + record.spec.function_name() + " timed out after " +
                           limit.str() + " s (timeout_s)";
  if (record.spec.retry_on_timeout() && record.retries_left != 0 && record.worker_pid > 0) {
    // Its worker goes; OnWorkerLost runs it again.
    record.timed_out = true;
    node_io_.processes->Kill(record.worker_pid, SIGKILL);
    return;
  }
  CancelTask(task_id, false, rpc::TASK_TIMEOUT, what);
}

}  // namespace flare
