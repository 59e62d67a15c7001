#include "raylet/node_manager.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <sstream>

#include "common/placement_group_resources.h"

namespace flare {

namespace {

// What the task raised, as the worker described it in its error returns.
std::string FirstErrorMessage(const rpc::TaskDone& done) {
  for (const auto& ret : done.returns()) {
    if (!ret.data().error_message().empty()) return ret.data().error_message();
  }
  return "an exception";
}

std::string ExitCause(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* name = strsignal(sig);
    return "was killed by signal " + std::to_string(sig) + " (" + (name ? name : "?") + ")";
  }
  return "stopped";
}

std::vector<ObjectId> ToObjectIds(const google::protobuf::RepeatedPtrField<std::string>& ids) {
  std::vector<ObjectId> out;
  out.reserve(ids.size());
  for (const auto& id : ids) out.push_back(ObjectId::FromBinary(id));
  return out;
}

}  // namespace

const std::vector<uint32_t>& NodeManager::GpusOf(ClientId worker) const {
  static const std::vector<uint32_t> kNone;
  if (const std::vector<uint32_t>* devices = leases_.Devices(worker)) return *devices;
  if (auto actor = actor_by_worker_.find(worker); actor != actor_by_worker_.end()) {
    if (auto record = actors_.find(actor->second); record != actors_.end()) return record->second.gpus;
  }
  return kNone;
}

const ObjectEntry* NodeManager::FailedDependency(const rpc::TaskSpec& spec) const {
  for (const ObjectId& id : ArgumentIds(spec)) {
    const ObjectEntry* entry = objects_.Find(id);
    if (entry != nullptr && entry->state == ObjectState::kReady && entry->error != rpc::ERROR_NONE) {
      return entry;
    }
  }
  return nullptr;
}

NodeManager::NodeManager(NodeOptions options, std::unique_ptr<Arena> arena,
                         std::unique_ptr<WorkerLauncher> launcher, NodeIo node_io,
                         ClientChannel& clients, GcsClient& gcs,
                         std::function<void()> request_stop)
    : clients_(clients),
      options_(std::move(options)),
      arena_(std::move(arena)),
      launcher_(std::move(launcher)),
      node_io_(std::move(node_io)),
      request_stop_(std::move(request_stop)),
      node_id_(options_.node_id.IsNil() ? NodeId::FromRandom() : options_.node_id),
      objects_(arena_->size()),
      spill_(objects_, arena_->base(), *node_io_.spill_files),
      scheduler_(options_.resources),
      gpus_(options_.resources.Get("GPU")),
      pool_(*launcher_, static_cast<size_t>(std::max(1.0, options_.resources.Get("CPU"))),
            options_.max_workers > 0
                ? options_.max_workers
                : static_cast<size_t>(std::max(1.0, options_.resources.Get("CPU"))) * 4 + 32),
      gcs_(gcs),
      gcs_requests_(gcs, clients) {
  rpc::NodeInfo self;
  self.set_node_id(node_id_.Binary());
  self.set_address(options_.socket_path);
  self.set_alive(true);
  self.set_session_dir(options_.session_dir);
  options_.resources.ToProto(self.mutable_total());
  gcs_.RegisterNode(self, [](absl::Status status) {
    if (!status.ok()) std::cerr << "flare-raylet: cannot register with the GCS: " << status << "\n";
  });
  objects_.SetFreeListener([this](const ObjectId& id) {
    spill_.OnObjectFreed(id);
    // An actor's handle object (its creation task's return 1) went: the
    // actor is out of scope. Handled after the current message.
    if (actors_.empty()) return;
    const TaskId task = TaskOfObject(id);
    if (!actors_.contains(task) || ObjectIdFor(task, 1) != id) return;
    node_io_.timers->Post([this, task] { OnActorOutOfScope(task); });
  });
}

absl::Status NodeManager::Start() {
  if (options_.driver_pid > 0) CheckDriverAlive();
  return pool_.Prestart();
}

void NodeManager::CheckDriverAlive() {
  if (!node_io_.processes->Exists(options_.driver_pid)) {
    std::cerr << "flare-raylet: driver " << options_.driver_pid << " is gone; stopping\n";
    request_stop_();
    return;
  }
  After(std::chrono::milliseconds(250), [this] { CheckDriverAlive(); });
}

void NodeManager::OnPutInline(const ClientInfo& client, rpc::PutInline& put) {
  const ObjectId id = ObjectId::FromBinary(put.data().object_id());
  auto waiting = objects_.PutInline(client.id, id,
                                    std::move(*put.mutable_data()->mutable_inline_data()),
                                    ToObjectIds(put.contained_refs()));
  ObjectReady(id, waiting);
}

void NodeManager::OnSealObject(const ClientInfo&, const rpc::SealObject& seal) {
  const ObjectId id = ObjectId::FromBinary(seal.object_id());
  auto waiting = objects_.Seal(id, ToObjectIds(seal.contained_refs()));
  if (waiting.ok()) ObjectReady(id, *waiting);
}

void NodeManager::OnAbortObject(const ClientInfo&, const rpc::AbortObject& abort) {
  objects_.Abort(ObjectId::FromBinary(abort.object_id()));
}

void NodeManager::OnRefUpdate(const ClientInfo& client, const rpc::RefUpdate& update) {
  for (const auto& id : update.add()) objects_.AddRef(client.id, ObjectId::FromBinary(id));
  for (const auto& id : update.remove()) objects_.RemoveRef(client.id, ObjectId::FromBinary(id));
}

void NodeManager::OnReleasePins(const ClientInfo& client, const rpc::ReleasePins& release) {
  for (const auto& id : release.object_ids()) objects_.Unpin(client.id, ObjectId::FromBinary(id));
}

void NodeManager::OnKvPut(const ClientInfo& client, rpc::KvPut& put) {
  gcs_requests_.KvPut(client.id, put);
}

void NodeManager::OnKvGet(const ClientInfo& client, const rpc::KvGet& get) {
  gcs_requests_.KvGet(client.id, get);
}

void NodeManager::OnRegisterActorName(const ClientInfo& client, rpc::RegisterActorName& request) {
  gcs_requests_.RegisterActorName(client.id, request);
}

void NodeManager::OnLookupActor(const ClientInfo& client, const rpc::LookupActor& request) {
  gcs_requests_.LookupActor(client.id, request);
}

void NodeManager::OnListNamedActors(const ClientInfo& client,
                                    const rpc::ListNamedActors& request) {
  gcs_requests_.ListNamedActors(client.id, request);
}

void NodeManager::OnRegisterPlacementGroup(const ClientInfo& client,
                                           rpc::RegisterPlacementGroup& request) {
  gcs_requests_.RegisterPlacementGroup(client.id, request);
}

void NodeManager::OnJobInfo(const ClientInfo& client, const rpc::JobInfoRequest& request) {
  gcs_requests_.JobInfo(client.id, request);
}

void NodeManager::OnWorkerExiting(const ClientInfo& client, const rpc::WorkerExiting& exiting) {
  exit_reasons_[client.pid] = exiting.reason();
}

void NodeManager::OnGeneratorYield(const ClientInfo& worker, rpc::GeneratorYield& items) {
  generators_.OnYield(worker.id, items);
}

void NodeManager::OnReleaseGenerator(const ClientInfo& caller,
                                     const rpc::ReleaseGenerator& release) {
  generators_.OnReleased(caller.id, TaskId::FromBinary(release.task_id()), release.taken());
}

void NodeManager::OnRemovePlacementGroup(const rpc::RemovePlacementGroup& request) {
  RemovePlacementGroup(TaskId::FromBinary(request.pg_id()));
}

void NodeManager::OnRegister(const ClientInfo& client, const rpc::RegisterClient& request,
                             RegisterDone done) {
  rpc::RegisterReply reply;
  reply.set_node_id(node_id_.Binary());
  reply.set_arena_size(arena_->size());
  reply.set_session_dir(options_.session_dir);
  if (request.kind() == rpc::DRIVER) {
    // The GCS gives the job its id; the driver learns it with the reply.
    rpc::JobInfo job;
    job.set_driver_pid(request.pid());
    job.set_namespace_(request.namespace_());
    job.set_config(request.job_config());
    gcs_.AddJob(std::move(job), [this, client_id = client.id, reply = std::move(reply),
                                 done = std::move(done)](absl::StatusOr<JobId> job_id) mutable {
      if (!job_id.ok()) {
        reply.set_error("cannot register the job with the GCS: " +
                        std::string(job_id.status().message()));
      } else if (clients_.Find(client_id) == nullptr) {
        gcs_.MarkJobFinished(*job_id, nullptr);  // the driver left meanwhile
      } else {
        // Workers read the job's config from its record when they run its
        // tasks (JobInfoRequest).
        reply.set_job_id(job_id->Binary());
      }
      done(std::move(reply));
    });
    return;
  } else if (request.kind() == rpc::WORKER) {
    if (!pool_.OnRegistered(WorkerId::FromBinary(request.worker_id()), client.id)) {
      reply.set_error("unknown worker id");
    }
  } else {
    reply.set_error("unknown client kind");
  }
  done(std::move(reply));
}

void NodeManager::OnRegistered(const ClientInfo& client) {
  if (client.kind == rpc::WORKER) {
    startup_failures_ = 0;
    TryDispatch();
    MaybeRebalance();  // a new idle worker may take tasks queued on a lease
  }
}

void NodeManager::OnSubmitTask(const ClientInfo& client, rpc::TaskSpec& spec) {
  const TaskId task_id = TaskId::FromBinary(spec.task_id());
  auto [it, inserted] = tasks_.try_emplace(task_id);
  if (!inserted) return;  // duplicate submission
  TaskRecord& record = it->second;
  record.owner = client.id;
  record.demand = ResourceSet::FromProto(spec.resources());
  record.retries_left = spec.max_retries();
  for (uint32_t i = 1; i <= spec.num_returns(); ++i) {
    const ObjectId id = ObjectIdFor(task_id, i);
    objects_.AddPending(client.id, id);
    // The caller gets its results pushed as soon as they exist.
    objects_.Subscribe(client.id, id);
  }
  if (spec.streaming()) {
    generators_.OnSubmitted(task_id, client.id);
  }
  // The task holds what it reads and the refs nested in its arguments.
  record.arg_refs = ArgumentIds(spec);
  for (const auto& nested : spec.nested_refs()) record.arg_refs.push_back(ObjectId::FromBinary(nested));
  for (const ObjectId& id : record.arg_refs) objects_.AddRef(kTaskArgHolder, id);
  record.spec = std::move(spec);
  const std::vector<ObjectId> unready = UnreadyArgs(record.spec);

  if (!record.spec.actor_id().empty() && !record.spec.has_actor()) {
    SubmitActorCall(task_id, record);
    return;
  }
  if (record.spec.has_actor()) {
    ActorRecord& actor = actors_[task_id];
    actor.creation = record.spec;
    actor.restarts_left = record.spec.actor().max_restarts();
    actor.owner = client.id;
    actor.owner_pid = client.pid;
    // A detached actor's handle object is held by the raylet until kill.
    if (record.spec.actor().detached()) objects_.AddRef(kTaskArgHolder, ObjectIdFor(task_id, 1));
  }
  if (workers_broken_) {
    FailTask(record, rpc::WORKER_CRASHED, workers_broken_reason_);
    FinishTask(task_id);
    return;
  }
  if (groups_.Park(task_id, record.demand)) return;
  if (scheduler_.Add(task_id, record.demand, unready, record.spec.has_actor() ? "actor" : "") ==
      Scheduler::AddResult::kInfeasible) {
    FailTask(record, rpc::INFEASIBLE,
             "task " + record.spec.function_name() + " requires " + record.demand.DebugString() +
                 " but no node has that much: the cluster has " +
                 scheduler_.total().DebugString());
    FinishTask(task_id);
    return;
  }
  TryDispatch();
}

void NodeManager::TryDispatch() {
  if (groups_.has_pending()) ReservePlacementGroups();
  // New leases: ready tasks whose demand fits go to idle workers.
  while (pool_.num_idle() > 0 && scheduler_.num_dispatchable() > 0) {
    std::vector<TaskId> ready = scheduler_.Dispatch(pool_.num_idle());
    if (ready.empty()) break;
    for (const TaskId& task_id : ready) {
      auto it = tasks_.find(task_id);
      if (it == tasks_.end()) continue;
      auto worker = pool_.PopIdle(task_id);
      if (!worker) {  // cannot happen: at most num_idle were taken
        scheduler_.Release(it->second.demand);
        Enqueue(task_id, it->second);
        continue;
      }
      leases_.Grant(*worker, task_id, it->second.demand, it->second.spec.has_actor());
      Send(task_id, *worker);
    }
  }
  // Tasks that wait only because the node's resources are taken queue
  // behind running tasks of the same shape (which hold those resources), so
  // short tasks run back to back. Tasks that fit now get a worker of their
  // own instead (the pool grows), and a worker that goes idle pulls queued
  // tasks back (MaybeRebalance): a long task never holds others hostage.
  if (scheduler_.num_dispatchable() > 0) {
    for (const LeaseManager::Slot& slot : leases_.PipelineSlots()) {
      for (const TaskId& task_id : scheduler_.TakeQueued(slot.shape, slot.room)) {
        leases_.Append(slot.worker, task_id);
        Send(task_id, slot.worker);
      }
      if (scheduler_.num_dispatchable() == 0) break;
    }
  }
  if (!workers_broken_ && pool_.num_idle() == 0) {
    const size_t fitting = scheduler_.NumFittingNow();
    pool_.Grow(fitting);
    if (fitting > 0 && pool_.at_hard_limit() && pool_.num_starting() == 0 && !warned_worker_limit_) {
      warned_worker_limit_ = true;
      std::cerr << "flare-raylet: " << pool_.size()
                << " worker processes exist, most blocked in get/wait on tasks that have no "
                   "worker left; no more will be started (nested tasks this deep may not "
                   "finish)\n";
    }
  }
}

void NodeManager::Send(const TaskId& task_id, ClientId worker) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return;
  if (!SendTask(task_id, it->second, worker)) RemoveFromLease(worker, task_id);
}

bool NodeManager::SendTask(const TaskId& task_id, TaskRecord& record, ClientId worker) {
  record.running = true;
  record.worker = worker;
  if (const WorkerInfo* info = pool_.Find(worker)) record.worker_pid = info->pid;
  // Spilled arguments come back first (one that cannot be read back is
  // lost); a failed argument fails the task without running it.
  const SpillManager::Restored restored = spill_.RestoreAll(ArgumentIds(record.spec));
  if (const ObjectEntry* failed = FailedDependency(record.spec)) {
    // Copied: storing the task's errors may rehash the table `failed` is in.
    const rpc::ErrorCode code = failed->error;
    const std::string message = failed->error_message;
    const std::string payload = failed->inline_data;
    FailTask(record, code, message, payload);
    FinishTask(task_id);
    return false;
  }
  if (restored == SpillManager::Restored::kNoRoom) {
    // Arguments spilled to disk and no room to bring them back yet: clients
    // are asked to unpin, and the task is scheduled again shortly, for a while.
    AskClientsToUnpin();
    record.running = false;
    record.worker = 0;
    if (++record.restore_attempts > kTaskRestoreAttempts) {
      FailTask(record, rpc::OBJECT_STORE_FULL,
               "task " + record.spec.function_name() + " could not start: its arguments were "
               "spilled to disk and the object store stayed too full to bring them back");
      FinishTask(task_id);
      return false;
    }
    After(kRestoreRetry, [this, task_id] {
      auto it = tasks_.find(task_id);
      if (it == tasks_.end() || it->second.running || it->second.cancelled) return;
      Enqueue(task_id, it->second);
      TryDispatch();
    });
    return false;
  }
  rpc::Message message;
  auto* execute = message.mutable_execute_task();
  *execute->mutable_spec() = record.spec;
  for (uint32_t gpu : GpusOf(worker)) execute->add_gpu_ids(gpu);
  for (const auto& dep : record.spec.dependencies()) {
    objects_.DescribeAndPin(worker, ObjectId::FromBinary(dep), execute->add_resolved());
  }
  if (!record.spec.args_object_id().empty()) {
    objects_.DescribeAndPin(worker, ObjectId::FromBinary(record.spec.args_object_id()),
                            execute->mutable_args_data());
  }
  clients_.Send(worker, message);
  StartTimeoutClock(worker);
  return true;
}

std::vector<ObjectId> NodeManager::UnreadyArgs(const rpc::TaskSpec& spec) const {
  std::vector<ObjectId> unready;
  for (const ObjectId& id : ArgumentIds(spec)) {
    if (objects_.Contains(id) && !objects_.IsReady(id)) unready.push_back(id);
  }
  return unready;
}

void NodeManager::RemoveFromLease(ClientId worker, const TaskId& task_id) {
  if (leases_.Remove(worker, task_id)) {
    pool_.OnTaskFinished(worker);
  } else {
    StartTimeoutClock(worker);
  }
}

void NodeManager::OnTasksReturned(const ClientInfo& client, const rpc::TasksReturned& returned) {
  leases_.OnTasksReturned(client.id);
  for (const auto& binary : returned.task_ids()) {
    const TaskId task_id = TaskId::FromBinary(binary);
    auto it = tasks_.find(task_id);
    if (it == tasks_.end() || it->second.worker != client.id) continue;
    RemoveFromLease(client.id, task_id);
    Enqueue(task_id, it->second);
  }
  TryDispatch();
}

void NodeManager::MaybeRebalance() {
  if (scheduler_.num_dispatchable() > 0 || pool_.num_idle() == 0) return;
  rpc::Message message;
  message.mutable_return_tasks();
  for (ClientId worker : leases_.TakeRebalanceRequests()) clients_.Send(worker, message);
}

void NodeManager::OnTaskDone(const ClientInfo& client, rpc::TaskDone& done) {
  const TaskId task_id = TaskId::FromBinary(done.task_id());
  auto it = tasks_.find(task_id);
  if (it == tasks_.end() || it->second.worker != client.id) return;
  TaskRecord& record = it->second;
  if (record.spec.has_actor()) {
    HandleActorCreated(client.id, task_id, record, done);
    return;
  }
  if (!record.spec.actor_id().empty()) {
    HandleActorCallDone(task_id, done);
    return;
  }
  RemoveFromLease(client.id, task_id);
  record.running = false;

  if (done.retryable() && record.retries_left != 0 && !record.cancelled) {
    if (record.retries_left > 0) record.retries_left--;
    LogToDriver(record, "task " + record.spec.function_name() + " raised " +
                            FirstErrorMessage(done) + "; retrying (attempt " +
                            std::to_string(record.spec.attempt() + 2) + ")");
    record.spec.set_attempt(record.spec.attempt() + 1);
    Enqueue(task_id, record);
    TryDispatch();
    return;
  }
  StoreReturns(done);
  FinishTask(task_id);
  TryDispatch();
  MaybeRebalance();
}

void NodeManager::StoreReturns(rpc::TaskDone& done) {
  for (auto& ret : *done.mutable_returns()) Store(ret);
}

void NodeManager::Store(rpc::ReturnObject& ret) {
  auto* data = ret.mutable_data();
  const ObjectId id = ObjectId::FromBinary(data->object_id());
  if (data->error() != rpc::ERROR_NONE) {
    StoreError(id, data->error(), data->error_message(),
               std::move(*data->mutable_inline_data()));
    return;
  }
  std::vector<ClientId> waiting;
  if (data->in_store()) {
    auto sealed = objects_.Seal(id, ToObjectIds(ret.contained_refs()));
    if (!sealed.ok()) return;
    waiting = std::move(*sealed);
  } else {
    waiting = objects_.PutInline(kTaskArgHolder, id, std::move(*data->mutable_inline_data()),
                                 ToObjectIds(ret.contained_refs()));
  }
  ObjectReady(id, waiting);
}

void NodeManager::StoreError(const ObjectId& id, rpc::ErrorCode code, const std::string& message,
                             const std::string& payload) {
  ObjectReady(id, objects_.SetError(id, code, message, payload));
}

void NodeManager::Enqueue(const TaskId& task_id, TaskRecord& record) {
  record.running = false;
  record.worker = 0;
  record.clock_started = false;
  scheduler_.Add(task_id, record.demand, UnreadyArgs(record.spec),
                 record.spec.has_actor() ? "actor" : "");
}

void NodeManager::FailTask(TaskRecord& record, rpc::ErrorCode code, const std::string& message,
                           const std::string& payload) {
  const TaskId task_id = TaskId::FromBinary(record.spec.task_id());
  for (uint32_t i = 1; i <= record.spec.num_returns(); ++i) {
    StoreError(ObjectIdFor(task_id, i), code, message, payload);
  }
}

void NodeManager::ReleaseTaskArgs(TaskRecord& record) {
  for (const ObjectId& id : record.arg_refs) objects_.RemoveRef(kTaskArgHolder, id);
  record.arg_refs.clear();
}

void NodeManager::FinishTask(const TaskId& task_id) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return;
  if (it->second.spec.streaming()) generators_.OnFinished(task_id);
  if (it->second.spec.has_actor()) {
    // Out of the table first: the actor's fate may finish other tasks.
    TaskRecord record = std::move(it->second);
    tasks_.erase(it);
    OnActorCreationFinished(task_id, record);
    ReleaseTaskArgs(record);
    return;
  }
  ReleaseTaskArgs(it->second);
  tasks_.erase(it);
}

void NodeManager::ObjectReady(const ObjectId& id, const std::vector<ClientId>& waiting) {
  for (ClientId client : waiting) SendObject(client, id);
  scheduler_.OnObjectReady(id);
  if (!actors_waiting_args_.empty()) {
    auto actors = std::move(actors_waiting_args_);
    actors_waiting_args_.clear();
    for (const TaskId& actor : actors) PumpActor(actor);
  }
}

void NodeManager::SendObject(ClientId client, const ObjectId& id, int attempt) {
  if (clients_.Find(client) == nullptr) return;
  if (!Restore(id) && attempt < kRestoreAttempts) {
    // No room to bring it back yet: clients were asked to unpin what they
    // only cache; try again shortly.
    After(kRestoreRetry, [this, client, id, attempt] { SendObject(client, id, attempt + 1); });
    return;
  }
  rpc::Message message;
  objects_.DescribeAndPin(client, id, message.mutable_object_ready());
  clients_.Send(client, message);
}

void NodeManager::OnCreateObject(const ClientInfo& client, const rpc::CreateObject& request) {
  rpc::Message reply;
  auto* body = reply.mutable_create_reply();
  body->set_request_id(request.request_id());
  auto [offset, ask_unpin] =
      spill_.Create(client.id, ObjectId::FromBinary(request.object_id()), request.size());
  if (ask_unpin) AskClientsToUnpin();
  if (offset.ok()) {
    body->set_offset(*offset);
  } else {
    body->set_error(rpc::OBJECT_STORE_FULL);
    body->set_error_message(std::string(offset.status().message()));
  }
  clients_.Send(client.id, reply);
}

void NodeManager::OnSubscribe(const ClientInfo& client, const rpc::Subscribe& request) {
  for (const auto& binary : request.object_ids()) {
    const ObjectId id = ObjectId::FromBinary(binary);
    if (objects_.Subscribe(client.id, id)) SendObject(client.id, id);
  }
}

void NodeManager::OnWorkerBlocked(const ClientInfo& client, bool blocked) {
  if (!leases_.Running(client.id)) return;
  pool_.SetBlocked(client.id, blocked);
  if (leases_.SetBlocked(client.id, blocked)) TryDispatch();
}

void NodeManager::After(std::chrono::milliseconds delay, std::function<void()> action) {
  node_io_.timers->After(delay, std::move(action));
}

void NodeManager::AskClientsToUnpin() {
  rpc::Message release;
  release.mutable_release_cached_pins();
  for (ClientId client : clients_.All()) clients_.Send(client, release);
}

bool NodeManager::Restore(const ObjectId& id) {
  if (spill_.Restore(id) != SpillManager::Restored::kNoRoom) return true;
  AskClientsToUnpin();
  return false;
}

void NodeManager::LogToDriver(const TaskRecord& record, const std::string& line) {
  LogToJob(record.spec.job_id(), line);
}

void NodeManager::LogToJob(const std::string& job_id, const std::string& line) {
  std::cerr << "flare-raylet: " << line << "\n";
  rpc::Message message;
  auto* logs = message.mutable_log_lines();
  logs->set_job_id(job_id);
  logs->set_prefix("(raylet)");
  logs->set_is_stderr(true);
  logs->add_lines(line);
  OnLogLines(message.log_lines());
}

void NodeManager::OnClusterInfo(const ClientInfo& client, const rpc::ClusterInfoRequest& request) {
  gcs_.GetAllNodes([this, client_id = client.id, request_id = request.request_id()](
                       absl::StatusOr<std::vector<rpc::NodeInfo>> nodes) {
    clients_.Send(client_id, ClusterInfoReply(request_id, std::move(nodes)));
  });
}

rpc::Message NodeManager::ClusterInfoReply(uint64_t request_id,
                                           absl::StatusOr<std::vector<rpc::NodeInfo>> nodes) const {
  rpc::Message reply;
  auto* body = reply.mutable_cluster_info_reply();
  body->set_request_id(request_id);
  if (!nodes.ok()) {
    body->set_error(std::string(nodes.status().message()));
    return reply;
  }
  for (rpc::NodeInfo& node : *nodes) {
    if (NodeId::FromBinary(node.node_id()) == node_id_) {
      node.clear_available();
      ResourceSet available = scheduler_.available();
      // Oversubscription while blocked workers resume shows as zero.
      ResourceSet shown;
      for (const auto& [name, amount] : available.ToMap()) shown.Set(name, std::max(0.0, amount));
      shown.ToProto(node.mutable_available());
      // Reserved placement groups offer their bundles under their own names.
      for (const auto& [name, amount] : scheduler_.total().ToMap()) {
        if (amount > 0 && GroupOfResource(name)) {
          (*node.mutable_total()->mutable_amounts())[name] = amount;
        }
      }
    }
    *body->add_nodes() = std::move(node);
  }
  return reply;
}

void NodeManager::OnStoreStats(const ClientInfo& client, const rpc::StoreStatsRequest& request) {
  const uint64_t request_id = request.request_id();
  rpc::Message reply;
  auto* body = reply.mutable_store_stats_reply();
  body->set_request_id(request_id);
  const StoreStats stats = objects_.Stats();
  body->set_capacity(stats.capacity);
  body->set_used(stats.used);
  body->set_num_objects(stats.num_objects);
  body->set_num_inline_objects(stats.num_inline);
  body->set_num_tasks(tasks_.size());
  clients_.Send(client.id, reply);
}

void NodeManager::OnLogLines(const rpc::LogLines& lines) {
  const JobId job = JobId::FromBinary(lines.job_id());
  rpc::Message message;
  for (ClientId id : clients_.All()) {
    const ClientInfo* client = clients_.Find(id);
    if (client->kind == rpc::DRIVER && client->log_to_driver && client->job_id == job) {
      if (!message.has_log_lines()) *message.mutable_log_lines() = lines;
      clients_.Send(id, message);
    }
  }
}

void NodeManager::OnClientClosed(const ClientInfo& info) {
  const ClientId client = info.id;
  objects_.DropClient(client);
  generators_.OnClientGone(client);
  if (!actors_.empty()) EndActorsOwnedBy(client);
  if (info.kind == rpc::WORKER) {
    pool_.OnDisconnected(client);
    // The process normally exits right after; make sure it does.
    const pid_t pid = info.pid;
    After(std::chrono::seconds(2), [pid, this] {
      for (pid_t alive : pool_.Pids()) {
        if (alive == pid) node_io_.processes->Kill(pid, SIGKILL);
      }
    });
  } else if (info.kind == rpc::DRIVER) {
    gcs_.MarkJobFinished(info.job_id, nullptr);
    // The departed driver's tasks, and the tasks they started, are
    // cancelled; their returns, held by nobody else, are freed.
    std::vector<TaskId> owned;
    for (const auto& [task_id, record] : tasks_) {
      if (record.owner == client) owned.push_back(task_id);
    }
    for (const TaskId& root : owned) {
      if (!tasks_.contains(root)) continue;
      for (const TaskId& task_id : TaskTree(root)) {
        CancelTask(task_id, false, rpc::TASK_CANCELLED, "the driver that submitted it exited");
      }
    }
    for (const TaskId& group_id : groups_.OwnedBy(client)) RemovePlacementGroup(group_id);
    if (options_.driver_pid != 0 && info.pid == options_.driver_pid) {
      std::cerr << "flare-raylet: driver " << info.pid << " disconnected; stopping\n";
      request_stop_();
    }
  }
}

void NodeManager::OnChildExited(pid_t pid, int status) {
  auto info = pool_.OnProcessExited(pid);
  auto reason = exit_reasons_.extract(pid);
  if (!info) return;
  const std::string cause =
      reason.empty() ? ExitCause(status) : "exited because " + reason.mapped();
  if (info->state == WorkerState::kStarting) {
    if (++startup_failures_ >= 3) {
      workers_broken_ = true;
      workers_broken_reason_ = "worker processes fail to start (the last one " + cause +
                               "); see the worker logs in " + options_.session_dir + "/logs";
      std::cerr << "flare-raylet: " << workers_broken_reason_ << "\n";
      std::vector<TaskId> queued;
      for (auto& [task_id, record] : tasks_) {
        if (!record.running) queued.push_back(task_id);
      }
      for (const TaskId& task_id : queued) {
        scheduler_.Remove(task_id);
        FailTask(tasks_[task_id], rpc::WORKER_CRASHED, workers_broken_reason_);
        FinishTask(task_id);
      }
      return;
    }
  }
  OnWorkerLost(*info, cause);
  TryDispatch();
  MaybeRebalance();
}

void NodeManager::OnWorkerLost(const WorkerInfo& info, const std::string& cause) {
  if (auto actor = actor_by_worker_.find(info.client); actor != actor_by_worker_.end()) {
    const TaskId actor_id = actor->second;
    actor_by_worker_.erase(actor);
    OnActorWorkerLost(actor_id, cause);
    return;
  }
  if (info.client == 0) return;
  const std::deque<TaskId> tasks = leases_.End(info.client);
  // Tasks queued behind the running one never started: they simply go back.
  for (size_t i = 1; i < tasks.size(); ++i) {
    auto it = tasks_.find(tasks[i]);
    if (it != tasks_.end()) Enqueue(tasks[i], it->second);
  }
  if (tasks.empty()) return;
  const TaskId task_id = tasks.front();
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return;
  TaskRecord& record = it->second;
  record.running = false;
  if (record.cancelled) {
    FailTask(record, rpc::TASK_CANCELLED,
             "task " + record.spec.function_name() + " was cancelled (its worker was killed)");
    FinishTask(task_id);
    return;
  }
  if (!generators_.Restartable(task_id)) {
    FailTask(record, rpc::WORKER_CRASHED,
             "the worker (pid " + std::to_string(info.pid) + ") running generator " +
                 record.spec.function_name() + " " + cause +
                 " after it had yielded items, so it is not run again");
    FinishTask(task_id);
    return;
  }
  if (record.retries_left != 0) {
    if (record.retries_left > 0) record.retries_left--;
    LogToDriver(record, "task " + record.spec.function_name() +
                            (record.timed_out ? " timed out" : "") + ": its worker (pid " +
                            std::to_string(info.pid) + ") " + cause + "; retrying (attempt " +
                            std::to_string(record.spec.attempt() + 2) + ")");
    record.timed_out = false;
    record.spec.set_attempt(record.spec.attempt() + 1);
    Enqueue(task_id, record);
    return;
  }
  FailTask(record, rpc::WORKER_CRASHED,
           "the worker (pid " + std::to_string(info.pid) + ") running task " +
               record.spec.function_name() + " " + cause + " and the task has no retries left");
  FinishTask(task_id);
}

void NodeManager::SignalWorkers(int signal) {
  for (pid_t pid : pool_.Pids()) node_io_.processes->Kill(pid, signal);
}

}  // namespace flare
