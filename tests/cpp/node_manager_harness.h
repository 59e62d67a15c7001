// A NodeManager with no sockets, processes, timers or files, over the fakes
// of raylet_fakes.h. Tests play the drivers and workers: they register,
// submit and report what a worker would, then read what the raylet sent
// back.
#ifndef FLARE_TESTS_CPP_NODE_MANAGER_HARNESS_H_
#define FLARE_TESTS_CPP_NODE_MANAGER_HARNESS_H_

#include <signal.h>
#include <sys/wait.h>

#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "gcs/gcs.h"
#include "gcs/in_process_gcs_client.h"
#include "gcs/memory_store.h"
#include "raylet/node_manager.h"
#include "raylet_fakes.h"

namespace flare::testing {

// One node: `cpus` CPUs and an arena of `arena_size` bytes.
class NodeManagerHarness {
 public:
  explicit NodeManagerHarness(double cpus = 1, uint64_t arena_size = 4 << 20) {
    NodeOptions options;
    options.resources = ResourceSet::FromMap({{"CPU", cpus}});
    options.session_dir = "/nonexistent-session";
    options.socket_path = "/nonexistent-session/raylet.sock";
    auto arena = Arena::Create(arena_size, "flare-harness-arena");
    EXPECT_TRUE(arena.ok()) << arena.status();
    auto launcher = std::make_unique<RecordingLauncher>();
    launcher_ = launcher.get();
    auto processes = std::make_unique<RecordingProcesses>();
    processes_ = processes.get();
    auto timers = std::make_unique<ManualTimers>();
    timers_ = timers.get();
    auto spill = std::make_unique<MemorySpillFiles>();
    spill_ = spill.get();
    arena_ = arena->get();
    manager_ = std::make_unique<NodeManager>(
        options, std::move(*arena), std::move(launcher),
        NodeIo{std::move(processes), std::move(timers), std::move(spill), &peers_, &peers_},
        clients_,
        gcs_client_,
        [this] { stopped_ = true; });
    EXPECT_TRUE(manager_->Start().ok());
  }

  NodeManager& manager() { return *manager_; }
  RecordingClients& clients() { return clients_; }
  // What the node sends other nodes' raylets (none is in its view unless a
  // test reports one with OnClusterView).
  RecordingPeers& peers() { return peers_; }
  RecordingProcesses& processes() { return *processes_; }
  ManualTimers& timers() { return *timers_; }
  MemorySpillFiles& spill_files() { return *spill_; }
  Gcs& gcs() { return gcs_; }  // the head's GCS, in process
  uint8_t* arena_base() { return arena_->base(); }

  ClientId RegisterDriver(pid_t pid = 50) {
    rpc::RegisterClient request;
    request.set_kind(rpc::DRIVER);
    request.set_pid(pid);
    return Register(request);
  }

  // Registers the next launched worker that has not registered yet.
  // Returns its client id; its pid is pid_of(client).
  ClientId RegisterWorker() {
    EXPECT_LT(registered_workers_, launcher_->launched.size()) << "no worker was launched";
    const size_t index = registered_workers_++;
    rpc::RegisterClient request;
    request.set_kind(rpc::WORKER);
    request.set_pid(100 + static_cast<pid_t>(index + 1));
    request.set_worker_id(launcher_->launched[index].Binary());
    return Register(request);
  }
  size_t num_launched() const { return launcher_->launched.size(); }
  pid_t pid_of(ClientId client) const { return clients_.infos.at(client).pid; }

  // A task spec from `driver` asking for `resources`.
  rpc::TaskSpec Spec(ClientId driver, const std::string& name,
                     const std::map<std::string, double>& resources = {{"CPU", 1}}) {
    return TaskSpecFor(clients_.infos.at(driver).job_id, name, resources);
  }

  TaskId Submit(ClientId client, rpc::TaskSpec spec) {
    const TaskId task_id = TaskId::FromBinary(spec.task_id());
    manager_->OnSubmitTask(clients_.infos.at(client), spec);
    return task_id;
  }

  // What the raylet sent `client` since the last call, of one kind.
  std::vector<rpc::Message> Take(ClientId client, rpc::Message::BodyCase kind) {
    return clients_.Take(client, kind);
  }
  // The tasks the raylet sent `worker` since the last call, in order.
  std::vector<rpc::ExecuteTask> Executed(ClientId worker) { return clients_.Executed(worker); }

  // The objects pushed to `client` since the last call, by id.
  std::map<ObjectId, rpc::ObjectData> Ready(ClientId client) {
    std::map<ObjectId, rpc::ObjectData> ready;
    for (auto& message : Take(client, rpc::Message::kObjectReady)) {
      ready[ObjectId::FromBinary(message.object_ready().object_id())] = message.object_ready();
    }
    return ready;
  }

  // The worker reports task `task_id` done with `value` inline as return 1.
  void Finish(ClientId worker, const TaskId& task_id, const std::string& value = "value") {
    rpc::TaskDone done;
    done.set_task_id(task_id.Binary());
    auto* data = done.add_returns()->mutable_data();
    data->set_object_id(ObjectIdFor(task_id, 1).Binary());
    data->set_inline_data(value);
    manager_->OnTaskDone(clients_.infos.at(worker), done);
  }

  // The worker's process died (killed by `signal`): its connection closes,
  // then the raylet reaps it.
  void WorkerDies(ClientId worker, int signal = SIGKILL) {
    const ClientInfo info = clients_.infos.at(worker);
    clients_.infos.erase(worker);
    manager_->OnClientClosed(info);
    manager_->OnChildExited(info.pid, signal);  // a status WIFSIGNALED reads as `signal`
  }

  void Cancel(const TaskId& task_id, bool force = false, bool recursive = true) {
    rpc::CancelTask cancel;
    cancel.set_task_id(task_id.Binary());
    cancel.set_force(force);
    cancel.set_recursive(recursive);
    manager_->OnCancelTask(ClientInfo(), cancel);
  }

  bool stopped() const { return stopped_; }

 private:
  ClientId Register(const rpc::RegisterClient& request) {
    const ClientId id = next_client_++;
    ClientInfo& info = clients_.infos[id];
    info.id = id;
    info.kind = request.kind();
    info.pid = request.pid();
    std::optional<rpc::RegisterReply> reply;
    manager_->OnRegister(info, request, [&](rpc::RegisterReply r) { reply = std::move(r); });
    EXPECT_TRUE(reply.has_value()) << "the in-process GCS answers at once";
    if (!reply) return id;
    EXPECT_TRUE(reply->error().empty()) << reply->error();
    if (!reply->job_id().empty()) info.job_id = JobId::FromBinary(reply->job_id());
    manager_->OnRegistered(info);
    return id;
  }

  RecordingClients clients_;
  RecordingPeers peers_;
  Gcs gcs_{std::make_unique<MemoryStore>()};
  InProcessGcsClient gcs_client_{gcs_};
  RecordingLauncher* launcher_ = nullptr;
  RecordingProcesses* processes_ = nullptr;
  ManualTimers* timers_ = nullptr;
  MemorySpillFiles* spill_ = nullptr;
  Arena* arena_ = nullptr;
  std::unique_ptr<NodeManager> manager_;
  ClientId next_client_ = 1;
  size_t registered_workers_ = 0;
  bool stopped_ = false;
};

}  // namespace flare::testing

#endif  // FLARE_TESTS_CPP_NODE_MANAGER_HARNESS_H_
