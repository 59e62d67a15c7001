#include "client/core_client.h"

#include <pthread.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <utility>

#include "client/channel.h"

namespace flare {

absl::StatusOr<std::unique_ptr<CoreClient>> CoreClient::Connect(const ClientOptions& options) {
  auto channel = Channel::Connect(options.socket_path, options.connect_timeout_ms);
  if (!channel.ok()) return channel.status();
  rpc::Message request;
  auto* reg = request.mutable_register_client();
  reg->set_kind(options.kind);
  reg->set_pid(getpid());
  reg->set_worker_id(options.worker_id.Binary());
  reg->set_log_to_driver(options.log_to_driver);
  reg->set_job_config(options.job_config);
  reg->set_namespace_(options.job_namespace);
  int fd = -1;
  auto reply = (*channel)->Handshake(request, &fd, options.connect_timeout_ms);
  if (!reply.ok()) return reply.status();
  const auto& body = reply->register_reply();
  if (!body.error().empty()) {
    if (fd >= 0) close(fd);
    return absl::FailedPreconditionError("the raylet refused to register this process: " + body.error());
  }
  if (fd < 0) return absl::InternalError("the raylet did not send the object store's memory");
  auto arena = Arena::Map(fd, body.arena_size());
  if (!arena.ok()) return arena.status();
  auto signal_wakeup = SignalWakeup::Create();
  if (!signal_wakeup.ok()) return signal_wakeup.status();
  std::unique_ptr<CoreClient> client(new CoreClient(
      options, std::move(*channel), std::shared_ptr<Arena>(std::move(*arena)),
      std::move(*signal_wakeup), body));
  CoreClient* raw = client.get();
  client->connection_.WatchFd(client->signal_wakeup_->read_fd(), [raw] { raw->OnSignal(); });
  client->connection_.Start(*client);
  return client;
}

CoreClient::CoreClient(const ClientOptions& options, std::shared_ptr<Channel> channel,
                       std::shared_ptr<Arena> arena, std::unique_ptr<SignalWakeup> signal_wakeup,
                       const rpc::RegisterReply& registered)
    : kind_(options.kind),
      job_id_(JobId::FromBinary(registered.job_id())),
      session_dir_(registered.session_dir()),
      local_owner_(std::make_shared<const OwnerAddress>(
          OwnerAddress{NodeId::FromBinary(registered.node_id()), /*raylet_address=*/""})),
      signal_wakeup_(std::move(signal_wakeup)),
      waiter_(options.waiter, clock_),
      connection_(std::move(channel), waiter_),
      objects_(connection_, waiter_, std::move(arena), local_owner_, *this),
      // Connect runs on the thread that runs tasks (the worker's main thread).
      cancel_delivery_(pthread_self()),
      tasks_(cancel_delivery_) {
  std::random_device random;
  for (auto& b : id_prefix_) b = static_cast<uint8_t>(random());
}

CoreClient::~CoreClient() { connection_.Stop(); }

TaskId CoreClient::NewTaskId() {
  TaskId id;
  std::memcpy(id.MutableData(), job_id_.Data(), JobId::kSize);
  std::memcpy(id.MutableData() + JobId::kSize, id_prefix_.data(), id_prefix_.size());
  const uint32_t counter = next_task_counter_.fetch_add(1);
  std::memcpy(id.MutableData() + JobId::kSize + id_prefix_.size(), &counter, sizeof(counter));
  return id;
}

ObjectId CoreClient::NewPutId() { return ObjectIdFor(NewTaskId(), kPutIndexBit | 1); }

void CoreClient::AddRef(const ObjectId& id, OwnerAddress owner) {
  if (owner == *local_owner_) {
    objects_.AddRef(id);
    return;
  }
  objects_.AddRef(id, std::make_shared<const OwnerAddress>(std::move(owner)));
}

// ---- from the raylet (I/O thread) -------------------------------------------

void CoreClient::OnMessage(rpc::Message& message) {
  switch (message.body_case()) {
    case rpc::Message::kObjectReady:
      objects_.OnObjectReady(message.object_ready());
      return;
    case rpc::Message::kReleaseCachedPins:
      objects_.DropUnreadValues();
      return;
    case rpc::Message::kExecuteTask: {
      TaskActions actions;
      {
        std::lock_guard<std::mutex> lock(waiter_.mutex());
        actions = tasks_.OnExecuteTask(std::move(*message.mutable_execute_task()));
      }
      Perform(std::move(actions));
      return;
    }
    case rpc::Message::kReturnTasks: {
      TaskActions actions;
      {
        std::lock_guard<std::mutex> lock(waiter_.mutex());
        actions = tasks_.ReturnQueuedTasks();
      }
      Perform(std::move(actions));
      return;
    }
    case rpc::Message::kCancelTask: {
      TaskActions actions;
      {
        std::lock_guard<std::mutex> lock(waiter_.mutex());
        actions = tasks_.OnCancel(TaskId::FromBinary(message.cancel_task().task_id()));
      }
      Perform(std::move(actions));
      return;
    }
    case rpc::Message::kLogLines: {
      std::lock_guard<std::mutex> lock(waiter_.mutex());
      logs_.push_back(std::move(*message.mutable_log_lines()));
      waiter_.NotifyQuiet();
      return;
    }
    default:
      return;
  }
}

void CoreClient::Perform(TaskActions actions) {
  for (const ObjectId& id : actions.pins_to_release) connection_.DeferPinRelease(id);
  for (const rpc::Message& message : actions.messages) (void)connection_.Send(message);
}

void CoreClient::SetBlocked(bool blocked) {
  if (kind_ != rpc::WORKER) return;
  TaskActions actions;
  {
    std::lock_guard<std::mutex> lock(waiter_.mutex());
    actions = tasks_.SetBlocked(blocked);
  }
  Perform(std::move(actions));
}

// ---- tasks -----------------------------------------------------------------

absl::Status CoreClient::SubmitTask(rpc::TaskSpec spec) {
  objects_.ExpectReturns(TaskId::FromBinary(spec.task_id()), spec.num_returns());
  rpc::Message message;
  *message.mutable_submit_task()->mutable_spec() = std::move(spec);
  return connection_.SendDeferred(message);
}

absl::Status CoreClient::Cancel(const TaskId& task, bool force, bool recursive) {
  rpc::Message message;
  auto* cancel = message.mutable_cancel_task();
  cancel->set_task_id(task.Binary());
  cancel->set_force(force);
  cancel->set_recursive(recursive);
  return connection_.Send(message);
}

void CoreClient::BecomeActor() {
  std::lock_guard<std::mutex> lock(waiter_.mutex());
  tasks_.BecomeActor();
}

absl::StatusOr<std::optional<rpc::ExecuteTask>> CoreClient::NextTask(
    int64_t timeout_ms, const InterruptCheck& interrupted) {
  std::unique_lock<std::mutex> lock(waiter_.mutex());
  absl::Status status =
      waiter_.Wait(lock, timeout_ms, interrupted, [&] { return tasks_.HasWork(); });
  if (std::optional<rpc::ExecuteTask> task = tasks_.PopTask()) return task;
  // Timed out, or woken for a cancelled actor call (TakeCancelledCalls).
  if (status.ok() || absl::IsDeadlineExceeded(status)) return std::optional<rpc::ExecuteTask>();
  return status;
}

absl::Status CoreClient::TaskDone(rpc::TaskDone done) {
  {
    std::lock_guard<std::mutex> lock(waiter_.mutex());
    tasks_.OnTaskDone();
  }
  rpc::Message message;
  *message.mutable_task_done() = std::move(done);
  return connection_.Send(message);
}

bool CoreClient::TakeCancelRequest() {
  std::lock_guard<std::mutex> lock(waiter_.mutex());
  return tasks_.TakeCancelRequest();
}

std::vector<TaskId> CoreClient::TakeCancelledCalls() {
  std::lock_guard<std::mutex> lock(waiter_.mutex());
  return tasks_.TakeCancelledCalls();
}

absl::Status CoreClient::GeneratorYield(const TaskId& task, std::vector<rpc::ReturnObject> items) {
  rpc::Message message;
  auto* yield = message.mutable_generator_yield();
  yield->set_task_id(task.Binary());
  for (auto& item : items) *yield->add_items() = std::move(item);
  return connection_.Send(message);
}

void CoreClient::ReleaseGenerator(const TaskId& task, uint32_t taken) {
  rpc::Message message;
  message.mutable_release_generator()->set_task_id(task.Binary());
  message.mutable_release_generator()->set_taken(taken);
  (void)connection_.Send(message);  // a dead raylet frees everything anyway
}

absl::Status CoreClient::WorkerExiting(const std::string& reason) {
  rpc::Message message;
  message.mutable_worker_exiting()->set_reason(reason);
  return connection_.Send(message);
}

// ---- logs ------------------------------------------------------------------

absl::Status CoreClient::SendLogLines(const JobId& job, const std::string& prefix, bool is_stderr,
                                      std::vector<std::string> lines) {
  rpc::Message message;
  auto* logs = message.mutable_log_lines();
  logs->set_job_id(job.Binary());
  logs->set_prefix(prefix);
  logs->set_is_stderr(is_stderr);
  for (auto& line : lines) logs->add_lines(std::move(line));
  return connection_.Send(message);
}

absl::StatusOr<std::vector<rpc::LogLines>> CoreClient::NextLogs(int64_t timeout_ms) {
  std::unique_lock<std::mutex> lock(waiter_.mutex());
  absl::Status status =
      waiter_.WaitQuietly(lock, timeout_ms, [&] { return !logs_.empty() || logs_stopped_; });
  if (logs_.empty() && absl::IsUnavailable(status)) return status;
  std::vector<rpc::LogLines> out(std::make_move_iterator(logs_.begin()),
                                 std::make_move_iterator(logs_.end()));
  logs_.clear();
  return out;
}

void CoreClient::StopLogs() {
  {
    std::lock_guard<std::mutex> lock(waiter_.mutex());
    logs_stopped_ = true;
  }
  waiter_.NotifyQuiet();
}

// ---- signals -----------------------------------------------------------------

void CoreClient::OnSignal() {
  std::string bytes = signal_wakeup_->Drain();
  {
    std::lock_guard<std::mutex> lock(waiter_.mutex());
    // Kept for TakeSignals, bounded: a storm of signals must not grow it.
    if (signals_.size() < 256) signals_.append(bytes, 0, 256 - signals_.size());
  }
  waiter_.Interrupt();
}

std::string CoreClient::TakeSignals() {
  std::lock_guard<std::mutex> lock(waiter_.mutex());
  std::string out;
  out.swap(signals_);
  return out;
}

}  // namespace flare
