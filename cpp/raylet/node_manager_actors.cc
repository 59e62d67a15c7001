// Actors: the NodeManager methods that create, call, restart and end them.
// An actor is one dedicated worker. Its creation task is scheduled like any
// task (placement resources, a worker from the pool); once the constructor
// returns, the worker leaves the pool for good, the actor holds its lifetime
// resources, and calls go straight to it in arrival order, without the
// scheduler. The actor's handle object (creation return 1) is reference
// counted like any object: when it is freed, no handle is left anywhere and
// the actor ends once its pending calls are done.
#include <signal.h>

#include <algorithm>
#include <utility>

#include "raylet/node_manager.h"

namespace flare {

namespace {

std::string ActorName(const rpc::TaskSpec& creation) {
  return creation.actor().class_name().empty() ? "actor" : creation.actor().class_name();
}

}  // namespace

void NodeManager::SubmitActorCall(const TaskId& task_id, TaskRecord& record) {
  const TaskId actor_id = TaskId::FromBinary(record.spec.actor_id());
  auto it = actors_.find(actor_id);
  if (it == actors_.end()) {
    FailActorCall(task_id, "the actor " + actor_id.Hex() + " does not exist (it ended, or its "
                           "handle outlived it)");
    return;
  }
  ActorRecord& actor = it->second;
  if (actor.state == ActorState::kDead) {
    FailActorCall(task_id, actor.death);
    return;
  }
  record.retries_left = actor.creation.actor().max_task_retries();
  actor.queue.push_back(task_id);
  PumpActor(actor_id);
}

void NodeManager::PumpActor(const TaskId& actor_id) {
  auto it = actors_.find(actor_id);
  if (it == actors_.end() || it->second.state != ActorState::kAlive) return;
  ActorRecord& actor = it->second;
  while (!actor.queue.empty()) {
    const TaskId task_id = actor.queue.front();
    auto task = tasks_.find(task_id);
    if (task == tasks_.end()) {  // cancelled while queued
      actor.queue.pop_front();
      continue;
    }
    // Calls run in arrival order: one waiting for an argument holds back
    // the calls behind it, unless the actor runs calls out of order.
    if (!UnreadyArgs(task->second.spec).empty()) {
      actors_waiting_args_.insert(actor_id);
      if (actor.creation.actor().out_of_order()) PumpReadyCalls(actor);
      return;
    }
    actor.queue.pop_front();
    SendActorCall(actor, task_id, task->second);
  }
}

void NodeManager::PumpReadyCalls(ActorRecord& actor) {
  // The calls whose arguments are ready go now; the others keep their
  // place and go when their arguments are (ObjectReady pumps again).
  std::deque<TaskId> waiting;
  for (const TaskId& task_id : std::exchange(actor.queue, {})) {
    auto task = tasks_.find(task_id);
    if (task == tasks_.end()) continue;  // cancelled while queued
    if (!UnreadyArgs(task->second.spec).empty()) {
      waiting.push_back(task_id);
    } else {
      SendActorCall(actor, task_id, task->second);
    }
  }
  actor.queue = std::move(waiting);
}

void NodeManager::SendActorCall(ActorRecord& actor, const TaskId& task_id, TaskRecord& record) {
  actor.in_flight.push_back(task_id);
  if (!SendTask(task_id, record, actor.worker)) {
    actor.in_flight.pop_back();
  } else {
    record.worker_pid = actor.pid;
  }
}

void NodeManager::EndActorsOwnedBy(ClientId owner) {
  std::vector<TaskId> owned;
  for (const auto& [actor_id, actor] : actors_) {
    if (actor.owner == owner && actor.state != ActorState::kDead &&
        !actor.creation.actor().detached()) {
      owned.push_back(actor_id);
    }
  }
  for (const TaskId& actor_id : owned) {
    auto it = actors_.find(actor_id);
    if (it == actors_.end()) continue;
    MarkActorDead(actor_id, "the actor " + ActorName(it->second.creation) +
                                " died: its owner (the process that created it, pid " +
                                std::to_string(it->second.owner_pid) + ") died");
  }
}

void NodeManager::HandleActorCreated(ClientId worker, const TaskId& task_id,
                                     TaskRecord& record, rpc::TaskDone& done) {
  // The creation's lease ends; the actor keeps the worker, and the GPU
  // devices it was placed on if it holds GPUs for life.
  std::vector<uint32_t> gpus;
  if (auto lease = leases_.find(worker); lease != leases_.end()) {
    gpus = std::move(lease->second.gpus);
    lease->second.gpus.clear();
    EndLease(lease);
  }
  const double placed_gpus = GpuDemand(record.demand);
  record.running = false;
  const pid_t pid = record.worker_pid;
  auto it = actors_.find(task_id);
  if (it == actors_.end() || it->second.state == ActorState::kDead || record.cancelled ||
      done.application_error()) {
    // The constructor raised (or the actor was killed meanwhile): this
    // worker holds a half-built instance and is not reused.
    if (it != actors_.end() && done.application_error()) {
      const std::string trace =
          done.returns_size() > 0 ? done.returns(0).data().error_message() : "";
      MarkActorDead(task_id, "the actor " + ActorName(record.spec) +
                                 " could not be created: its constructor raised\n" + trace);
    }
    gpus_.Give(gpus, placed_gpus);
    const ObjectId handle = ObjectIdFor(task_id, 1);
    if (objects_.Contains(handle) && !objects_.IsReady(handle)) StoreReturns(done);
    FinishTask(task_id);
    if (pid > 0) node_io_.processes->Kill(pid, SIGKILL);
    TryDispatch();
    return;
  }
  ActorRecord& actor = it->second;
  actor.state = ActorState::kAlive;
  actor.worker = worker;
  actor.pid = pid;
  actor_by_worker_[worker] = task_id;
  pool_.Dedicate(worker);
  const ResourceSet lifetime = ResourceSet::FromProto(actor.creation.actor().lifetime_resources());
  scheduler_.Acquire(lifetime);
  actor.holds_lifetime = true;
  if (GpuDemand(lifetime) > 0) {
    actor.gpus = std::move(gpus);
  } else {
    gpus_.Give(gpus, placed_gpus);
  }
  // A restart finds the handle object stored by the first construction.
  const ObjectId handle = ObjectIdFor(task_id, 1);
  if (objects_.Contains(handle) && !objects_.IsReady(handle)) StoreReturns(done);
  FinishTask(task_id);
  if (actor.out_of_scope && actor.queue.empty()) {
    OnActorOutOfScope(task_id);
  } else {
    PumpActor(task_id);
  }
  TryDispatch();
}

void NodeManager::OnActorCreationFinished(const TaskId& task_id, TaskRecord& record) {
  auto it = actors_.find(task_id);
  if (it == actors_.end()) return;
  ActorRecord& actor = it->second;
  // The constructor's arguments stay referenced for restarts.
  if (actor.arg_refs.empty()) {
    actor.arg_refs = std::move(record.arg_refs);
    record.arg_refs.clear();
  }
  if (actor.state == ActorState::kAlive || actor.state == ActorState::kDead) return;
  // Cancelled, infeasible, or its workers kept dying while constructing
  // (the creation task's own retries, max_restarts of them, are spent).
  const ObjectEntry* handle = objects_.Find(ObjectIdFor(task_id, 1));
  const std::string why = handle != nullptr && !handle->error_message.empty()
                              ? handle->error_message
                              : "its creation task failed";
  MarkActorDead(task_id, "the actor " + ActorName(actor.creation) + " could not be created: " + why);
}

void NodeManager::HandleActorCallDone(const TaskId& task_id, rpc::TaskDone& done) {
  const TaskId actor_id = TaskId::FromBinary(tasks_.at(task_id).spec.actor_id());
  StoreReturns(done);
  FinishTask(task_id);
  auto it = actors_.find(actor_id);
  if (it == actors_.end()) return;
  ActorRecord& actor = it->second;
  auto& in_flight = actor.in_flight;
  in_flight.erase(std::remove(in_flight.begin(), in_flight.end(), task_id), in_flight.end());
  if (actor.out_of_scope && actor.queue.empty() && in_flight.empty()) {
    OnActorOutOfScope(actor_id);
  }
}

void NodeManager::OnKillActor(const rpc::KillActor& request) {
  const TaskId actor_id = TaskId::FromBinary(request.actor_id());
  auto it = actors_.find(actor_id);
  if (it == actors_.end() || it->second.state == ActorState::kDead) return;
  ActorRecord& actor = it->second;
  if (request.exiting()) {
    // The actor ends itself (exit_actor()): it is not killed here, so its
    // exit handlers run, unless it has not gone after a grace period.
    const ClientId worker = actor.worker;
    const pid_t pid = actor.pid;
    actor.pid = 0;
    MarkActorDead(actor_id, "the actor " + ActorName(actor.creation) +
                                " exited: exit_actor() was called");
    After(kActorExitGrace, [this, worker, pid] {
      if (pid > 0 && clients_.Find(worker) != nullptr) node_io_.processes->Kill(pid, SIGKILL);
    });
    return;
  }
  if (request.no_restart() || actor.restarts_left == 0) {
    MarkActorDead(actor_id, "the actor " + ActorName(actor.creation) + " was killed by kill()");
    return;
  }
  if (actor.pid > 0) node_io_.processes->Kill(actor.pid, SIGKILL);  // OnActorWorkerLost restarts it
}

void NodeManager::OnActorWorkerLost(const TaskId& actor_id, const std::string& cause) {
  auto it = actors_.find(actor_id);
  if (it == actors_.end() || it->second.state == ActorState::kDead) return;
  ActorRecord& actor = it->second;
  actor.worker = 0;
  actor.pid = 0;
  ReleaseLifetime(actor);
  const std::string name = ActorName(actor.creation);
  if (actor.no_restart || actor.out_of_scope || actor.restarts_left == 0) {
    MarkActorDead(actor_id, "the actor " + name + " died: its worker process " + cause);
    TryDispatch();
    return;
  }
  if (actor.restarts_left > 0) actor.restarts_left--;
  actor.state = ActorState::kRestarting;
  // Calls that were running go first again, in order, when they may be
  // retried; the others fail.
  std::vector<TaskId> in_flight = std::move(actor.in_flight);
  actor.in_flight.clear();
  for (auto call = in_flight.rbegin(); call != in_flight.rend(); ++call) {
    auto task = tasks_.find(*call);
    if (task == tasks_.end()) continue;
    TaskRecord& record = task->second;
    record.running = false;
    record.worker = 0;
    if (record.retries_left != 0 && !record.cancelled && generators_.Restartable(*call)) {
      if (record.retries_left > 0) record.retries_left--;
      record.spec.set_attempt(record.spec.attempt() + 1);
      actor.queue.push_front(*call);
    } else {
      FailActorCall(*call, "the actor " + name + " died while running this call: its worker "
                           "process " + cause + " (max_task_retries is exhausted)");
    }
  }
  LogToJob(actor.creation.job_id(),
           "actor " + name + " died (its worker process " + cause + "); restarting");
  ScheduleActorCreation(actor_id, actor);
  TryDispatch();
}

void NodeManager::ScheduleActorCreation(const TaskId& actor_id, ActorRecord& actor) {
  auto [it, inserted] = tasks_.try_emplace(actor_id);
  if (!inserted) return;  // already queued
  TaskRecord& record = it->second;
  record.spec = actor.creation;
  record.spec.set_attempt(record.spec.attempt() + 1);
  actor.creation.set_attempt(record.spec.attempt());
  record.demand = ResourceSet::FromProto(record.spec.resources());
  record.owner = 0;  // the raylet's own
  Enqueue(actor_id, record);
}

void NodeManager::OnActorOutOfScope(const TaskId& actor_id) {
  auto it = actors_.find(actor_id);
  if (it == actors_.end()) return;
  ActorRecord& actor = it->second;
  if (actor.state == ActorState::kDead) {
    actors_.erase(it);  // nothing can call it any more
    return;
  }
  actor.out_of_scope = true;
  // Pending calls finish first, as in Ray.
  if (actor.state == ActorState::kAlive && actor.queue.empty() && actor.in_flight.empty()) {
    MarkActorDead(actor_id, "the actor " + ActorName(actor.creation) +
                                " ended: no handle to it was left");
    actors_.erase(actor_id);
  }
}

void NodeManager::MarkActorDead(const TaskId& actor_id, const std::string& reason) {
  auto it = actors_.find(actor_id);
  if (it == actors_.end() || it->second.state == ActorState::kDead) return;
  ActorRecord& actor = it->second;
  actor.state = ActorState::kDead;
  actor.no_restart = true;
  actor.death = reason;
  // A creation still queued or running is dropped.
  if (tasks_.contains(actor_id)) {
    CancelTask(actor_id, true, rpc::ACTOR_DIED, reason);
  }
  std::vector<TaskId> pending(actor.in_flight.begin(), actor.in_flight.end());
  pending.insert(pending.end(), actor.queue.begin(), actor.queue.end());
  actor.in_flight.clear();
  actor.queue.clear();
  for (const TaskId& call : pending) FailActorCall(call, reason);
  ReleaseLifetime(actor);
  if (actor.worker != 0) {
    actor_by_worker_.erase(actor.worker);
    actor.worker = 0;
  }
  if (actor.pid > 0) {
    node_io_.processes->Kill(actor.pid, SIGKILL);
    actor.pid = 0;
  }
  if (!actor.creation.actor().name_key().empty()) kv_.Delete(actor.creation.actor().name_key());
  for (const ObjectId& id : actor.arg_refs) objects_.RemoveRef(kTaskArgHolder, id);
  actor.arg_refs.clear();
  // A detached actor's handle object is no longer held by the raylet.
  if (actor.creation.actor().detached()) {
    objects_.RemoveRef(kTaskArgHolder, ObjectIdFor(actor_id, 1));
  }
  TryDispatch();
}

void NodeManager::ReleaseLifetime(ActorRecord& actor) {
  if (!actor.holds_lifetime) return;
  const ResourceSet lifetime = ResourceSet::FromProto(actor.creation.actor().lifetime_resources());
  scheduler_.Release(lifetime);
  gpus_.Give(actor.gpus, GpuDemand(lifetime));
  actor.gpus.clear();
  actor.holds_lifetime = false;
}

void NodeManager::FailActorCall(const TaskId& task_id, const std::string& reason) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return;
  FailTask(it->second, rpc::ACTOR_DIED, reason);
  FinishTask(task_id);
}

}  // namespace flare
