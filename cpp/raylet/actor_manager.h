// Actors on this node: their creation, restarts, calls and death. An actor
// is one dedicated worker. Its creation task is scheduled like any task
// (placement resources, a worker from the pool); once the constructor
// returns, the worker leaves the pool for good, the actor holds its
// lifetime resources (and GPU devices), and calls go straight to it without
// the scheduler: in arrival order, a call waiting for an argument holding
// back the ones behind it, unless the actor runs calls out of order.
//
// An actor dies when it is killed, when its constructor raises, when its
// worker dies with no restarts left, when the process that created it goes
// (unless detached), or when no handle to it is left (once its pending
// calls are done: the handle object, creation return 1, is reference
// counted like any object). Its pending and later calls then fail with
// ACTOR_DIED saying why. With restarts left, a lost worker brings the
// constructor back on a fresh one, and calls that were running go first
// again when they may be retried (TaskManager::TakeRetry).
//
// No I/O of its own: calls are tasks of the TaskManager, workers are killed
// through ProcessControl, the GCS hears each state change, and grace
// periods run on Timers. Thread-compatible: the raylet's event loop is its
// only user.
#ifndef FLARE_RAYLET_ACTOR_MANAGER_H_
#define FLARE_RAYLET_ACTOR_MANAGER_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "common/ids.h"
#include "flare.pb.h"
#include "raylet/node_units.h"
#include "raylet/task_manager.h"

namespace flare {

class ActorManager : public ActorTasks {
 public:
  // How long an actor that called exit_actor() may take to run its exit
  // handlers before its process is killed.
  static constexpr std::chrono::milliseconds kExitGrace{10000};

  // Borrows everything; all must outlive this.
  ActorManager(const NodeUnits& units, TaskManager& tasks);

  // ActorTasks: what the TaskManager leaves to actors.
  void OnCreationSubmitted(const ActorId& actor_id, const ClientInfo& owner,
                           const rpc::TaskSpec& creation) override;
  void OnCallSubmitted(const TaskId& task_id, TaskRecord& record) override;
  void OnCreationDone(ClientId worker, const ActorId& actor_id, TaskRecord& record,
                      rpc::TaskDone& done) override;
  void OnCallDone(const TaskId& task_id, rpc::TaskDone& done) override;
  void OnCreationFinished(const ActorId& actor_id, TaskRecord& record) override;
  const std::vector<uint32_t>* Devices(ClientId worker) const override;
  bool Hosts(const ActorId& actor_id) const override { return actors_.contains(actor_id); }

  // A client asked to kill an actor (or the actor ends itself: exiting).
  void OnKill(const rpc::KillActor& request);
  // A worker's process ended (`cause` says how). False when it hosted no
  // actor (its tasks are the TaskManager's).
  bool OnWorkerLost(ClientId worker, const std::string& cause);
  // A driver or worker left: the non-detached actors it created die with it.
  void OnOwnerGone(ClientId owner);
  // Some object became ready: calls that waited for arguments may go.
  void OnObjectReady() override;
  // An object was freed; if it was an actor's handle, the actor is out of
  // scope (handled after the current event).
  void OnObjectFreed(const ObjectId& id);
  // Placement group `group_id` is going: the actors placed in it die.
  void EndActorsInGroup(const PlacementGroupId& group_id, const std::string& reason);

  // Actors known (alive, being created or restarted, or dead while a handle
  // to them remains).
  size_t size() const { return actors_.size(); }

 private:
  enum class State { kCreating, kAlive, kRestarting, kDead };
  // The record stays (dead) until its handle object is freed, so late calls
  // learn why it died. Its id is its creation task's id (ActorIdOf).
  struct Actor {
    rpc::TaskSpec creation;          // to construct it again on restart
    std::vector<ObjectId> arg_refs;  // the constructor's arguments, kept for restarts
    State state = State::kCreating;
    ClientId worker = 0;
    pid_t pid = 0;
    std::deque<TaskId> queue;       // calls not yet sent to the worker
    std::vector<TaskId> in_flight;  // sent, not done
    int restarts_left = 0;          // negative: unlimited
    bool holds_lifetime = false;    // lifetime resources acquired
    std::vector<uint32_t> gpus;     // the devices its lifetime GPUs use
    bool out_of_scope = false;      // no handle left: ends once idle
    bool no_restart = false;        // killed for good
    std::string death;              // why it died
    // The process that created it: a non-detached actor dies with it, as
    // in Ray (0: unknown).
    ClientId owner = 0;
    pid_t owner_pid = 0;
    // Placed here by another node (the owner is a PEER): the handle object
    // here is held for that node until it says no handle is left there.
    bool held_for_peer = false;
  };
  using ActorMap = absl::flat_hash_map<ActorId, Actor, IdHash>;

  // Sends queued calls whose arguments are ready, in order, to a live actor.
  void Pump(const ActorId& actor_id);
  // An out-of-order actor: sends every queued call whose arguments are ready.
  void PumpReadyCalls(Actor& actor);
  void SendCall(Actor& actor, const TaskId& task_id, TaskRecord& record);
  // Its worker is gone: restart it, or it dies.
  void OnActorWorkerLost(const ActorId& actor_id, const std::string& cause);
  // Its last handle is gone.
  void OnOutOfScope(const ActorId& actor_id);
  // Fails every pending call with `reason`, frees what it holds, drops its
  // name (the GCS hears it is dead).
  void MarkDead(const ActorId& actor_id, const std::string& reason);
  // Gives back what a live actor holds for its life (resources, devices).
  void ReleaseLifetime(Actor& actor);
  // The node that placed the actor here holds no handle to it any more.
  void ReleasePeerHold(const ActorId& actor_id);
  // Stores the handle object unless an earlier construction did.
  void StoreHandle(const ActorId& actor_id, rpc::TaskDone& done);

  TaskManager& tasks_;
  ObjectTable& objects_;
  Scheduler& scheduler_;
  GpuSlots& gpus_;
  LeaseManager& leases_;
  WorkerPool& pool_;
  PlacementGroupManager& groups_;
  GcsClient& gcs_;
  ClientChannel& clients_;
  ProcessControl& processes_;
  Timers& timers_;

  ActorMap actors_;
  absl::flat_hash_map<ClientId, ActorId> by_worker_;
  absl::flat_hash_set<ActorId, IdHash> waiting_args_;  // actors with a call waiting
};

}  // namespace flare

#endif  // FLARE_RAYLET_ACTOR_MANAGER_H_
