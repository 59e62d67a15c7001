// TaskManager, continued: cancelling tasks (and the tasks they submitted)
// and their timeout_s clocks. See task_manager.h for the contract.
#include <signal.h>

#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "raylet/task_manager.h"

namespace flare {

void TaskManager::OnCancel(const ClientInfo& sender, const rpc::CancelTask& request) {
  const TaskId root = TaskId::FromBinary(request.task_id());
  auto it = tasks_.find(root);
  if (it == tasks_.end()) return;  // finished: nothing to do
  if (sender.kind == rpc::PEER && !(it->second.owner_is_peer && it->second.owner == sender.id)) {
    // Another node cancels only what it placed here (and, recursively, what
    // that submitted); the tasks of this node's clients and of other nodes
    // are not its to stop.
    std::cerr << "flare-raylet: ignoring node " << sender.node_id.Hex() << "'s cancel of task "
              << root.Hex() << ", which that node did not submit here\n";
    return;
  }
  std::vector<TaskId> targets = request.recursive() ? TaskTree(root) : std::vector<TaskId>{root};
  for (const TaskId& task_id : targets) {
    auto it = tasks_.find(task_id);
    if (it == tasks_.end()) continue;
    Cancel(task_id, request.force(), rpc::TASK_CANCELLED,
           "task " + it->second.spec.function_name() + " was cancelled");
  }
}

void TaskManager::OnDriverGone(ClientId driver) {
  // The departed driver's tasks, and the tasks they started, are cancelled;
  // their returns, held by nobody else, are freed.
  std::vector<TaskId> owned;
  for (const auto& [task_id, record] : tasks_) {
    if (record.owner == driver) owned.push_back(task_id);
  }
  for (const TaskId& root : owned) {
    if (!tasks_.contains(root)) continue;
    for (const TaskId& task_id : TaskTree(root)) {
      Cancel(task_id, false, rpc::TASK_CANCELLED, "the driver that submitted it exited");
    }
  }
}

void TaskManager::EndTasksInGroup(const PlacementGroupId& group_id, const std::string& reason) {
  std::vector<TaskId> tasks;
  for (const auto& [task_id, record] : tasks_) {
    // An actor's creation is the actor manager's, unless it waited for the
    // group before the actor manager heard of it.
    if ((!record.is_actor_creation() || parked_creations_.contains(task_id)) &&
        groups_.GroupOf(record.demand) == group_id) {
      tasks.push_back(task_id);
    }
  }
  for (const TaskId& task_id : tasks) {
    auto task = tasks_.find(task_id);
    if (task == tasks_.end()) continue;
    if (auto creation = parked_creations_.extract(task_id)) {
      actors_.OnCreationSubmitted(ActorIdOf(task_id), creation.mapped(), task->second.spec);
      Fail(task_id, rpc::ACTOR_DIED, "the actor could not be created: " + reason);
      continue;
    }
    const std::string message =
        "task " + task->second.spec.function_name() + " was cancelled: " + reason;
    if (groups_.IsWaiting(group_id, task_id)) {  // never queued in the scheduler
      Fail(task_id, rpc::TASK_CANCELLED, message);
    } else {
      Cancel(task_id, /*force=*/true, rpc::TASK_CANCELLED, message);
    }
  }
}

std::vector<TaskId> TaskManager::TaskTree(const TaskId& root) const {
  std::vector<TaskId> tree{root};
  for (size_t i = 0; i < tree.size(); ++i) {
    const std::string parent = tree[i].Binary();
    for (const auto& [task_id, record] : tasks_) {
      if (record.spec.parent_task_id() == parent) tree.push_back(task_id);
    }
  }
  return tree;
}

void TaskManager::Cancel(const TaskId& task_id, bool force, rpc::ErrorCode code,
                         const std::string& message) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end() || it->second.cancelled) return;
  TaskRecord& record = it->second;
  record.cancelled = true;
  rpc::Message cancel;
  cancel.mutable_cancel_task()->set_task_id(task_id.Binary());
  if (record.running && record.is_actor_call()) {
    // An actor call sent to its actor: as in Ray, a sync actor finishes it
    // (an actor's state must not be torn mid-call), an async actor cancels
    // its coroutine, and one still queued in the worker is dropped there.
    // Either way the worker reports how it ended.
    clients_.Send(record.worker, cancel);
    return;
  }
  FailReturns(record, code, message);  // get raises at once, whatever the worker does
  // A generator takes no more items: the caller's next ref raises this error.
  if (record.spec.streaming()) generators_.OnFinished(task_id);
  if (!record.remote.IsNil()) {
    remote_.Cancel(task_id, force);  // its node stops it; we stop waiting now
    Finish(task_id);
    return;
  }
  if (!record.running) {
    scheduler_.Remove(task_id);
    Finish(task_id);
    return;
  }
  const ClientId worker = record.worker;
  if (force && leases_.IsRunningOn(task_id, worker) && record.worker_pid > 0) {
    processes_.Kill(record.worker_pid, SIGKILL);
    return;
  }
  // The worker drops it if still queued there, else interrupts it.
  clients_.Send(worker, cancel);
  timers_.After(kCancelGrace, [this, task_id, worker] {
    auto it = tasks_.find(task_id);
    if (it == tasks_.end() || !leases_.IsRunningOn(task_id, worker) || it->second.worker_pid <= 0) {
      return;
    }
    LogToJob(clients_, it->second.spec.job_id(),
             "task " + it->second.spec.function_name() +
                 " did not stop when cancelled; killing its worker (pid " +
                 std::to_string(it->second.worker_pid) + ")");
    processes_.Kill(it->second.worker_pid, SIGKILL);
  });
}

void TaskManager::StartTimeoutClock(ClientId worker) {
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
  timers_.After(delay, [this, task_id, attempt] { OnTimeout(task_id, attempt); });
}

void TaskManager::OnTimeout(const TaskId& task_id, uint32_t attempt) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return;
  TaskRecord& record = it->second;
  if (record.spec.attempt() != attempt || record.cancelled ||
      !leases_.IsRunningOn(task_id, record.worker)) {
    return;
  }
  if (record.spec.retry_on_timeout() && MayRetry(task_id, record) && record.worker_pid > 0) {
    // Its worker goes; OnWorkerLost runs it again.
    record.timed_out = true;
    processes_.Kill(record.worker_pid, SIGKILL);
    return;
  }
  std::ostringstream limit;
  limit << record.spec.timeout_s();
  Cancel(task_id, false, rpc::TASK_TIMEOUT,
         "task " + record.spec.function_name() + " timed out after " + limit.str() +
             " s (timeout_s)");
}

}  // namespace flare
