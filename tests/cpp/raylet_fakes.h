// Fakes of the raylet's I/O (node_io.h, clients.h, the worker launcher) for
// socket-free tests: clients are a recorder, workers are pids handed out by
// a recording launcher, time moves only when a test advances it, and
// spilled bytes live in memory.
#ifndef FLARE_TESTS_CPP_RAYLET_FAKES_H_
#define FLARE_TESTS_CPP_RAYLET_FAKES_H_

#include <signal.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "raylet/clients.h"
#include "raylet/node_io.h"
#include "raylet/resources.h"
#include "raylet/return_store.h"
#include "raylet/worker_pool.h"

namespace flare::testing {

// Two random node ids, the first before the second in a view's order.
inline std::pair<NodeId, NodeId> OrderedNodeIds() {
  NodeId first = NodeId::FromRandom();
  NodeId second = NodeId::FromRandom();
  if (second < first) std::swap(first, second);
  return {first, second};
}

class RecordingClients : public ClientChannel {
 public:
  void Send(ClientId client, const rpc::Message& message) override {
    if (infos.count(client) > 0) sent[client].push_back(message);
  }
  const ClientInfo* Find(ClientId client) const override {
    auto it = infos.find(client);
    return it == infos.end() ? nullptr : &it->second;
  }
  std::vector<ClientId> All() const override {
    std::vector<ClientId> all;
    for (const auto& [id, info] : infos) all.push_back(id);
    return all;
  }

  // What was sent to `client` since the last call, of one kind.
  std::vector<rpc::Message> Take(ClientId client, rpc::Message::BodyCase kind) {
    std::vector<rpc::Message> taken;
    auto& messages = sent[client];
    for (auto it = messages.begin(); it != messages.end();) {
      if (it->body_case() == kind) {
        taken.push_back(std::move(*it));
        it = messages.erase(it);
      } else {
        ++it;
      }
    }
    return taken;
  }
  // The tasks sent to `worker` since the last call, in order.
  std::vector<rpc::ExecuteTask> Executed(ClientId worker) {
    std::vector<rpc::ExecuteTask> tasks;
    for (auto& message : Take(worker, rpc::Message::kExecuteTask)) {
      tasks.push_back(message.execute_task());
    }
    return tasks;
  }

  std::map<ClientId, ClientInfo> infos;
  std::map<ClientId, std::vector<rpc::Message>> sent;
};

// Time stands still until Advance().
class ManualTimers : public Timers {
 public:
  void After(std::chrono::milliseconds delay, std::function<void()> action) override {
    pending_.emplace(now_ + delay, std::move(action));
  }
  void Post(std::function<void()> action) override { pending_.emplace(now_, std::move(action)); }

  // Runs, in time order, everything due within `delay` from now.
  void Advance(std::chrono::milliseconds delay) {
    const auto until = now_ + delay;
    while (!pending_.empty() && pending_.begin()->first <= until) {
      auto next = pending_.begin();
      now_ = next->first;
      auto action = std::move(next->second);
      pending_.erase(next);
      action();
    }
    now_ = until;
  }
  void RunPosted() { Advance(std::chrono::milliseconds(0)); }

 private:
  std::chrono::milliseconds now_{0};
  std::multimap<std::chrono::milliseconds, std::function<void()>> pending_;
};

class RecordingProcesses : public ProcessControl {
 public:
  void Kill(pid_t pid, int signal) override { kills.emplace_back(pid, signal); }
  bool Exists(pid_t) override { return true; }
  bool Killed(pid_t pid) const {
    for (const auto& [killed, signal] : kills) {
      if (killed == pid && signal == SIGKILL) return true;
    }
    return false;
  }
  std::vector<std::pair<pid_t, int>> kills;
};

// Spill "files" in memory whose I/O ends only when a test says so
// (Complete, CompleteAll), in the order it was started: the bytes are
// copied then, as a thread would.
class MemorySpillFiles : public SpillFiles {
 public:
  void Write(const ObjectId& id, const uint8_t* data, uint64_t size, Done done) override {
    pending_.push_back({id, true, const_cast<uint8_t*>(data), size, std::move(done)});
  }
  void Read(const ObjectId& id, uint8_t* data, uint64_t size, Done done) override {
    pending_.push_back({id, false, data, size, std::move(done)});
  }
  void Remove(const ObjectId& id) override {
    files.erase(id.Hex());
    ++removes;
  }

  size_t num_pending() const { return pending_.size(); }
  // Whether the oldest operation not yet done is a write (else a read) of `id`.
  bool NextIs(const ObjectId& id, bool write) const {
    return !pending_.empty() && pending_.front().id == id && pending_.front().write == write;
  }
  // Ends the oldest operation; false if none is under way.
  bool Complete() {
    if (pending_.empty()) return false;
    Op op = std::move(pending_.front());
    pending_.pop_front();
    absl::Status status;
    if (op.write) {
      if (fail_writes) {
        status = absl::InternalError("disk full");
      } else {
        files[op.id.Hex()] = std::string(reinterpret_cast<const char*>(op.data), op.size);
      }
    } else {
      auto it = files.find(op.id.Hex());
      if (fail_reads || it == files.end() || it->second.size() != op.size) {
        status = absl::DataLossError("unreadable");
      } else {
        std::memcpy(op.data, it->second.data(), op.size);
      }
    }
    op.done(status);
    return true;
  }
  // Ends every operation, including those started meanwhile.
  void CompleteAll() {
    while (Complete()) {
    }
  }

  std::map<std::string, std::string> files;
  bool fail_reads = false;
  bool fail_writes = false;
  int removes = 0;

 private:
  struct Op {
    ObjectId id;
    bool write;
    uint8_t* data;
    uint64_t size;
    Done done;
  };
  std::deque<Op> pending_;
};

class RecordingLauncher : public WorkerLauncher {
 public:
  absl::StatusOr<pid_t> Launch(const WorkerId& worker_id) override {
    launched.push_back(worker_id);
    return 100 + static_cast<pid_t>(launched.size());
  }
  std::vector<WorkerId> launched;
};

// A task spec of job `job` asking for `resources`, with one return.
inline rpc::TaskSpec TaskSpecFor(const JobId& job, const std::string& name,
                                 const std::map<std::string, double>& resources = {{"CPU", 1}}) {
  rpc::TaskSpec spec;
  spec.set_task_id(TaskId::FromRandom().Binary());
  spec.set_job_id(job.Binary());
  spec.set_function_name(name);
  spec.set_num_returns(1);
  spec.set_args("args");
  ResourceSet::FromMap(resources).ToProto(spec.mutable_resources());
  return spec;
}

// Other nodes, as the raylet's units reach them: messages to each node are
// recorded, and pulls wait until the test completes them.
class RecordingPeers : public PeerChannel, public ObjectPuller {
 public:
  bool Send(const NodeId& node, const rpc::Message& message) override {
    if (unreachable.contains(node)) return false;
    sent[node].push_back(message);
    return true;
  }
  void Pull(const ObjectId& id, uint64_t size, const NodeId& from,
            std::function<void(const absl::Status&)> done) override {
    pulls.push_back({id, size, from, std::move(done), {from}});
  }
  void PullFromAny(const ObjectId& id, uint64_t size, const std::vector<NodeId>& holders,
                   std::function<void(const absl::Status&)> done) override {
    pulls.push_back({id, size, holders.front(), std::move(done), holders});
  }

  // The messages sent to `node` of one kind, in order.
  std::vector<rpc::Message> Of(const NodeId& node, rpc::Message::BodyCase kind) const {
    std::vector<rpc::Message> out;
    auto it = sent.find(node);
    if (it == sent.end()) return out;
    for (const auto& message : it->second) {
      if (message.body_case() == kind) out.push_back(message);
    }
    return out;
  }

  struct PendingPull {
    ObjectId id;
    uint64_t size;
    NodeId from;
    std::function<void(const absl::Status&)> done;
    std::vector<NodeId> holders;  // from first
  };
  absl::flat_hash_map<NodeId, std::vector<rpc::Message>, IdHash> sent;
  absl::flat_hash_set<NodeId, IdHash> unreachable;
  std::vector<PendingPull> pulls;
};

// The owner's copies, as the NodeManager keeps them: values and errors go
// into the table (an error as an error), and every store is recorded.
class RecordingReturns : public ReturnStore {
 public:
  explicit RecordingReturns(ObjectTable& objects) : objects_(objects) {}

  void Store(rpc::ReturnObject& ret) override {
    stored.push_back(ret.data());
    const ObjectId id = ObjectId::FromBinary(ret.data().object_id());
    if (ret.data().error() != rpc::ERROR_NONE) {
      objects_.SetError(id, ret.data().error(), ret.data().error_message(),
                        ret.data().inline_data());
    } else if (ret.data().elsewhere()) {
      objects_.SetElsewhere(id, ret.data().size(), NodeId::FromBinary(ret.data().node_id()));
    } else {
      objects_.PutInline(kTaskArgHolder, id, ret.data().inline_data(), {});
    }
  }
  void StoreError(const ObjectId& id, rpc::ErrorCode code, const std::string& message,
                  const std::string& payload) override {
    rpc::ObjectData data;
    data.set_object_id(id.Binary());
    data.set_error(code);
    data.set_error_message(message);
    stored.push_back(data);
    objects_.SetError(id, code, message, payload);
  }

  std::vector<rpc::ObjectData> stored;

 private:
  ObjectTable& objects_;
};

// The creation task of an actor of class Counter in job `job`, placed on
// one CPU.
inline rpc::TaskSpec ActorCreationSpec(const JobId& job, int max_restarts,
                                       int max_task_retries = 0) {
  rpc::TaskSpec spec = TaskSpecFor(job, "Counter");
  spec.set_actor_id(spec.task_id());
  spec.set_max_retries(max_restarts);
  auto* actor = spec.mutable_actor();
  actor->set_max_concurrency(1);
  actor->set_max_restarts(max_restarts);
  actor->set_max_task_retries(max_task_retries);
  actor->set_class_name("Counter");
  return spec;
}

// A call of `method` on Counter actor `actor`, from job `job`.
inline rpc::TaskSpec ActorCallSpec(const JobId& job, const TaskId& actor,
                                   const std::string& method) {
  rpc::TaskSpec spec = TaskSpecFor(job, "Counter." + method, {});
  spec.set_actor_id(actor.Binary());
  spec.set_method_name(method);
  return spec;
}

}  // namespace flare::testing

#endif  // FLARE_TESTS_CPP_RAYLET_FAKES_H_
