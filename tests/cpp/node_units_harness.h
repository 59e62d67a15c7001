// The node's units — object table, spill, scheduler and policy, worker pool,
// leases, generators, placement groups — over the fakes of raylet_fakes.h,
// for specifying the task and actor managers without a NodeManager. A test
// fixture builds the managers on top (NodeUnits from units()) and attaches
// them, so that the harness reports events to them as the NodeManager
// would; tests play the drivers and workers, and read results from the
// object table.
#ifndef FLARE_TESTS_CPP_NODE_UNITS_HARNESS_H_
#define FLARE_TESTS_CPP_NODE_UNITS_HARNESS_H_

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/container/flat_hash_set.h"
#include "common/placement_group_resources.h"
#include "gcs/gcs.h"
#include "gcs/in_process_gcs_client.h"
#include "gcs/memory_store.h"
#include "raylet/actor_manager.h"
#include "raylet/node_units.h"
#include "raylet/scheduling_policy.h"
#include "raylet/task_manager.h"
#include "raylet_fakes.h"

namespace flare::testing {

// How the harness's workers die, as OnWorkerLost hears it.
inline constexpr char kKilled[] = "was killed by signal 9 (Killed)";

class NodeUnitsHarness : private ReturnStore {
 public:
  explicit NodeUnitsHarness(double cpus = 1)
      : scheduler_(ResourceSet::FromMap({{"CPU", cpus}})),
        pool_(launcher_, static_cast<size_t>(cpus), /*max_workers=*/8) {
    objects_.SetFreeListener([this](const ObjectId& id) {
      spill_.OnObjectFreed(id);
      if (actors_ != nullptr) actors_->OnObjectFreed(id);
      if (tasks_ != nullptr) tasks_->OnObjectFreed(id);
      remote_.OnFreed(id);
    });
    EXPECT_TRUE(pool_.Prestart().ok());
  }

  NodeUnits units() {
    return NodeUnits{objects_, *this,      scheduler_, gpus_,     leases_,    pool_,    spill_,
                     generators_, groups_, gcs_client_, clients_, processes_, timers_, remote_};
  }
  SchedulingPolicy& policy() { return policy_; }
  ClusterResourceView& view() { return view_; }
  RecordingPeers& peers() { return peers_; }
  RemoteTasks& remote() { return remote_; }

  // The managers under test. `actors` may be null: no task is an actor's.
  // REQUIRES: called once, before the events below.
  void Attach(TaskManager& tasks, ActorManager* actors) {
    tasks_ = &tasks;
    actors_ = actors;
  }

  // ---- events, reported as the NodeManager reports them ----------------------

  TaskId Submit(const ClientInfo& owner, rpc::TaskSpec spec) {
    const TaskId task_id = TaskId::FromBinary(spec.task_id());
    tasks_->Submit(owner, spec);
    return task_id;
  }
  // The next launched worker registers.
  ClientId StartWorker() {
    const ClientId worker = RegisterWorker();
    tasks_->Dispatch();
    tasks_->Rebalance();
    return worker;
  }
  // The worker's process was killed: it disconnects, then is reaped.
  void WorkerDies(ClientId worker) {
    const WorkerInfo info = WorkerExits(worker);
    if (actors_ == nullptr || !actors_->OnWorkerLost(info.client, kKilled)) {
      tasks_->OnWorkerLost(info, kKilled);
    }
    tasks_->Dispatch();
    tasks_->Rebalance();
  }
  void Done(ClientId worker, rpc::TaskDone done) { tasks_->OnTaskDone(worker, done); }
  // `by` asks to cancel `task` (a client of no particular kind by default).
  void Cancel(const TaskId& task, bool force = false, bool recursive = true,
              const ClientInfo& by = ClientInfo()) {
    rpc::CancelTask cancel;
    cancel.set_task_id(task.Binary());
    cancel.set_force(force);
    cancel.set_recursive(recursive);
    tasks_->OnCancel(by, cancel);
  }

  // A driver connects, with a job of its own, and asks for log lines.
  ClientInfo Driver(pid_t pid = 50) {
    ClientInfo& info = Connect(rpc::DRIVER, pid);
    info.job_id = JobId::FromRandom();
    info.log_to_driver = true;
    return info;
  }
  // `node`'s raylet connects, as it does to place tasks here.
  ClientInfo Peer(const NodeId& node) {
    ClientInfo& info = Connect(rpc::PEER, 0);
    info.node_id = node;
    return info;
  }
  size_t num_launched() const { return launcher_.launched.size(); }
  pid_t pid_of(ClientId client) const { return clients_.infos.at(client).pid; }
  std::vector<rpc::ExecuteTask> Executed(ClientId worker) { return clients_.Executed(worker); }
  std::vector<TaskId> ExecutedIds(ClientId worker) {
    std::vector<TaskId> ids;
    for (const auto& execute : Executed(worker)) {
      ids.push_back(TaskId::FromBinary(execute.spec().task_id()));
    }
    return ids;
  }

  // A worker's report that `task` returned `value` as return 1.
  static rpc::TaskDone Returned(const TaskId& task, const std::string& value = "value") {
    rpc::TaskDone done;
    done.set_task_id(task.Binary());
    auto* data = done.add_returns()->mutable_data();
    data->set_object_id(ObjectIdFor(task, 1).Binary());
    data->set_inline_data(value);
    return done;
  }
  // A worker's report that `task` raised `message` (retryable: it asked for
  // retry_exceptions and may run again).
  static rpc::TaskDone Raised(const TaskId& task, const std::string& message, bool retryable) {
    rpc::TaskDone done;
    done.set_task_id(task.Binary());
    done.set_application_error(true);
    done.set_retryable(retryable);
    auto* data = done.add_returns()->mutable_data();
    data->set_object_id(ObjectIdFor(task, 1).Binary());
    data->set_error(rpc::TASK_ERROR);
    data->set_error_message(message);
    return done;
  }

  // The object manager pulled a copy of `id` (made on another node) here:
  // it is sealed, and what waited for it is told, as OnObjectPulled does.
  void Fetched(const ObjectId& id) {
    const ObjectEntry* entry = objects_.Find(id);
    ASSERT_NE(entry, nullptr);
    ASSERT_TRUE(objects_.Create(kObjectManagerClient, id, entry->size).ok());
    ASSERT_TRUE(objects_.Seal(id, {}).ok());
    Ready(id);
    tasks_->Dispatch();
  }

  // Return `index` of `task` once stored (nullptr while it is unknown).
  const ObjectEntry* Result(const TaskId& task, uint32_t index = 1) const {
    const ObjectEntry* entry = objects_.Find(ObjectIdFor(task, index));
    return entry != nullptr && entry->state == ObjectState::kReady ? entry : nullptr;
  }
  rpc::ErrorCode ErrorOf(const TaskId& task) const {
    const ObjectEntry* entry = Result(task);
    return entry == nullptr ? rpc::ERROR_NONE : entry->error;
  }
  std::string MessageOf(const TaskId& task) const {
    const ObjectEntry* entry = Result(task);
    return entry == nullptr ? "" : entry->error_message;
  }

  ObjectTable& objects() { return objects_; }
  Scheduler& scheduler() { return scheduler_; }
  WorkerPool& pool() { return pool_; }
  GeneratorManager& generators() { return generators_; }
  PlacementGroupManager& groups() { return groups_; }
  RecordingClients& clients() { return clients_; }
  RecordingProcesses& processes() { return processes_; }
  ManualTimers& timers() { return timers_; }
  Gcs& gcs() { return gcs_; }

 private:
  ClientId RegisterWorker() {
    EXPECT_LT(registered_workers_, launcher_.launched.size()) << "no worker was launched";
    const size_t index = registered_workers_++;
    const ClientId worker = Connect(rpc::WORKER, 100 + static_cast<pid_t>(index + 1)).id;
    EXPECT_TRUE(pool_.OnRegistered(launcher_.launched[index], worker));
    return worker;
  }
  ClientInfo& Connect(rpc::ClientKind kind, pid_t pid) {
    const ClientId id = next_client_++;
    ClientInfo& info = clients_.infos[id];
    info.id = id;
    info.kind = kind;
    info.pid = pid;
    return info;
  }
  WorkerInfo WorkerExits(ClientId worker) {
    const pid_t pid = clients_.infos.at(worker).pid;
    clients_.infos.erase(worker);
    pool_.OnDisconnected(worker);
    auto info = pool_.OnProcessExited(pid);
    EXPECT_TRUE(info.has_value());
    return info.value_or(WorkerInfo{});
  }

  // ReturnStore: into the table, then wakes the tasks that waited on it.
  void Store(rpc::ReturnObject& ret) override {
    const rpc::ObjectData& data = ret.data();
    const ObjectId id = ObjectId::FromBinary(data.object_id());
    if (data.error() != rpc::ERROR_NONE) {
      // As the NodeManager does: an error keeps what it refers to.
      std::vector<ObjectId> contained;
      for (const auto& inner : ret.contained_refs()) {
        contained.push_back(ObjectId::FromBinary(inner));
      }
      objects_.SetError(id, data.error(), data.error_message(), data.inline_data(),
                        std::move(contained));
      Ready(id);
      return;
    }
    if (data.elsewhere()) {
      objects_.SetElsewhere(id, data.size(), NodeId::FromBinary(data.node_id()));
    } else {
      objects_.PutInline(kTaskArgHolder, id, data.inline_data(), {});
    }
    Ready(id);
  }
  void StoreError(const ObjectId& id, rpc::ErrorCode code, const std::string& message,
                  const std::string& payload) override {
    objects_.SetError(id, code, message, payload);
    Ready(id);
  }
  void Ready(const ObjectId& id) {
    if (objects_.NeedsFetch(id)) {
      if (tasks_ != nullptr) tasks_->OnReadyElsewhere(id);
      if (actors_ != nullptr) actors_->OnObjectReady();
      return;
    }
    scheduler_.OnObjectReady(id);
    if (actors_ != nullptr) actors_->OnObjectReady();
  }

  static constexpr uint64_t kArenaSize = 1 << 20;

  RecordingClients clients_;
  ManualTimers timers_;
  RecordingProcesses processes_;
  RecordingLauncher launcher_;
  MemorySpillFiles spill_files_;
  Gcs gcs_{std::make_unique<MemoryStore>()};
  InProcessGcsClient gcs_client_{gcs_};
  NodeId node_id_ = NodeId::FromRandom();

  std::vector<uint8_t> arena_ = std::vector<uint8_t>(kArenaSize);
  ObjectTable objects_{kArenaSize};
  SpillManager spill_{objects_, arena_.data(), spill_files_, timers_, nullptr};
  GeneratorManager generators_{objects_, *this};
  Scheduler scheduler_;
  GpuSlots gpus_{0};
  WorkerPool pool_;
  LeaseManager leases_{scheduler_, gpus_};
  ClusterResourceView view_{node_id_, scheduler_.total(), scheduler_.available()};
  ClusterSchedulingPolicy policy_;
  RecordingPeers peers_;
  RemoteTasks remote_{node_id_, objects_, *this, peers_, peers_};
  PlacementGroupManager groups_{scheduler_, objects_, *this, gcs_client_, peers_, clients_, node_id_};

  TaskManager* tasks_ = nullptr;
  ActorManager* actors_ = nullptr;
  ClientId next_client_ = 1;
  size_t registered_workers_ = 0;
};

// Placement groups that a driver creates on the harness's node, and tasks
// that ask for their bundles: for the fixtures of the task managers' specs.
class TestGroups {
 public:
  // Borrows both, which must outlive this.
  TestGroups(NodeUnitsHarness& node, const ClientInfo& owner) : node_(node), owner_(owner) {}

  // Creates a group of one bundle per entry of `bundle_cpus` (that many
  // CPUs), reserved at the next dispatch (by the round, for bundles on
  // other nodes); it is the one id() names from now on.
  void Create(const std::vector<double>& bundle_cpus, const std::string& strategy) {
    rpc::CreatePlacementGroup create;
    id_ = PlacementGroupId::FromRandom();
    create.set_pg_id(id_.Binary());
    for (double cpus : bundle_cpus) ResourceSet::FromMap({{"CPU", cpus}}).ToProto(create.add_bundles());
    create.set_strategy(strategy);
    create.set_ready_id(ObjectIdFor(TaskId::FromRandom(), kPutIndexBit | 1).Binary());
    node_.groups().Create(owner_.id, create);
  }
  // A PACK group of one bundle of `cpus` CPUs; returns the demand of a task
  // asking for `asked` of them.
  ResourceSet OneBundle(double cpus, double asked) {
    Create({cpus}, "PACK");
    return Demand(asked);
  }
  // A task asking for `cpus` of the group's CPUs: of bundle `index`, or of
  // any bundle (-1).
  ResourceSet Demand(double cpus, int index = -1) const {
    return ResourceSet::FromMap({{GroupResourceName("CPU", id_.Hex(), index), cpus}});
  }
  // The owner's task `name`, asking for `demand` and nothing else.
  rpc::TaskSpec Task(const std::string& name, const ResourceSet& demand) const {
    rpc::TaskSpec spec = TaskSpecFor(owner_.job_id, name, {});
    demand.ToProto(spec.mutable_resources());
    return spec;
  }
  const PlacementGroupId& id() const { return id_; }

 private:
  NodeUnitsHarness& node_;
  const ClientInfo& owner_;
  PlacementGroupId id_;
};

// The actor manager's side, for specifying a TaskManager alone: no task
// here is an actor's.
class NoActors : public ActorTasks {
 public:
  void OnCreationSubmitted(const ActorId& actor_id, const ClientInfo&,
                           const rpc::TaskSpec&) override {
    hosted.insert(actor_id);
  }
  bool Hosts(const ActorId& actor_id) const override { return hosted.contains(actor_id); }
  absl::flat_hash_set<ActorId, IdHash> hosted;  // creations submitted here
  std::vector<TaskId> calls;                     // calls handed to the actors here
  void OnCallSubmitted(const TaskId& task_id, TaskRecord&) override { calls.push_back(task_id); }
  void OnCreationDone(ClientId, const ActorId&, TaskRecord&, rpc::TaskDone&) override {}
  void OnCallDone(const TaskId&, rpc::TaskDone&) override {}
  void OnCreationFinished(const ActorId&, TaskRecord&) override {}
  const std::vector<uint32_t>* Devices(ClientId) const override { return nullptr; }
};

}  // namespace flare::testing

#endif  // FLARE_TESTS_CPP_NODE_UNITS_HARNESS_H_
