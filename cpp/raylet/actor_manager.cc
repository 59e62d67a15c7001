#include "raylet/actor_manager.h"

#include <signal.h>

#include <algorithm>
#include <utility>

namespace flare {

namespace {

std::string ActorName(const rpc::TaskSpec& creation) {
  return creation.actor().class_name().empty() ? "actor" : creation.actor().class_name();
}

}  // namespace

ActorManager::ActorManager(const NodeUnits& units, TaskManager& tasks)
    : tasks_(tasks),
      objects_(units.objects),
      scheduler_(units.scheduler),
      gpus_(units.gpus),
      leases_(units.leases),
      pool_(units.pool),
      groups_(units.groups),
      gcs_(units.gcs),
      clients_(units.clients),
      processes_(units.processes),
      timers_(units.timers) {}

// ---- creation ---------------------------------------------------------------------

void ActorManager::OnCreationSubmitted(const ActorId& actor_id, const ClientInfo& owner,
                                       const rpc::TaskSpec& creation) {
  Actor& actor = actors_[actor_id];
  actor.creation = creation;
  actor.restarts_left = creation.actor().max_restarts();
  actor.owner = owner.id;
  actor.owner_pid = owner.pid;
  // A detached actor's handle object is held by the raylet until kill; an
  // actor another node placed here, until that node has no handle left
  // (handles there are counted there: the copy here is not theirs).
  actor.held_for_peer = owner.kind == rpc::PEER && !creation.actor().detached();
  if (creation.actor().detached() || actor.held_for_peer) {
    objects_.AddRef(kTaskArgHolder, HandleOf(actor_id));
  }
}

void ActorManager::ReleasePeerHold(const ActorId& actor_id) {
  auto it = actors_.find(actor_id);
  if (it == actors_.end() || !it->second.held_for_peer) return;
  it->second.held_for_peer = false;
  objects_.RemoveRef(kTaskArgHolder, HandleOf(actor_id));  // may end it (OnObjectFreed)
}

void ActorManager::OnCreationDone(ClientId worker, const ActorId& actor_id, TaskRecord& record,
                                  rpc::TaskDone& done) {
  // The creation's lease ends; the actor keeps the worker, and the GPU
  // devices it was placed on if it holds GPUs for life.
  std::vector<uint32_t> gpus = leases_.EndKeepingDevices(worker);
  const double placed_gpus = LeaseManager::GpuDemand(record.demand);
  record.running = false;
  const pid_t pid = record.worker_pid;
  auto it = actors_.find(actor_id);
  if (it == actors_.end() || it->second.state == State::kDead || record.cancelled ||
      done.application_error()) {
    // The constructor raised (or the actor was killed meanwhile): this
    // worker holds a half-built instance and is not reused.
    if (it != actors_.end() && done.application_error()) {
      const std::string trace =
          done.returns_size() > 0 ? done.returns(0).data().error_message() : "";
      MarkDead(actor_id, "the actor " + ActorName(record.spec) +
                             " could not be created: its constructor raised\n" + trace);
    }
    gpus_.Give(gpus, placed_gpus);
    StoreHandle(actor_id, done);
    tasks_.Finish(CreationTaskOf(actor_id));
    if (pid > 0) processes_.Kill(pid, SIGKILL);
    tasks_.Dispatch();
    return;
  }
  Actor& actor = it->second;
  actor.state = State::kAlive;
  gcs_.ReportActorState(actor_id, rpc::ACTOR_ALIVE, nullptr);
  actor.worker = worker;
  actor.pid = pid;
  by_worker_[worker] = actor_id;
  pool_.Dedicate(worker);
  const ResourceSet lifetime = ResourceSet::FromProto(actor.creation.actor().lifetime_resources());
  scheduler_.Acquire(lifetime);
  actor.holds_lifetime = true;
  if (LeaseManager::GpuDemand(lifetime) > 0) {
    actor.gpus = std::move(gpus);
  } else {
    gpus_.Give(gpus, placed_gpus);
  }
  StoreHandle(actor_id, done);
  tasks_.Finish(CreationTaskOf(actor_id));
  if (actor.out_of_scope && actor.queue.empty()) {
    OnOutOfScope(actor_id);
  } else {
    Pump(actor_id);
  }
  tasks_.Dispatch();
}

void ActorManager::StoreHandle(const ActorId& actor_id, rpc::TaskDone& done) {
  // A restart finds the handle object stored by the first construction.
  const ObjectId handle = HandleOf(actor_id);
  if (objects_.Contains(handle) && !objects_.IsReady(handle)) tasks_.StoreReturns(done);
}

void ActorManager::OnCreationFinished(const ActorId& actor_id, TaskRecord& record) {
  auto it = actors_.find(actor_id);
  if (it == actors_.end()) return;
  Actor& actor = it->second;
  // The constructor's arguments stay referenced for restarts.
  if (actor.arg_refs.empty()) {
    actor.arg_refs = std::move(record.arg_refs);
    record.arg_refs.clear();
  }
  if (actor.state == State::kAlive || actor.state == State::kDead) return;
  // Cancelled, infeasible, or its workers kept dying while constructing
  // (the creation task's own retries, max_restarts of them, are spent).
  const ObjectEntry* handle = objects_.Find(HandleOf(actor_id));
  const std::string why = handle != nullptr && !handle->error_message.empty()
                              ? handle->error_message
                              : "its creation task failed";
  MarkDead(actor_id, "the actor " + ActorName(actor.creation) + " could not be created: " + why);
}

const std::vector<uint32_t>* ActorManager::Devices(ClientId worker) const {
  auto actor = by_worker_.find(worker);
  if (actor == by_worker_.end()) return nullptr;
  auto record = actors_.find(actor->second);
  return record == actors_.end() ? nullptr : &record->second.gpus;
}

// ---- calls ----------------------------------------------------------------------------

void ActorManager::OnCallSubmitted(const TaskId& task_id, TaskRecord& record) {
  const ActorId actor_id = ActorId::FromBinary(record.spec.actor_id());
  auto it = actors_.find(actor_id);
  if (it == actors_.end()) {
    tasks_.Fail(task_id, rpc::ACTOR_DIED,
                "the actor " + actor_id.Hex() +
                    " does not exist (it ended, or its handle outlived it)");
    return;
  }
  Actor& actor = it->second;
  if (actor.state == State::kDead) {
    tasks_.Fail(task_id, rpc::ACTOR_DIED, actor.death);
    return;
  }
  record.retries_left = actor.creation.actor().max_task_retries();
  actor.queue.push_back(task_id);
  Pump(actor_id);
}

void ActorManager::Pump(const ActorId& actor_id) {
  auto it = actors_.find(actor_id);
  if (it == actors_.end() || it->second.state != State::kAlive) return;
  Actor& actor = it->second;
  while (!actor.queue.empty()) {
    const TaskId task_id = actor.queue.front();
    TaskRecord* task = tasks_.Find(task_id);
    if (task == nullptr) {  // cancelled while queued
      actor.queue.pop_front();
      continue;
    }
    // Calls run in arrival order: one waiting for an argument holds back
    // the calls behind it, unless the actor runs calls out of order.
    if (!tasks_.ArgsHere(task->spec)) {
      waiting_args_.insert(actor_id);
      if (actor.creation.actor().out_of_order()) PumpReadyCalls(actor);
      return;
    }
    actor.queue.pop_front();
    SendCall(actor, task_id, *task);
  }
}

void ActorManager::PumpReadyCalls(Actor& actor) {
  // The calls whose arguments are ready go now; the others keep their
  // place and go when their arguments are (OnObjectReady pumps again).
  std::deque<TaskId> waiting;
  for (const TaskId& task_id : std::exchange(actor.queue, {})) {
    TaskRecord* task = tasks_.Find(task_id);
    if (task == nullptr) continue;  // cancelled while queued
    if (!tasks_.ArgsHere(task->spec)) {
      waiting.push_back(task_id);
    } else {
      SendCall(actor, task_id, *task);
    }
  }
  actor.queue = std::move(waiting);
}

void ActorManager::SendCall(Actor& actor, const TaskId& task_id, TaskRecord& record) {
  actor.in_flight.push_back(task_id);
  if (!tasks_.SendTo(task_id, record, actor.worker)) {
    actor.in_flight.pop_back();
  } else {
    record.worker_pid = actor.pid;
  }
}

void ActorManager::OnCallDone(const TaskId& task_id, rpc::TaskDone& done) {
  const ActorId actor_id = ActorId::FromBinary(tasks_.Find(task_id)->spec.actor_id());
  tasks_.StoreReturns(done);
  tasks_.Finish(task_id);
  auto it = actors_.find(actor_id);
  if (it == actors_.end()) return;
  Actor& actor = it->second;
  auto& in_flight = actor.in_flight;
  in_flight.erase(std::remove(in_flight.begin(), in_flight.end(), task_id), in_flight.end());
  if (actor.out_of_scope && actor.queue.empty() && in_flight.empty()) OnOutOfScope(actor_id);
}

void ActorManager::OnObjectReady() {
  if (waiting_args_.empty()) return;
  auto actors = std::move(waiting_args_);
  waiting_args_.clear();
  for (const ActorId& actor : actors) Pump(actor);
}

// ---- restarts and death -------------------------------------------------------------

void ActorManager::OnKill(const rpc::KillActor& request) {
  const ActorId actor_id = ActorId::FromBinary(request.actor_id());
  if (request.out_of_scope()) {
    auto it = actors_.find(actor_id);
    if (request.no_restart() && it != actors_.end()) {
      MarkDead(actor_id, "the actor " + ActorName(it->second.creation) +
                             (request.owner_died()
                                  ? " died: its owner (the process that created it) died"
                                  : " was killed by kill()"));
    }
    ReleasePeerHold(actor_id);
    return;
  }
  auto it = actors_.find(actor_id);
  if (it == actors_.end() || it->second.state == State::kDead) return;
  Actor& actor = it->second;
  if (request.exiting()) {
    // The actor ends itself (exit_actor()): it is not killed here, so its
    // exit handlers run, unless it has not gone after a grace period.
    const ClientId worker = actor.worker;
    const pid_t pid = actor.pid;
    actor.pid = 0;
    MarkDead(actor_id, "the actor " + ActorName(actor.creation) +
                           " exited: exit_actor() was called");
    timers_.After(kExitGrace, [this, worker, pid] {
      if (pid > 0 && clients_.Find(worker) != nullptr) processes_.Kill(pid, SIGKILL);
    });
    return;
  }
  if (request.no_restart() || actor.restarts_left == 0) {
    MarkDead(actor_id, "the actor " + ActorName(actor.creation) + " was killed by kill()");
    return;
  }
  if (actor.pid > 0) processes_.Kill(actor.pid, SIGKILL);  // OnWorkerLost restarts it
}

bool ActorManager::OnWorkerLost(ClientId worker, const std::string& cause) {
  auto actor = by_worker_.find(worker);
  if (actor == by_worker_.end()) return false;
  const ActorId actor_id = actor->second;
  by_worker_.erase(actor);
  OnActorWorkerLost(actor_id, cause);
  return true;
}

void ActorManager::OnActorWorkerLost(const ActorId& actor_id, const std::string& cause) {
  auto it = actors_.find(actor_id);
  if (it == actors_.end() || it->second.state == State::kDead) return;
  Actor& actor = it->second;
  actor.worker = 0;
  actor.pid = 0;
  ReleaseLifetime(actor);
  const std::string name = ActorName(actor.creation);
  if (actor.no_restart || actor.out_of_scope || actor.restarts_left == 0) {
    MarkDead(actor_id, "the actor " + name + " died: its worker process " + cause);
    tasks_.Dispatch();
    return;
  }
  if (actor.restarts_left > 0) actor.restarts_left--;
  actor.state = State::kRestarting;
  gcs_.ReportActorState(actor_id, rpc::ACTOR_RESTARTING, nullptr);
  // Calls that were running go first again, in order, when they may be
  // retried; the others fail.
  std::vector<TaskId> in_flight = std::move(actor.in_flight);
  actor.in_flight.clear();
  for (auto call = in_flight.rbegin(); call != in_flight.rend(); ++call) {
    TaskRecord* record = tasks_.Find(*call);
    if (record == nullptr) continue;
    record->running = false;
    record->worker = 0;
    if (tasks_.TakeRetry(*call, *record)) {
      actor.queue.push_front(*call);
    } else {
      tasks_.Fail(*call, rpc::ACTOR_DIED,
                  "the actor " + name + " died while running this call: its worker process " +
                      cause + " (max_task_retries is exhausted)");
    }
  }
  LogToJob(clients_, actor.creation.job_id(),
           "actor " + name + " died (its worker process " + cause + "); restarting");
  // The constructor runs again on a fresh worker.
  if (tasks_.Find(CreationTaskOf(actor_id)) == nullptr) {
    actor.creation.set_attempt(actor.creation.attempt() + 1);
    tasks_.ScheduleActorCreation(actor_id, actor.creation);
  }
  tasks_.Dispatch();
}

void ActorManager::OnOwnerGone(ClientId owner) {
  std::vector<ActorId> owned;
  for (const auto& [actor_id, actor] : actors_) {
    if (actor.owner == owner && actor.state != State::kDead &&
        !actor.creation.actor().detached()) {
      owned.push_back(actor_id);
    }
  }
  for (const ActorId& actor_id : owned) {
    auto it = actors_.find(actor_id);
    if (it == actors_.end()) continue;
    const bool placed_by_peer = it->second.held_for_peer;
    MarkDead(actor_id, "the actor " + ActorName(it->second.creation) +
                           (placed_by_peer
                                ? " died: the node of its owner left the cluster"
                                : " died: its owner (the process that created it, pid " +
                                      std::to_string(it->second.owner_pid) + ") died"));
    ReleasePeerHold(actor_id);
  }
}

void ActorManager::EndActorsInGroup(const PlacementGroupId& group_id, const std::string& reason) {
  std::vector<ActorId> placed;
  for (const auto& [actor_id, actor] : actors_) {
    if (actor.state != State::kDead &&
        groups_.GroupOf(ResourceSet::FromProto(actor.creation.resources())) == group_id) {
      placed.push_back(actor_id);
    }
  }
  for (const ActorId& actor_id : placed) {
    MarkDead(actor_id, "the actor " + actor_id.Hex() + " was ended: " + reason);
  }
}

void ActorManager::OnObjectFreed(const ObjectId& id) {
  if (actors_.empty()) return;
  const ActorId actor_id = ActorIdOf(TaskOfObject(id));
  if (!actors_.contains(actor_id) || HandleOf(actor_id) != id) return;
  // Handled after the current event, which may still be using the actor.
  timers_.Post([this, actor_id] { OnOutOfScope(actor_id); });
}

void ActorManager::OnOutOfScope(const ActorId& actor_id) {
  auto it = actors_.find(actor_id);
  if (it == actors_.end()) return;
  Actor& actor = it->second;
  if (actor.state == State::kDead) {
    actors_.erase(it);  // nothing can call it any more
    return;
  }
  actor.out_of_scope = true;
  // Pending calls finish first, as in Ray.
  if (actor.state == State::kAlive && actor.queue.empty() && actor.in_flight.empty()) {
    MarkDead(actor_id,
             "the actor " + ActorName(actor.creation) + " ended: no handle to it was left");
    actors_.erase(actor_id);
  }
}

void ActorManager::MarkDead(const ActorId& actor_id, const std::string& reason) {
  auto it = actors_.find(actor_id);
  if (it == actors_.end() || it->second.state == State::kDead) return;
  Actor& actor = it->second;
  actor.state = State::kDead;
  actor.no_restart = true;
  actor.death = reason;
  // A creation still queued or running is dropped.
  const TaskId creation = CreationTaskOf(actor_id);
  if (tasks_.Find(creation) != nullptr) tasks_.Cancel(creation, true, rpc::ACTOR_DIED, reason);
  std::vector<TaskId> pending(actor.in_flight.begin(), actor.in_flight.end());
  pending.insert(pending.end(), actor.queue.begin(), actor.queue.end());
  actor.in_flight.clear();
  actor.queue.clear();
  for (const TaskId& call : pending) tasks_.Fail(call, rpc::ACTOR_DIED, reason);
  ReleaseLifetime(actor);
  if (actor.worker != 0) {
    by_worker_.erase(actor.worker);
    actor.worker = 0;
  }
  if (actor.pid > 0) {
    processes_.Kill(actor.pid, SIGKILL);
    actor.pid = 0;
  }
  gcs_.ReportActorState(actor_id, rpc::ACTOR_DEAD, nullptr);  // frees its name
  if (const ClientInfo* owner = clients_.Find(actor.owner);
      owner != nullptr && owner->kind == rpc::PEER) {
    // The node that placed it here keeps a record of it until it hears.
    rpc::Message died;
    died.mutable_actor_died()->set_actor_id(actor_id.Binary());
    died.mutable_actor_died()->set_death(reason);
    clients_.Send(actor.owner, died);
  }
  for (const ObjectId& id : actor.arg_refs) objects_.RemoveRef(kTaskArgHolder, id);
  actor.arg_refs.clear();
  // A detached actor's handle object is no longer held by the raylet.
  if (actor.creation.actor().detached()) {
    objects_.RemoveRef(kTaskArgHolder, HandleOf(actor_id));
  }
  tasks_.Dispatch();
}

void ActorManager::ReleaseLifetime(Actor& actor) {
  if (!actor.holds_lifetime) return;
  const ResourceSet lifetime = ResourceSet::FromProto(actor.creation.actor().lifetime_resources());
  scheduler_.Release(lifetime);
  gpus_.Give(actor.gpus, LeaseManager::GpuDemand(lifetime));
  actor.gpus.clear();
  actor.holds_lifetime = false;
}

}  // namespace flare
