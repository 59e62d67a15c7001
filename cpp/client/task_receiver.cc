#include "client/task_receiver.h"

#include <signal.h>

#include <algorithm>
#include <utility>

namespace flare {

void SignalCancelDelivery::InterruptRunningTask() { pthread_kill(thread_, SIGINT); }

void TaskReceiver::ReleaseArgPins(const rpc::ExecuteTask& task, TaskActions* actions) {
  for (const auto& data : task.resolved()) {
    if (data.in_store()) actions->pins_to_release.push_back(ObjectId::FromBinary(data.object_id()));
  }
  if (task.args_data().in_store()) {
    actions->pins_to_release.push_back(ObjectId::FromBinary(task.args_data().object_id()));
  }
}

void TaskReceiver::ReturnQueuedInto(TaskActions* actions) {
  rpc::Message message;
  auto* returned = message.mutable_tasks_returned();
  for (const auto& task : queue_) {
    returned->add_task_ids(task.spec().task_id());
    ReleaseArgPins(task, actions);
  }
  queue_.clear();
  actions->messages.push_back(std::move(message));
}

TaskActions TaskReceiver::OnExecuteTask(rpc::ExecuteTask task) {
  TaskActions actions;
  if (blocked_ && !actor_) {
    ReleaseArgPins(task, &actions);
    rpc::Message back;
    back.mutable_tasks_returned()->add_task_ids(task.spec().task_id());
    actions.messages.push_back(std::move(back));
    return actions;
  }
  queue_.push_back(std::move(task));
  return actions;
}

TaskActions TaskReceiver::ReturnQueuedTasks() {
  TaskActions actions;
  ReturnQueuedInto(&actions);
  return actions;
}

TaskActions TaskReceiver::OnCancel(const TaskId& task) {
  TaskActions actions;
  auto it = std::find_if(queue_.begin(), queue_.end(), [&](const rpc::ExecuteTask& queued) {
    return queued.spec().task_id() == task.Binary();
  });
  if (it != queue_.end()) {
    rpc::Message message;
    auto* done = message.mutable_task_done();
    done->set_task_id(task.Binary());
    for (uint32_t i = 1; i <= it->spec().num_returns(); ++i) {
      auto* data = done->add_returns()->mutable_data();
      data->set_object_id(ObjectIdFor(task, i).Binary());
      data->set_error(rpc::TASK_CANCELLED);
      data->set_error_message("task " + it->spec().function_name() + " was cancelled");
    }
    ReleaseArgPins(*it, &actions);
    queue_.erase(it);
    actions.messages.push_back(std::move(message));
    return actions;
  }
  if (actor_) {
    // A running actor call: the actor's loop decides (async calls are
    // cancelled, sync ones finish).
    cancelled_calls_.push_back(task);
    return actions;
  }
  if (running_ != task) return actions;  // already done
  cancel_requested_ = true;
  cancel_.InterruptRunningTask();
  return actions;
}

TaskActions TaskReceiver::SetBlocked(bool blocked) {
  TaskActions actions;
  if (actor_) return actions;
  blocked_ = blocked;
  if (blocked) ReturnQueuedInto(&actions);
  rpc::Message message;
  message.mutable_worker_blocked()->set_blocked(blocked);
  actions.messages.push_back(std::move(message));
  return actions;
}

std::optional<rpc::ExecuteTask> TaskReceiver::PopTask() {
  if (queue_.empty()) return std::nullopt;
  rpc::ExecuteTask task = std::move(queue_.front());
  queue_.pop_front();
  running_ = TaskId::FromBinary(task.spec().task_id());
  cancel_requested_ = false;
  return task;
}

void TaskReceiver::OnTaskDone() {
  running_.reset();
  cancel_requested_ = false;
}

bool TaskReceiver::TakeCancelRequest() {
  const bool requested = cancel_requested_ && running_.has_value();
  cancel_requested_ = false;
  return requested;
}

std::vector<TaskId> TaskReceiver::TakeCancelledCalls() {
  std::vector<TaskId> calls;
  calls.swap(cancelled_calls_);
  return calls;
}

}  // namespace flare
