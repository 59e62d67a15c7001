#include "raylet/node_manager.h"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <sstream>

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

void NodeManager::EndLease(LeaseMap::iterator lease) {
  scheduler_.Release(HeldResources(lease->second));
  gpus_.Give(lease->second.gpus, GpuDemand(lease->second.demand));
  leases_.erase(lease);
}

const std::vector<uint32_t>& NodeManager::GpusOf(ClientId worker) const {
  static const std::vector<uint32_t> kNone;
  if (auto lease = leases_.find(worker); lease != leases_.end()) return lease->second.gpus;
  if (auto actor = actor_by_worker_.find(worker); actor != actor_by_worker_.end()) {
    if (auto record = actors_.find(actor->second); record != actors_.end()) return record->second.gpus;
  }
  return kNone;
}

ResourceSet NodeManager::LentWhenBlocked(const ResourceSet& demand) {
  // The CPU, whether the node's or a placement group's ("CPU_group_...").
  ResourceSet cpu;
  for (const auto& [name, amount] : demand.ToMap()) {
    if (name == "CPU" || name.rfind("CPU_group_", 0) == 0) cpu.Add(demand.Only(name));
  }
  return cpu;
}

double NodeManager::GpuDemand(const ResourceSet& demand) {
  // GPUs asked of a placement group ("GPU_group_...") are GPUs too.
  double gpus = 0;
  for (const auto& [name, amount] : demand.ToMap()) {
    if (name == "GPU" || name.rfind("GPU_group_", 0) == 0) gpus += amount;
  }
  return gpus;
}

ResourceSet NodeManager::HeldResources(const Lease& lease) {
  if (!lease.cpu_released) return lease.demand;
  ResourceSet rest = lease.demand;
  rest.Subtract(LentWhenBlocked(lease.demand));
  return rest;
}

const ObjectEntry* NodeManager::FailedDependency(const rpc::TaskSpec& spec) const {
  auto failed = [&](const std::string& binary) -> const ObjectEntry* {
    const ObjectEntry* entry = objects_.Find(ObjectId::FromBinary(binary));
    if (entry != nullptr && entry->state == ObjectState::kReady && entry->error != rpc::ERROR_NONE) {
      return entry;
    }
    return nullptr;
  };
  for (const auto& dep : spec.dependencies()) {
    if (const ObjectEntry* entry = failed(dep)) return entry;
  }
  if (!spec.args_object_id().empty()) return failed(spec.args_object_id());
  return nullptr;
}

NodeManager::NodeManager(boost::asio::io_context& io, NodeOptions options,
                         std::unique_ptr<Arena> arena, std::unique_ptr<WorkerLauncher> launcher,
                         GcsClient& gcs, std::function<void()> request_stop)
    : io_(io),
      options_(std::move(options)),
      arena_(std::move(arena)),
      launcher_(std::move(launcher)),
      request_stop_(std::move(request_stop)),
      node_id_(NodeId::FromRandom()),
      objects_(arena_->size()),
      scheduler_(options_.resources),
      gpus_(options_.resources.Get("GPU")),
      pool_(*launcher_, static_cast<size_t>(std::max(1.0, options_.resources.Get("CPU"))),
            options_.max_workers > 0
                ? options_.max_workers
                : static_cast<size_t>(std::max(1.0, options_.resources.Get("CPU"))) * 4 + 32),
      gcs_(gcs),
      gcs_requests_(gcs,
                    [this](ClientId client, const rpc::Message& reply) {
                      if (Connection* connection = FindConnection(client)) connection->Send(reply);
                    }),
      driver_watch_(io) {
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
    if (!spilled_.empty()) OnObjectFreed(id);
    // An actor's handle object (its creation task's return 1) went: the
    // actor is out of scope. Handled after the current message.
    if (actors_.empty()) return;
    const TaskId task = TaskOfObject(id);
    if (!actors_.contains(task) || ObjectIdFor(task, 1) != id) return;
    boost::asio::post(io_, [this, task] { OnActorOutOfScope(task); });
  });
}

absl::Status NodeManager::Start() {
  if (options_.driver_pid > 0) CheckDriverAlive();
  return pool_.Prestart();
}

void NodeManager::CheckDriverAlive() {
  if (kill(options_.driver_pid, 0) != 0 && errno == ESRCH) {
    std::cerr << "flare-raylet: driver " << options_.driver_pid << " is gone; stopping\n";
    request_stop_();
    return;
  }
  driver_watch_.expires_after(std::chrono::milliseconds(250));
  driver_watch_.async_wait([this](const boost::system::error_code& error) {
    if (!error) CheckDriverAlive();
  });
}

void NodeManager::Accept(Connection::Socket socket) {
  const ClientId id = next_client_id_++;
  auto connection = std::make_shared<Connection>(std::move(socket), id, *this);
  connections_[id] = connection;
  connection->Start();
}

Connection* NodeManager::FindConnection(ClientId client) {
  auto it = connections_.find(client);
  return it == connections_.end() ? nullptr : it->second.get();
}

void NodeManager::OnMessage(Connection& connection, rpc::Message& message) {
  switch (message.body_case()) {
    case rpc::Message::kRegisterClient:
      HandleRegister(connection, message.register_client());
      break;
    case rpc::Message::kSubmitTask:
      HandleSubmit(connection, *message.mutable_submit_task()->mutable_spec());
      break;
    case rpc::Message::kTaskDone:
      HandleTaskDone(connection, *message.mutable_task_done());
      break;
    case rpc::Message::kPutInline: {
      auto& put = *message.mutable_put_inline();
      const ObjectId id = ObjectId::FromBinary(put.data().object_id());
      auto waiting = objects_.PutInline(connection.id(), id,
                                        std::move(*put.mutable_data()->mutable_inline_data()),
                                        ToObjectIds(put.contained_refs()));
      ObjectReady(id, waiting);
      break;
    }
    case rpc::Message::kCreateObject:
      HandleCreate(connection, message.create_object());
      break;
    case rpc::Message::kSealObject: {
      const auto& seal = message.seal_object();
      const ObjectId id = ObjectId::FromBinary(seal.object_id());
      auto waiting = objects_.Seal(id, ToObjectIds(seal.contained_refs()));
      if (waiting.ok()) ObjectReady(id, *waiting);
      break;
    }
    case rpc::Message::kAbortObject:
      objects_.Abort(ObjectId::FromBinary(message.abort_object().object_id()));
      break;
    case rpc::Message::kSubscribe:
      HandleSubscribe(connection, message.subscribe());
      break;
    case rpc::Message::kRefUpdate: {
      const auto& update = message.ref_update();
      for (const auto& id : update.add()) objects_.AddRef(connection.id(), ObjectId::FromBinary(id));
      for (const auto& id : update.remove()) {
        objects_.RemoveRef(connection.id(), ObjectId::FromBinary(id));
      }
      break;
    }
    case rpc::Message::kReleasePins:
      for (const auto& id : message.release_pins().object_ids()) {
        objects_.Unpin(connection.id(), ObjectId::FromBinary(id));
      }
      break;
    case rpc::Message::kWorkerBlocked:
      HandleBlocked(connection, message.worker_blocked().blocked());
      break;
    case rpc::Message::kCancelTask:
      HandleCancel(message.cancel_task());
      break;
    case rpc::Message::kClusterInfoRequest:
      HandleClusterInfo(connection, message.cluster_info_request().request_id());
      break;
    case rpc::Message::kStoreStatsRequest:
      HandleStoreStats(connection, message.store_stats_request().request_id());
      break;
    case rpc::Message::kLogLines:
      HandleLogLines(message);
      break;
    case rpc::Message::kKillActor:
      HandleKillActor(message.kill_actor());
      break;
    case rpc::Message::kGeneratorYield:
      HandleGeneratorYield(connection, *message.mutable_generator_yield());
      break;
    case rpc::Message::kReleaseGenerator:
      HandleReleaseGenerator(connection.id(), message.release_generator());
      break;
    case rpc::Message::kCreatePlacementGroup:
      HandleCreatePlacementGroup(connection, message.create_placement_group());
      break;
    case rpc::Message::kRemovePlacementGroup:
      RemovePlacementGroup(TaskId::FromBinary(message.remove_placement_group().pg_id()));
      break;
    case rpc::Message::kWorkerExiting:
      exit_reasons_[connection.pid] = message.worker_exiting().reason();
      break;
    case rpc::Message::kTasksReturned:
      HandleTasksReturned(connection, message.tasks_returned());
      break;
    case rpc::Message::kPing: {
      rpc::Message reply;
      reply.mutable_pong()->set_request_id(message.ping().request_id());
      connection.Send(reply);
      break;
    }
    default:
      if (gcs_requests_.Handle(connection.id(), message)) break;
      std::cerr << "flare-raylet: unexpected message " << message.body_case() << " from client "
                << connection.id() << "\n";
  }
}

void NodeManager::HandleRegister(Connection& connection, const rpc::RegisterClient& request) {
  connection.kind = request.kind();
  connection.pid = request.pid();
  connection.log_to_driver = request.log_to_driver();
  rpc::Message reply;
  auto* body = reply.mutable_register_reply();
  body->set_node_id(node_id_.Binary());
  body->set_arena_size(arena_->size());
  body->set_session_dir(options_.session_dir);
  if (request.kind() == rpc::DRIVER) {
    // The GCS gives the job its id; the driver learns it with the reply.
    rpc::JobInfo job;
    job.set_driver_pid(request.pid());
    job.set_namespace_(request.namespace_());
    job.set_config(request.job_config());
    gcs_.AddJob(std::move(job), [this, client = connection.id(), reply,
                                 config = request.job_config()](absl::StatusOr<JobId> job_id) mutable {
      Connection* driver = FindConnection(client);
      if (job_id.ok() && driver == nullptr) gcs_.MarkJobFinished(*job_id, nullptr);
      if (driver == nullptr) return;
      if (!job_id.ok()) {
        reply.mutable_register_reply()->set_error("cannot register the job with the GCS: " +
                                                  std::string(job_id.status().message()));
      } else {
        driver->job_id = *job_id;
        reply.mutable_register_reply()->set_job_id(job_id->Binary());
        // Workers read the job's config from here when they run its tasks.
        gcs_.KvPut("job:" + job_id->Hex(), std::move(config), true, nullptr);
      }
      FinishRegister(*driver, reply);
    });
    return;
  } else if (request.kind() == rpc::WORKER) {
    if (!pool_.OnRegistered(WorkerId::FromBinary(request.worker_id()), connection.id())) {
      body->set_error("unknown worker id");
    }
  } else {
    body->set_error("unknown client kind");
  }
  FinishRegister(connection, reply);
}

void NodeManager::FinishRegister(Connection& connection, const rpc::Message& reply) {
  if (!connection.SendWithFd(reply, arena_->fd())) {
    connection.Close();
    return;
  }
  if (connection.kind == rpc::WORKER) {
    startup_failures_ = 0;
    TryDispatch();
  }
}

void NodeManager::HandleSubmit(Connection& connection, rpc::TaskSpec& spec) {
  const TaskId task_id = TaskId::FromBinary(spec.task_id());
  auto [it, inserted] = tasks_.try_emplace(task_id);
  if (!inserted) return;  // duplicate submission
  TaskRecord& record = it->second;
  record.owner = connection.id();
  record.demand = ResourceSet::FromProto(spec.resources());
  record.retries_left = spec.max_retries();
  for (uint32_t i = 1; i <= spec.num_returns(); ++i) {
    const ObjectId id = ObjectIdFor(task_id, i);
    objects_.AddPending(connection.id(), id);
    // The caller gets its results pushed as soon as they exist.
    objects_.Subscribe(connection.id(), id);
  }
  std::vector<ObjectId> unready;
  auto hold = [&](const std::string& binary, bool dependency) {
    const ObjectId id = ObjectId::FromBinary(binary);
    objects_.AddRef(kTaskArgHolder, id);
    record.arg_refs.push_back(id);
    if (dependency && objects_.Contains(id) && !objects_.IsReady(id)) unready.push_back(id);
  };
  if (spec.streaming()) {
    generators_[task_id] = GeneratorState{connection.id()};
    objects_.AddPending(connection.id(), ObjectIdFor(task_id, 2));  // the first item
  }
  for (const auto& dep : spec.dependencies()) hold(dep, true);
  for (const auto& nested : spec.nested_refs()) hold(nested, false);
  if (!spec.args_object_id().empty()) hold(spec.args_object_id(), true);
  record.spec = std::move(spec);

  if (!record.spec.actor_id().empty() && !record.spec.has_actor()) {
    SubmitActorCall(task_id, record);
    return;
  }
  if (record.spec.has_actor()) {
    ActorRecord& actor = actors_[task_id];
    actor.creation = record.spec;
    actor.restarts_left = record.spec.actor().max_restarts();
    actor.owner = connection.id();
    actor.owner_pid = connection.pid;
    // A detached actor's handle object is held by the raylet until kill.
    if (record.spec.actor().detached()) objects_.AddRef(kTaskArgHolder, ObjectIdFor(task_id, 1));
  }
  if (workers_broken_) {
    FailTask(record, rpc::WORKER_CRASHED, workers_broken_reason_);
    FinishTask(task_id);
    return;
  }
  if (ParkForPlacementGroup(task_id, record.demand)) return;
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
  if (!pending_groups_.empty()) ReservePlacementGroups();
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
      Lease& lease = leases_[*worker];
      lease.demand = it->second.demand;
      lease.shape = lease.demand.ShapeKey();
      lease.actor_creation = it->second.spec.has_actor();
      lease.gpus = gpus_.Take(GpuDemand(lease.demand));
      Assign(task_id, *worker);
    }
  }
  // Tasks that wait only because the node's resources are taken queue
  // behind running tasks of the same shape (which hold those resources), so
  // short tasks run back to back. Tasks that fit now get a worker of their
  // own instead (the pool grows), and a worker that goes idle pulls queued
  // tasks back (MaybeRebalance): a long task never holds others hostage.
  if (scheduler_.num_dispatchable() > 0) {
    for (auto& [worker, lease] : leases_) {
      if (lease.actor_creation || lease.cpu_released || lease.return_requested || lease.tasks.empty() ||
          lease.tasks.size() >= kPipelineDepth || lease.demand.Empty() ||
          lease.demand.IsSubsetOf(scheduler_.available())) {
        continue;
      }
      for (const TaskId& task_id :
           scheduler_.TakeQueued(lease.shape, kPipelineDepth - lease.tasks.size())) {
        Assign(task_id, worker);
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

void NodeManager::Assign(const TaskId& task_id, ClientId worker) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return;
  TaskRecord& record = it->second;
  leases_[worker].tasks.push_back(task_id);
  if (!SendTask(task_id, record, worker)) RemoveFromLease(worker, task_id);
}

bool NodeManager::SendTask(const TaskId& task_id, TaskRecord& record, ClientId worker) {
  record.running = true;
  record.worker = worker;
  if (const WorkerInfo* info = pool_.Find(worker)) record.worker_pid = info->pid;
  // A failed argument fails the task without running it.
  if (const ObjectEntry* failed = FailedDependency(record.spec)) {
    FailTask(record, failed->error, failed->error_message, failed->inline_data);
    FinishTask(task_id);
    return false;
  }
  if (!RestoreArgs(record.spec)) {
    // Arguments spilled to disk and no room to bring them back yet (clients
    // were asked to unpin): the task is scheduled again shortly, for a while.
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
  if (Connection* connection = FindConnection(worker)) connection->Send(message);
  StartTimeoutClock(worker);
  return true;
}

bool NodeManager::HasUnreadyArgs(const rpc::TaskSpec& spec, const ObjectTable& objects) {
  auto unready = [&](const std::string& binary) {
    const ObjectId id = ObjectId::FromBinary(binary);
    return objects.Contains(id) && !objects.IsReady(id);
  };
  for (const auto& dep : spec.dependencies()) {
    if (unready(dep)) return true;
  }
  return !spec.args_object_id().empty() && unready(spec.args_object_id());
}

void NodeManager::RemoveFromLease(ClientId worker, const TaskId& task_id) {
  auto it = leases_.find(worker);
  if (it == leases_.end()) return;
  Lease& lease = it->second;
  auto found = std::find(lease.tasks.begin(), lease.tasks.end(), task_id);
  if (found != lease.tasks.end()) lease.tasks.erase(found);
  if (!lease.tasks.empty()) {
    StartTimeoutClock(worker);
    return;
  }
  EndLease(it);
  pool_.OnTaskFinished(worker);
}

void NodeManager::HandleTasksReturned(Connection& connection, const rpc::TasksReturned& returned) {
  auto lease = leases_.find(connection.id());
  if (lease != leases_.end()) lease->second.return_requested = false;
  for (const auto& binary : returned.task_ids()) {
    const TaskId task_id = TaskId::FromBinary(binary);
    auto it = tasks_.find(task_id);
    if (it == tasks_.end() || it->second.worker != connection.id()) continue;
    RemoveFromLease(connection.id(), task_id);
    Enqueue(task_id, it->second);
  }
  TryDispatch();
}

void NodeManager::MaybeRebalance() {
  if (scheduler_.num_dispatchable() > 0 || pool_.num_idle() == 0) return;
  for (auto& [worker, lease] : leases_) {
    if (lease.tasks.size() > 1 && !lease.return_requested) {
      lease.return_requested = true;
      rpc::Message message;
      message.mutable_return_tasks();
      if (Connection* connection = FindConnection(worker)) connection->Send(message);
    }
  }
}

void NodeManager::HandleTaskDone(Connection& connection, rpc::TaskDone& done) {
  const TaskId task_id = TaskId::FromBinary(done.task_id());
  auto it = tasks_.find(task_id);
  if (it == tasks_.end() || it->second.worker != connection.id()) return;
  TaskRecord& record = it->second;
  if (record.spec.has_actor()) {
    HandleActorCreated(connection, task_id, record, done);
    return;
  }
  if (!record.spec.actor_id().empty()) {
    HandleActorCallDone(task_id, done);
    return;
  }
  RemoveFromLease(connection.id(), task_id);
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
  for (auto& ret : *done.mutable_returns()) {
    auto* data = ret.mutable_data();
    const ObjectId id = ObjectId::FromBinary(data->object_id());
    std::vector<ClientId> waiting;
    if (data->error() != rpc::ERROR_NONE) {
      waiting = objects_.SetError(id, data->error(), data->error_message(),
                                  std::move(*data->mutable_inline_data()));
    } else if (data->in_store()) {
      auto sealed = objects_.Seal(id, ToObjectIds(ret.contained_refs()));
      if (!sealed.ok()) continue;
      waiting = std::move(*sealed);
    } else {
      waiting = objects_.PutInline(kTaskArgHolder, id, std::move(*data->mutable_inline_data()),
                                   ToObjectIds(ret.contained_refs()));
    }
    ObjectReady(id, waiting);
  }
}

void NodeManager::Enqueue(const TaskId& task_id, TaskRecord& record) {
  record.running = false;
  record.worker = 0;
  record.clock_started = false;
  std::vector<ObjectId> unready;
  for (const auto& dep : record.spec.dependencies()) {
    const ObjectId id = ObjectId::FromBinary(dep);
    if (objects_.Contains(id) && !objects_.IsReady(id)) unready.push_back(id);
  }
  scheduler_.Add(task_id, record.demand, unready, record.spec.has_actor() ? "actor" : "");
}

void NodeManager::FailTask(TaskRecord& record, rpc::ErrorCode code, const std::string& message,
                           const std::string& payload) {
  const TaskId task_id = TaskId::FromBinary(record.spec.task_id());
  for (uint32_t i = 1; i <= record.spec.num_returns(); ++i) {
    const ObjectId id = ObjectIdFor(task_id, i);
    ObjectReady(id, objects_.SetError(id, code, message, payload));
  }
}

void NodeManager::ReleaseTaskArgs(TaskRecord& record) {
  for (const ObjectId& id : record.arg_refs) objects_.RemoveRef(kTaskArgHolder, id);
  record.arg_refs.clear();
}

void NodeManager::FinishTask(const TaskId& task_id) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return;
  if (it->second.spec.streaming()) OnGeneratorFinished(task_id);
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
  Connection* connection = FindConnection(client);
  if (connection == nullptr) return;
  if (!Restore(id) && attempt < kRestoreAttempts) {
    // No room to bring it back yet: clients were asked to unpin what they
    // only cache; try again shortly.
    After(kRestoreRetry, [this, client, id, attempt] { SendObject(client, id, attempt + 1); });
    return;
  }
  rpc::Message message;
  objects_.DescribeAndPin(client, id, message.mutable_object_ready());
  connection->Send(message);
}

void NodeManager::HandleCreate(Connection& connection, const rpc::CreateObject& request) {
  rpc::Message reply;
  auto* body = reply.mutable_create_reply();
  body->set_request_id(request.request_id());
  auto offset = CreateObject(connection.id(), ObjectId::FromBinary(request.object_id()),
                             request.size());
  if (offset.ok()) {
    body->set_offset(*offset);
  } else {
    body->set_error(rpc::OBJECT_STORE_FULL);
    body->set_error_message(std::string(offset.status().message()));
  }
  connection.Send(reply);
}

void NodeManager::HandleSubscribe(Connection& connection, const rpc::Subscribe& request) {
  for (const auto& binary : request.object_ids()) {
    const ObjectId id = ObjectId::FromBinary(binary);
    if (objects_.Subscribe(connection.id(), id)) SendObject(connection.id(), id);
  }
}

void NodeManager::HandleBlocked(Connection& connection, bool blocked) {
  auto it = leases_.find(connection.id());
  if (it == leases_.end()) return;
  Lease& lease = it->second;
  pool_.SetBlocked(connection.id(), blocked);
  const ResourceSet cpu = LentWhenBlocked(lease.demand);
  if (blocked && !lease.cpu_released) {
    lease.cpu_released = true;
    scheduler_.Release(cpu);
    TryDispatch();
  } else if (!blocked && lease.cpu_released) {
    lease.cpu_released = false;
    scheduler_.Acquire(cpu);
  }
}

void NodeManager::HandleCancel(const rpc::CancelTask& request) {
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

bool NodeManager::IsRunningOn(const TaskId& task_id, ClientId worker) const {
  auto lease = leases_.find(worker);
  return lease != leases_.end() && !lease->second.tasks.empty() &&
         lease->second.tasks.front() == task_id;
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
    if (Connection* connection = FindConnection(record.worker)) {
      rpc::Message cancel;
      cancel.mutable_cancel_task()->set_task_id(task_id.Binary());
      connection->Send(cancel);
    }
    return;
  }
  FailTask(record, code, message);  // get raises at once, whatever the worker does
  // A generator takes no more items: the caller's next ref raises this error.
  if (record.spec.streaming()) OnGeneratorFinished(task_id);
  if (!record.running) {
    scheduler_.Remove(task_id);
    FinishTask(task_id);
    return;
  }
  const ClientId worker = record.worker;
  if (force && IsRunningOn(task_id, worker) && record.worker_pid > 0) {
    kill(record.worker_pid, SIGKILL);
    return;
  }
  // The worker drops it if still queued there, else interrupts it.
  if (Connection* connection = FindConnection(worker)) {
    rpc::Message cancel;
    cancel.mutable_cancel_task()->set_task_id(task_id.Binary());
    connection->Send(cancel);
  }
  After(kCancelGrace, [this, task_id, worker] {
    auto it = tasks_.find(task_id);
    if (it == tasks_.end() || !IsRunningOn(task_id, worker) || it->second.worker_pid <= 0) return;
    LogToDriver(it->second, "task " + it->second.spec.function_name() +
                                " did not stop when cancelled; killing its worker (pid " +
                                std::to_string(it->second.worker_pid) + ")");
    kill(it->second.worker_pid, SIGKILL);
  });
}

void NodeManager::StartTimeoutClock(ClientId worker) {
  auto lease = leases_.find(worker);
  if (lease == leases_.end() || lease->second.tasks.empty()) return;
  const TaskId task_id = lease->second.tasks.front();
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
      !IsRunningOn(task_id, record.worker)) {
    return;
  }
  std::ostringstream limit;
  limit << record.spec.timeout_s();
  const std::string what = "task " + record.spec.function_name() + " timed out after " +
                           limit.str() + " s (timeout_s)";
  if (record.spec.retry_on_timeout() && record.retries_left != 0 && record.worker_pid > 0) {
    // Its worker goes; OnWorkerLost runs it again.
    record.timed_out = true;
    kill(record.worker_pid, SIGKILL);
    return;
  }
  CancelTask(task_id, false, rpc::TASK_TIMEOUT, what);
}

void NodeManager::After(std::chrono::milliseconds delay, std::function<void()> action) {
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, delay);
  timer->async_wait([timer, action = std::move(action)](const boost::system::error_code& error) {
    if (!error) action();
  });
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
  HandleLogLines(message);
}

void NodeManager::HandleClusterInfo(Connection& connection, uint64_t request_id) {
  gcs_.GetAllNodes([this, client = connection.id(),
                    request_id](absl::StatusOr<std::vector<rpc::NodeInfo>> nodes) {
    if (Connection* connection = FindConnection(client)) {
      connection->Send(ClusterInfoReply(request_id, std::move(nodes)));
    }
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
        if (amount > 0 && name.find("_group_") != std::string::npos) {
          (*node.mutable_total()->mutable_amounts())[name] = amount;
        }
      }
    }
    *body->add_nodes() = std::move(node);
  }
  return reply;
}

void NodeManager::HandleStoreStats(Connection& connection, uint64_t request_id) {
  rpc::Message reply;
  auto* body = reply.mutable_store_stats_reply();
  body->set_request_id(request_id);
  const StoreStats stats = objects_.Stats();
  body->set_capacity(stats.capacity);
  body->set_used(stats.used);
  body->set_num_objects(stats.num_objects);
  body->set_num_inline_objects(stats.num_inline);
  body->set_num_tasks(tasks_.size());
  connection.Send(reply);
}

void NodeManager::HandleLogLines(rpc::Message& message) {
  const JobId job = JobId::FromBinary(message.log_lines().job_id());
  for (auto& [id, connection] : connections_) {
    if (connection->kind == rpc::DRIVER && connection->log_to_driver && connection->job_id == job) {
      connection->Send(message);
    }
  }
}

void NodeManager::OnClosed(Connection& connection) {
  const ClientId client = connection.id();
  std::shared_ptr<Connection> keep = connections_[client];
  connections_.erase(client);
  objects_.DropClient(client);
  // Its generators' items were its references: nobody takes them now.
  for (auto& [task_id, gen] : generators_) {
    if (gen.owner == client) gen.released = true;
  }
  absl::erase_if(generators_, [](const auto& entry) {
    return entry.second.released && entry.second.finished;
  });
  if (!actors_.empty()) EndActorsOwnedBy(client);
  if (connection.kind == rpc::WORKER) {
    pool_.OnDisconnected(client);
    // The process normally exits right after; make sure it does.
    const pid_t pid = connection.pid;
    auto timer = std::make_shared<boost::asio::steady_timer>(io_, std::chrono::seconds(2));
    timer->async_wait([pid, timer, this](const boost::system::error_code& error) {
      if (error) return;
      for (pid_t alive : pool_.Pids()) {
        if (alive == pid) kill(pid, SIGKILL);
      }
    });
  } else if (connection.kind == rpc::DRIVER) {
    gcs_.MarkJobFinished(connection.job_id, nullptr);
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
    std::vector<TaskId> groups;
    for (const auto& [group_id, group] : placement_groups_) {
      if (group.owner == client && !group.detached) groups.push_back(group_id);
    }
    for (const TaskId& group_id : groups) RemovePlacementGroup(group_id);
    if (options_.driver_pid != 0 && connection.pid == options_.driver_pid) {
      std::cerr << "flare-raylet: driver " << connection.pid << " disconnected; stopping\n";
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
}

void NodeManager::OnWorkerLost(const WorkerInfo& info, const std::string& cause) {
  if (auto actor = actor_by_worker_.find(info.client); actor != actor_by_worker_.end()) {
    const TaskId actor_id = actor->second;
    actor_by_worker_.erase(actor);
    OnActorWorkerLost(actor_id, cause);
    return;
  }
  auto lease_it = leases_.find(info.client);
  if (info.client == 0 || lease_it == leases_.end()) return;
  Lease lease = lease_it->second;
  EndLease(lease_it);
  // Tasks queued behind the running one never started: they simply go back.
  for (size_t i = 1; i < lease.tasks.size(); ++i) {
    auto it = tasks_.find(lease.tasks[i]);
    if (it != tasks_.end()) Enqueue(lease.tasks[i], it->second);
  }
  if (lease.tasks.empty()) return;
  const TaskId task_id = lease.tasks.front();
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
  if (!GeneratorRestartable(task_id)) {
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
  for (pid_t pid : pool_.Pids()) kill(pid, signal);
}

}  // namespace flare
