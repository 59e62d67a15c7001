#include "client/core_client.h"

#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <thread>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>

#include "client/channel.h"

namespace flare {

namespace {

using Clock = std::chrono::steady_clock;

// How long a create waits for a full arena to make room before failing.
constexpr auto kCreateRetryFor = std::chrono::milliseconds(1000);

// How often a blocked caller wakes to run its interruption check.
constexpr auto kInterruptSlice = std::chrono::milliseconds(50);

absl::Status Dead(const std::string& reason) {
  return absl::UnavailableError("lost the connection to the flare raylet (" + reason +
                                "); the node is down, so this call cannot be served. Call "
                                "flare.shutdown() and flare.init() to start a new one.");
}

}  // namespace

Pin::~Pin() {
  if (auto channel = channel_.lock()) channel->DeferPinRelease(id_);
}

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
  std::unique_ptr<CoreClient> client(
      new CoreClient(std::move(*channel), std::shared_ptr<Arena>(std::move(*arena))));
  client->kind_ = options.kind;
  client->node_id_ = NodeId::FromBinary(body.node_id());
  client->job_id_ = JobId::FromBinary(body.job_id());
  client->session_dir_ = body.session_dir();
  client->io_thread_ = std::thread([c = client.get()] { c->IoLoop(); });
  return client;
}

CoreClient::CoreClient(std::shared_ptr<Channel> channel, std::shared_ptr<Arena> arena)
    : channel_(std::move(channel)), arena_(std::move(arena)), main_thread_(pthread_self()) {
  std::random_device random;
  for (auto& b : id_prefix_) b = static_cast<uint8_t>(random());
}

CoreClient::~CoreClient() {
  channel_->FlushDeferred();
  channel_->Shutdown();
  if (io_thread_.joinable()) io_thread_.join();
}

bool CoreClient::alive() const { return !channel_->closed(); }

TaskId CoreClient::NewTaskId() {
  TaskId id;
  std::memcpy(id.MutableData(), job_id_.Data(), JobId::kSize);
  std::memcpy(id.MutableData() + JobId::kSize, id_prefix_.data(), id_prefix_.size());
  const uint32_t counter = next_task_counter_.fetch_add(1);
  std::memcpy(id.MutableData() + JobId::kSize + id_prefix_.size(), &counter, sizeof(counter));
  return id;
}

ObjectId CoreClient::NewPutId() { return ObjectIdFor(NewTaskId(), kPutIndexBit | 1); }

// ---- I/O thread ------------------------------------------------------------

void CoreClient::IoLoop() {
  std::vector<rpc::Message> messages;
  std::string error;
  while (channel_->Poll(&messages, &error)) {
    for (auto& message : messages) Dispatch(message);
    messages.clear();
    io_batches_.fetch_add(1, std::memory_order_release);
    // One wake-up per batch of messages, not one per message.
    cv_.notify_all();
  }
  for (auto& message : messages) Dispatch(message);
  MarkDead(error);
}

void CoreClient::MarkDead(const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  death_reason_ = reason;
  cv_.notify_all();
}

std::string CoreClient::death_reason() const {
  std::lock_guard<std::mutex> lock(mu_);
  return death_reason_;
}

void CoreClient::Dispatch(rpc::Message& message) {
  switch (message.body_case()) {
    case rpc::Message::kObjectReady:
      OnObjectReady(message.object_ready());
      return;
    case rpc::Message::kExecuteTask: {
      std::unique_lock<std::mutex> lock(mu_);
      if (blocked_ && !actor_) {
        // Blocked in get/wait: this task could be what we wait for. Hand it
        // back so another worker runs it.
        lock.unlock();
        ReleaseArgPins(message.execute_task());
        rpc::Message back;
        back.mutable_tasks_returned()->add_task_ids(message.execute_task().spec().task_id());
        (void)Send(back);
        return;
      }
      tasks_.push_back(std::move(*message.mutable_execute_task()));
      return;
    }
    case rpc::Message::kReturnTasks:
      ReturnQueuedTasks();
      return;
    case rpc::Message::kReleaseCachedPins:
      DropUnreadValues();
      return;
    case rpc::Message::kCancelTask: {
      const TaskId task = TaskId::FromBinary(message.cancel_task().task_id());
      if (CancelQueuedTask(task)) return;
      std::lock_guard<std::mutex> lock(mu_);
      if (actor_) {
        // A running actor call: the actor's loop decides (async calls are
        // cancelled, sync ones finish).
        cancelled_calls_.push_back(task);
        cv_.notify_all();
        return;
      }
      if (running_task_ != task) return;  // already done
      cancel_requested_ = true;
      pthread_kill(main_thread_, SIGINT);
      return;
    }
    case rpc::Message::kLogLines: {
      std::lock_guard<std::mutex> lock(mu_);
      logs_.push_back(std::move(*message.mutable_log_lines()));
      return;
    }
    default: {
      uint64_t request_id = 0;
      switch (message.body_case()) {
        case rpc::Message::kCreateReply: request_id = message.create_reply().request_id(); break;
        case rpc::Message::kKvReply: request_id = message.kv_reply().request_id(); break;
        case rpc::Message::kClusterInfoReply: request_id = message.cluster_info_reply().request_id(); break;
        case rpc::Message::kStoreStatsReply: request_id = message.store_stats_reply().request_id(); break;
        case rpc::Message::kPlacementGroupTableReply:
          request_id = message.placement_group_table_reply().request_id();
          break;
        case rpc::Message::kPong: request_id = message.pong().request_id(); break;
        case rpc::Message::kRegisterActorNameReply:
          request_id = message.register_actor_name_reply().request_id();
          break;
        case rpc::Message::kLookupActorReply:
          request_id = message.lookup_actor_reply().request_id();
          break;
        case rpc::Message::kListNamedActorsReply:
          request_id = message.list_named_actors_reply().request_id();
          break;
        case rpc::Message::kRegisterPlacementGroupReply:
          request_id = message.register_placement_group_reply().request_id();
          break;
        case rpc::Message::kJobInfoReply:
          request_id = message.job_info_reply().request_id();
          break;
        default: return;
      }
      std::lock_guard<std::mutex> lock(mu_);
      auto it = replies_.find(request_id);
      if (it == replies_.end()) return;  // the caller gave up
      it->second = std::move(message);
    }
  }
}

ObjectValue CoreClient::MakeValue(const rpc::ObjectData& data) {
  ObjectValue value;
  value.id = ObjectId::FromBinary(data.object_id());
  value.error = data.error();
  value.error_message = data.error_message();
  if (data.in_store()) {
    value.pin = std::make_shared<Pin>(channel_, arena_, value.id);
    value.data = arena_->base() + data.offset();
    value.size = data.size();
  } else {
    auto bytes = std::make_shared<const std::string>(data.inline_data());
    value.data = reinterpret_cast<const uint8_t*>(bytes->data());
    value.size = bytes->size();
    value.inline_data = std::move(bytes);
  }
  return value;
}

void CoreClient::OnObjectReady(const rpc::ObjectData& data) {
  ObjectValue value = MakeValue(data);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(value.id);
  // Nobody here refers to it any more: dropping the value releases the pin.
  if (it == objects_.end()) return;
  it->second.value = std::move(value);
  it->second.ready = true;
  it->second.handed_out = false;
}

// ---- sending ---------------------------------------------------------------

absl::Status CoreClient::Send(const rpc::Message& message) {
  absl::Status status = channel_->Send(message);
  if (!status.ok()) return Dead(death_reason().empty() ? std::string(status.message()) : death_reason());
  return status;
}

absl::StatusOr<rpc::Message> CoreClient::Call(rpc::Message request, uint64_t request_id, int timeout_ms) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    replies_[request_id];
  }
  absl::Status sent = Send(request);
  std::unique_lock<std::mutex> lock(mu_);
  if (!sent.ok()) {
    replies_.erase(request_id);
    return sent;
  }
  absl::Status waited = WaitLocked(lock, timeout_ms, nullptr, [&] {
    return replies_[request_id].has_value();
  });
  std::optional<rpc::Message> reply = std::move(replies_[request_id]);
  replies_.erase(request_id);
  if (reply) return std::move(*reply);
  if (!waited.ok()) return waited;
  return absl::InternalError("no reply");
}

std::chrono::microseconds CoreClient::SpinFromEnv() {
  constexpr int64_t kDefaultSpinUs = 200;
  const char* value = std::getenv("FLARE_SPIN_US");
  if (value == nullptr || *value == '\0') return std::chrono::microseconds(kDefaultSpinUs);
  char* end = nullptr;
  const long long us = std::strtoll(value, &end, 10);
  if (*end != '\0' || us < 0) return std::chrono::microseconds(kDefaultSpinUs);
  return std::chrono::microseconds(std::min<long long>(us, 100000));
}

void CoreClient::SpinFor(std::unique_lock<std::mutex>& lock, Clock::time_point deadline,
                         const std::function<bool()>& done) {
  // A round trip through the raylet takes about a hundred microseconds.
  // Sleeping on the condition variable for it costs a futex wake-up, and on
  // a VM an idle vCPU's halt and wake, each way; polling the I/O thread's
  // batch counter for a short while (yielding the CPU to whoever else is
  // runnable) answers most short waits without sleeping.
  if (spin_.count() <= 0) return;
  auto end = Clock::now() + spin_;
  if (deadline < end) end = deadline;
  uint64_t seen = io_batches_.load(std::memory_order_acquire);
  lock.unlock();
  while (Clock::now() < end) {
    const uint64_t now = io_batches_.load(std::memory_order_acquire);
    if (now != seen) {
      seen = now;
      lock.lock();
      if (done()) return;
      lock.unlock();
    }
    sched_yield();
  }
  lock.lock();
}

absl::Status CoreClient::WaitLocked(std::unique_lock<std::mutex>& lock, int64_t timeout_ms,
                                    const InterruptCheck& interrupted,
                                    const std::function<bool()>& done) {
  const auto deadline = timeout_ms < 0 ? Clock::time_point::max()
                                       : Clock::now() + std::chrono::milliseconds(timeout_ms);
  if (!done()) SpinFor(lock, deadline, done);
  while (!done()) {
    if (!death_reason_.empty()) return Dead(death_reason_);
    const auto now = Clock::now();
    if (now >= deadline) return absl::DeadlineExceededError("timed out");
    auto wake = now + kInterruptSlice;
    if (deadline < wake) wake = deadline;
    cv_.wait_until(lock, wake);
    if (interrupted && !done()) {
      lock.unlock();
      const bool stop = interrupted();
      lock.lock();
      if (stop) return absl::CancelledError("interrupted");
    }
  }
  return absl::OkStatus();
}

absl::Status CoreClient::SubmitTask(rpc::TaskSpec spec) {
  const TaskId task_id = TaskId::FromBinary(spec.task_id());
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (uint32_t i = 1; i <= spec.num_returns(); ++i) {
      LocalObject& local = objects_[ObjectIdFor(task_id, i)];
      local.refs++;
      local.subscribed = true;  // the raylet pushes results to their caller
    }
  }
  rpc::Message message;
  *message.mutable_submit_task()->mutable_spec() = std::move(spec);
  absl::Status status = channel_->SendDeferred(message);
  if (!status.ok()) return Dead(death_reason().empty() ? std::string(status.message()) : death_reason());
  return status;
}

absl::Status CoreClient::Cancel(const TaskId& task, bool force, bool recursive) {
  rpc::Message message;
  auto* cancel = message.mutable_cancel_task();
  cancel->set_task_id(task.Binary());
  cancel->set_force(force);
  cancel->set_recursive(recursive);
  return Send(message);
}

absl::Status CoreClient::PutInline(const ObjectId& id, std::string data,
                                   const std::vector<ObjectId>& contained) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    objects_[id].refs++;
  }
  rpc::Message message;
  auto* put = message.mutable_put_inline();
  put->mutable_data()->set_object_id(id.Data(), ObjectId::kSize);
  put->mutable_data()->set_inline_data(std::move(data));
  for (const auto& inner : contained) put->add_contained_refs(inner.Data(), ObjectId::kSize);
  return Send(message);
}

absl::StatusOr<uint8_t*> CoreClient::Create(const ObjectId& id, uint64_t size, int timeout_ms) {
  const uint64_t request_id = NextRequestId();
  rpc::Message message;
  auto* create = message.mutable_create_object();
  create->set_request_id(request_id);
  create->set_object_id(id.Data(), ObjectId::kSize);
  create->set_size(size);
  auto reply = Call(message, request_id, timeout_ms);
  // A full arena may free up: the raylet spills what no client has mapped,
  // and asks clients to unpin what they only cache. Retry for a while.
  auto pause = std::chrono::milliseconds(5);
  const auto give_up = std::chrono::steady_clock::now() + kCreateRetryFor;
  while (reply.ok() && reply->create_reply().error() != rpc::ERROR_NONE &&
         size <= arena_->size() && std::chrono::steady_clock::now() + pause < give_up) {
    channel_->FlushDeferred();  // our own pin releases first
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(100));
    const uint64_t retry_id = NextRequestId();
    message.mutable_create_object()->set_request_id(retry_id);
    reply = Call(message, retry_id, timeout_ms);
  }
  if (!reply.ok()) return reply.status();
  const auto& body = reply->create_reply();
  if (body.error() != rpc::ERROR_NONE) return absl::ResourceExhaustedError(body.error_message());
  if (size > arena_->size() || body.offset() > arena_->size() - size) {
    return absl::InternalError("the raylet returned a span outside the arena");
  }
  return arena_->base() + body.offset();
}

absl::Status CoreClient::Seal(const ObjectId& id, const std::vector<ObjectId>& contained) {
  rpc::Message message;
  auto* seal = message.mutable_seal_object();
  seal->set_object_id(id.Data(), ObjectId::kSize);
  for (const auto& inner : contained) seal->add_contained_refs(inner.Data(), ObjectId::kSize);
  {
    // A put's creator holds its first reference (see ObjectTable::Create).
    std::lock_guard<std::mutex> lock(mu_);
    if ((reinterpret_cast<const uint8_t*>(id.Data())[TaskId::kSize + 3] & 0x80) != 0) {
      objects_[id].refs++;
    }
  }
  return Send(message);
}

void CoreClient::Abort(const ObjectId& id) {
  rpc::Message message;
  message.mutable_abort_object()->set_object_id(id.Data(), ObjectId::kSize);
  (void)Send(message);
}

// ---- reading objects -------------------------------------------------------

void CoreClient::SubscribeLocked(const std::vector<ObjectId>& ids, rpc::Message* subscribe,
                                 bool for_value) {
  for (const ObjectId& id : ids) {
    LocalObject& local = objects_[id];
    // Known to exist is enough for wait; get needs the value itself.
    if (local.subscribed || (local.ready && !for_value)) continue;
    local.subscribed = true;
    subscribe->mutable_subscribe()->add_object_ids(id.Data(), ObjectId::kSize);
  }
}

void CoreClient::SetBlocked(bool blocked) {
  if (kind_ != rpc::WORKER) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (actor_) return;  // its calls cannot go elsewhere; it holds no task CPU
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    blocked_ = blocked;
  }
  // Tasks queued here could be the very ones this get waits for.
  if (blocked) ReturnQueuedTasks();
  rpc::Message message;
  message.mutable_worker_blocked()->set_blocked(blocked);
  (void)Send(message);
}

void CoreClient::ReturnQueuedTasks() {
  rpc::Message message;
  auto* returned = message.mutable_tasks_returned();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& task : tasks_) {
      returned->add_task_ids(task.spec().task_id());
      ReleaseArgPins(task);
    }
    tasks_.clear();
  }
  (void)Send(message);  // also answers a ReturnTasks request with none
}

void CoreClient::ReleaseArgPins(const rpc::ExecuteTask& task) {
  for (const auto& data : task.resolved()) {
    if (data.in_store()) channel_->DeferPinRelease(ObjectId::FromBinary(data.object_id()));
  }
  if (task.args_data().in_store()) {
    channel_->DeferPinRelease(ObjectId::FromBinary(task.args_data().object_id()));
  }
}

bool CoreClient::CancelQueuedTask(const TaskId& task) {
  rpc::Message message;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = std::find_if(tasks_.begin(), tasks_.end(), [&](const rpc::ExecuteTask& queued) {
      return queued.spec().task_id() == task.Binary();
    });
    if (it == tasks_.end()) return false;
    auto* done = message.mutable_task_done();
    done->set_task_id(task.Binary());
    for (uint32_t i = 1; i <= it->spec().num_returns(); ++i) {
      auto* data = done->add_returns()->mutable_data();
      data->set_object_id(ObjectIdFor(task, i).Binary());
      data->set_error(rpc::TASK_CANCELLED);
      data->set_error_message("task " + it->spec().function_name() + " was cancelled");
    }
    ReleaseArgPins(*it);
    tasks_.erase(it);
  }
  (void)Send(message);
  return true;
}

absl::StatusOr<std::vector<ObjectValue>> CoreClient::Get(const std::vector<ObjectId>& ids,
                                                         int64_t timeout_ms,
                                                         const InterruptCheck& interrupted) {
  rpc::Message subscribe;
  // Values never become unready while the caller holds their refs, so the
  // scan resumes where it stopped: O(n) over the whole wait, not per wake.
  size_t cursor = 0;
  auto all_ready = [&] {
    for (; cursor < ids.size(); ++cursor) {
      auto it = objects_.find(ids[cursor]);
      if (it == objects_.end() || !it->second.value) return false;
    }
    return true;
  };
  std::unique_lock<std::mutex> lock(mu_);
  SubscribeLocked(ids, &subscribe);
  const bool ready_now = all_ready();
  lock.unlock();
  absl::Status status;
  if (subscribe.has_subscribe()) status = Send(subscribe);
  bool blocked = false;
  if (status.ok() && !ready_now) {
    // With a deadline, first learn what is ready right now, so that a short
    // timeout never fails an object that already exists.
    if (timeout_ms >= 0 && subscribe.has_subscribe()) status = Barrier();
    lock.lock();
    const bool ready_after_barrier = all_ready();
    lock.unlock();
    if (status.ok() && !ready_after_barrier && kind_ == rpc::WORKER) {
      SetBlocked(true);  // give the CPU back while waiting
      blocked = true;
    }
  }
  channel_->FlushDeferred();  // submissions this get may wait for
  lock.lock();
  if (status.ok()) status = WaitLocked(lock, timeout_ms, interrupted, all_ready);
  std::vector<ObjectValue> values;
  while (status.ok()) {
    values.clear();
    values.reserve(ids.size());
    for (const ObjectId& id : ids) {
      const auto& value = objects_[id].value;
      if (!value) break;
      values.push_back(*value);
    }
    if (values.size() == ids.size()) {
      for (const ObjectId& id : ids) objects_[id].handed_out = true;
      break;
    }
    // A cached value was dropped meanwhile (DropUnreadValues): ask again.
    rpc::Message again;
    SubscribeLocked(ids, &again);
    cursor = 0;
    lock.unlock();
    if (again.has_subscribe()) status = Send(again);
    lock.lock();
    if (status.ok()) status = WaitLocked(lock, timeout_ms, interrupted, all_ready);
  }
  lock.unlock();
  if (blocked) SetBlocked(false);
  if (absl::IsDeadlineExceeded(status)) {
    return absl::DeadlineExceededError("get() timed out after " + std::to_string(timeout_ms / 1000.0) +
                                       " s waiting for " + std::to_string(ids.size()) + " object(s)");
  }
  if (!status.ok()) return status;
  return values;
}

absl::StatusOr<std::vector<bool>> CoreClient::Wait(const std::vector<ObjectId>& ids,
                                                   size_t num_returns, int64_t timeout_ms,
                                                   const InterruptCheck& interrupted,
                                                    bool lend_cpu) {
  rpc::Message subscribe;
  auto count_ready = [&] {
    size_t ready = 0;
    for (const ObjectId& id : ids) {
      auto it = objects_.find(id);
      if (it != objects_.end() && it->second.ready) ready++;
    }
    return ready;
  };
  std::unique_lock<std::mutex> lock(mu_);
  SubscribeLocked(ids, &subscribe, /*for_value=*/false);
  absl::Status status;
  bool blocked = false;
  if (subscribe.has_subscribe()) {
    lock.unlock();
    status = Send(subscribe);
    if (status.ok() && timeout_ms >= 0) status = Barrier();
    lock.lock();
  }
  if (status.ok() && count_ready() < num_returns && timeout_ms != 0) {
    lock.unlock();
    channel_->FlushDeferred();
    lock.lock();
    if (kind_ == rpc::WORKER && lend_cpu) {
      lock.unlock();
      SetBlocked(true);
      blocked = true;
      lock.lock();
    }
    status = WaitLocked(lock, timeout_ms, interrupted, [&] { return count_ready() >= num_returns; });
    if (absl::IsDeadlineExceeded(status)) status = absl::OkStatus();
  }
  std::vector<bool> ready;
  ready.reserve(ids.size());
  for (const ObjectId& id : ids) {
    auto it = objects_.find(id);
    ready.push_back(it != objects_.end() && it->second.ready);
  }
  lock.unlock();
  if (blocked) SetBlocked(false);
  if (!status.ok()) return status;
  return ready;
}

// ---- references ------------------------------------------------------------

void CoreClient::AddRef(const ObjectId& id) {
  bool first;
  {
    std::lock_guard<std::mutex> lock(mu_);
    first = objects_[id].refs++ == 0;
  }
  if (first) channel_->DeferRefAdd(id);
}

void CoreClient::RemoveRef(const ObjectId& id) {
  std::optional<ObjectValue> dropped;  // released outside the lock
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(id);
    if (it == objects_.end()) return;
    if (--it->second.refs > 0) return;
    dropped = std::move(it->second.value);
    objects_.erase(it);
  }
  channel_->DeferRefRemove(id);
}

void CoreClient::DropUnreadValues() {
  std::vector<ObjectValue> dropped;  // released outside the lock
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [id, local] : objects_) {
    // Only this cache holds the pin: no value read from it is alive.
    if (local.value && local.handed_out && local.value->pin && local.value->pin.use_count() == 1) {
      dropped.push_back(std::move(*local.value));
      local.value.reset();
      local.subscribed = false;  // fetched again (restored if spilled) when asked for
    }
  }
}

size_t CoreClient::NumLocalRefs() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t count = 0;
  for (const auto& [id, local] : objects_) count += local.refs > 0 ? 1 : 0;
  return count;
}

// ---- GCS and node queries --------------------------------------------------

absl::Status CoreClient::GeneratorYield(const TaskId& task,
                                        std::vector<rpc::ReturnObject> items) {
  rpc::Message message;
  auto* yield = message.mutable_generator_yield();
  yield->set_task_id(task.Binary());
  for (auto& item : items) *yield->add_items() = std::move(item);
  return Send(message);
}

void CoreClient::ReleaseGenerator(const TaskId& task, uint32_t taken) {
  rpc::Message message;
  message.mutable_release_generator()->set_task_id(task.Binary());
  message.mutable_release_generator()->set_taken(taken);
  (void)Send(message);  // a dead raylet frees everything anyway
}

absl::Status CoreClient::WorkerExiting(const std::string& reason) {
  rpc::Message message;
  message.mutable_worker_exiting()->set_reason(reason);
  return Send(message);
}

void CoreClient::ExpectObject(const ObjectId& id) {
  std::lock_guard<std::mutex> lock(mu_);
  objects_[id].refs++;
}

void CoreClient::ForgetObject(const ObjectId& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(id);
  if (it == objects_.end()) return;
  if (--it->second.refs <= 0) objects_.erase(it);
}

void CoreClient::BecomeActor() {
  std::lock_guard<std::mutex> lock(mu_);
  actor_ = true;
}

absl::Status CoreClient::Barrier() {
  const uint64_t request_id = NextRequestId();
  rpc::Message message;
  message.mutable_ping()->set_request_id(request_id);
  return Call(std::move(message), request_id, 30000).status();
}

// ---- worker side -----------------------------------------------------------

absl::StatusOr<std::optional<rpc::ExecuteTask>> CoreClient::NextTask(
    int64_t timeout_ms, const InterruptCheck& interrupted) {
  std::unique_lock<std::mutex> lock(mu_);
  absl::Status status = WaitLocked(lock, timeout_ms, interrupted,
                                   [&] { return !tasks_.empty() || !cancelled_calls_.empty(); });
  if (!tasks_.empty()) {
    rpc::ExecuteTask task = std::move(tasks_.front());
    tasks_.pop_front();
    running_task_ = TaskId::FromBinary(task.spec().task_id());
    cancel_requested_ = false;
    return std::optional<rpc::ExecuteTask>(std::move(task));
  }
  // Timed out, or woken for a cancelled actor call (TakeCancelledCalls).
  if (status.ok() || absl::IsDeadlineExceeded(status)) return std::optional<rpc::ExecuteTask>();
  return status;
}

absl::Status CoreClient::TaskDone(rpc::TaskDone done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_task_.reset();
    cancel_requested_ = false;
  }
  rpc::Message message;
  *message.mutable_task_done() = std::move(done);
  return Send(message);
}

std::vector<TaskId> CoreClient::TakeCancelledCalls() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<TaskId> calls;
  calls.swap(cancelled_calls_);
  return calls;
}

bool CoreClient::TakeCancelRequest() {
  std::lock_guard<std::mutex> lock(mu_);
  const bool requested = cancel_requested_ && running_task_.has_value();
  cancel_requested_ = false;
  return requested;
}

absl::Status CoreClient::SendLogLines(const JobId& job, const std::string& prefix, bool is_stderr,
                                      std::vector<std::string> lines) {
  rpc::Message message;
  auto* logs = message.mutable_log_lines();
  logs->set_job_id(job.Binary());
  logs->set_prefix(prefix);
  logs->set_is_stderr(is_stderr);
  for (auto& line : lines) logs->add_lines(std::move(line));
  return Send(message);
}

std::vector<rpc::LogLines> CoreClient::NextLogs(int64_t timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  (void)WaitLocked(lock, timeout_ms, nullptr, [&] { return !logs_.empty(); });
  std::vector<rpc::LogLines> out(std::make_move_iterator(logs_.begin()),
                                 std::make_move_iterator(logs_.end()));
  logs_.clear();
  return out;
}

}  // namespace flare
