// TaskReceiver: a worker's queue of the tasks its raylet sent it, and what
// becomes of them — run, handed back, or cancelled.
//
// It decides and does no I/O: each event returns the TaskActions the caller
// carries out (pin releases, then messages to the raylet, in order). The
// one effect it causes itself is interrupting a running task the raylet
// cancelled, through the injected CancelDelivery.
//
// Rules:
// - A task arriving while the running task waits in get/wait is handed back
//   at once: it could be what that task waits for, and another worker can
//   run it. Blocking hands back every queued task for the same reason.
//   An actor's calls cannot run elsewhere, so an actor keeps them.
// - A cancelled task still in the queue is answered here with
//   TASK_CANCELLED returns. A cancelled running actor call is reported to
//   the actor's loop (TakeCancelledCalls); a cancelled running task is
//   interrupted (CancelDelivery) and TakeCancelRequest says so once.
// - The raylet pinned a task's in-store arguments for this worker when it
//   sent the task; a task that will not run here releases them.
//
// Thread-compatible: the CoreClient calls it under its lock.
#ifndef FLARE_CLIENT_TASK_RECEIVER_H_
#define FLARE_CLIENT_TASK_RECEIVER_H_

#include <pthread.h>

#include <cstddef>
#include <deque>
#include <optional>
#include <vector>

#include "common/ids.h"
#include "flare.pb.h"

namespace flare {

// Interrupts the task this worker is running, once the raylet cancelled it.
class CancelDelivery {
 public:
  virtual ~CancelDelivery() = default;
  // Called with the client's lock held: must not block or take that lock.
  virtual void InterruptRunningTask() = 0;
};

// Delivers a cancel as SIGINT to one thread (the worker's main thread, which
// runs tasks), so that a Python handler raises in the task even while it
// sleeps or blocks in get.
class SignalCancelDelivery : public CancelDelivery {
 public:
  explicit SignalCancelDelivery(pthread_t thread) : thread_(thread) {}
  void InterruptRunningTask() override;

 private:
  pthread_t thread_;
};

// What the caller of a TaskReceiver event must do: release the pins of
// `pins_to_release`, then send `messages` in order.
struct TaskActions {
  std::vector<ObjectId> pins_to_release;
  std::vector<rpc::Message> messages;
};

class TaskReceiver {
 public:
  // `cancel` is borrowed and must outlive the receiver.
  explicit TaskReceiver(CancelDelivery& cancel) : cancel_(cancel) {}

  // The raylet sent `task`: queued, or handed back (see the rules above).
  TaskActions OnExecuteTask(rpc::ExecuteTask task);
  // The raylet asked for every task not started yet (answered even when
  // there is none).
  TaskActions ReturnQueuedTasks();
  // The raylet cancelled `task`.
  TaskActions OnCancel(const TaskId& task);
  // The running task starts (true) or stops waiting in get/wait: the raylet
  // lends its CPU meanwhile. Nothing for an actor (its calls hold no task CPU).
  TaskActions SetBlocked(bool blocked);
  // This worker now hosts an actor for good.
  void BecomeActor() { actor_ = true; }

  // Whether NextTask has something to return: a queued task, or cancelled
  // actor calls to report.
  bool HasWork() const { return !queue_.empty() || !cancelled_calls_.empty(); }
  // Takes the next queued task; it is the running one until OnTaskDone.
  std::optional<rpc::ExecuteTask> PopTask();
  // The running task finished.
  void OnTaskDone();
  // True once after the running task was cancelled.
  bool TakeCancelRequest();
  // Actor: running calls cancelled since the last call.
  std::vector<TaskId> TakeCancelledCalls();

  size_t num_queued() const { return queue_.size(); }
  bool blocked() const { return blocked_; }

 private:
  // Adds the pins the raylet holds for `task`'s in-store arguments.
  static void ReleaseArgPins(const rpc::ExecuteTask& task, TaskActions* actions);
  // Hands every queued task back into one TasksReturned message.
  void ReturnQueuedInto(TaskActions* actions);

  CancelDelivery& cancel_;
  std::deque<rpc::ExecuteTask> queue_;
  std::optional<TaskId> running_;  // popped, until OnTaskDone
  bool cancel_requested_ = false;
  bool blocked_ = false;  // the running task waits in get/wait
  bool actor_ = false;
  std::vector<TaskId> cancelled_calls_;  // actor: running calls asked to stop
};

}  // namespace flare

#endif  // FLARE_CLIENT_TASK_RECEIVER_H_
