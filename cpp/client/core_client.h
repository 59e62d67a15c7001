// CoreClient: a driver's or worker's connection to its node's raylet, the
// one object the flare._core binding holds.
//
// A façade: it registers with the raylet, then wires and forwards to the
// units that do the work —
//   RayletConnection the socket's I/O thread, sending, request/reply
//   Waiter           the client's lock; blocking with deadlines and Ctrl-C
//   ObjectClient     get / wait / put and references (ReferenceCounter,
//                    ObjectCache)
//   TaskReceiver     a worker's task queue, hand-backs and cancels
// — and routes what the raylet sends to them. Control-plane requests (KV,
// cluster information, named actors, placement groups) are one message
// each, in core_client_requests.cc.
//
// Callers (Python threads, with the GIL released by the binding) send
// directly and block in the Waiter. Every blocking call has a deadline, an
// interruption hook (Ctrl-C) and fails fast with Unavailable once the
// raylet is gone.
//
// Thread-safe.
#ifndef FLARE_CLIENT_CORE_CLIENT_H_
#define FLARE_CLIENT_CORE_CLIENT_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/client_options.h"
#include "client/clock.h"
#include "client/raylet_connection.h"
#include "client/signal_wakeup.h"
#include "client/object_client.h"
#include "client/object_value.h"
#include "client/owner_address.h"
#include "client/task_receiver.h"
#include "client/waiter.h"
#include "common/ids.h"
#include "flare.pb.h"
#include "object_store/arena.h"

namespace flare {

class CoreClient : private RayletConnection::Handler, private BlockingListener {
 public:
  // Connects to the raylet at options.socket_path and registers this process.
  static absl::StatusOr<std::unique_ptr<CoreClient>> Connect(const ClientOptions& options);
  ~CoreClient() override;
  CoreClient(const CoreClient&) = delete;
  CoreClient& operator=(const CoreClient&) = delete;

  const JobId& job_id() const { return job_id_; }
  const NodeId& node_id() const { return local_owner_->node_id; }
  const std::string& session_dir() const { return session_dir_; }
  // The owner of the objects this process makes: its node's raylet.
  const OwnerAddress& owner_address() const { return *local_owner_; }
  bool alive() const { return connection_.alive(); }
  std::string death_reason() const { return waiter_.ClosedReason(); }

  TaskId NewTaskId();
  ObjectId NewPutId();

  // Submits a task. The caller holds one reference to each return object.
  absl::Status SubmitTask(rpc::TaskSpec spec);
  absl::Status Cancel(const TaskId& task, bool force, bool recursive);

  // Objects and references: see ObjectClient.
  absl::Status PutInline(const ObjectId& id, std::string data, const std::vector<ObjectId>& contained) {
    return objects_.PutInline(id, std::move(data), contained);
  }
  absl::StatusOr<uint8_t*> Create(const ObjectId& id, uint64_t size, int timeout_ms) {
    return objects_.Create(id, size, timeout_ms);
  }
  absl::Status Seal(const ObjectId& id, const std::vector<ObjectId>& contained) {
    return objects_.Seal(id, contained);
  }
  void Abort(const ObjectId& id) { objects_.Abort(id); }
  absl::StatusOr<std::vector<ObjectValue>> Get(const std::vector<ObjectId>& ids, int64_t timeout_ms,
                                               const InterruptCheck& interrupted) {
    return objects_.Get(ids, timeout_ms, interrupted);
  }
  // `lend_cpu`: a worker's task waiting here gives its CPU back meanwhile
  // (off for background waiters such as the futures resolver).
  // `fetch_local`: see ObjectClient::Wait.
  absl::StatusOr<std::vector<bool>> Wait(const std::vector<ObjectId>& ids, size_t num_returns,
                                         int64_t timeout_ms, const InterruptCheck& interrupted,
                                         bool lend_cpu = true, bool fetch_local = true) {
    return objects_.Wait(ids, num_returns, timeout_ms, interrupted, lend_cpu, fetch_local);
  }
  // A reference to an object owned by this node.
  void AddRef(const ObjectId& id) { objects_.AddRef(id); }
  // A reference to an object owned by `owner` (received from elsewhere).
  void AddRef(const ObjectId& id, OwnerAddress owner);
  void RemoveRef(const ObjectId& id) { objects_.RemoveRef(id); }
  size_t NumLocalRefs() const { return objects_.NumLocalRefs(); }
  // Generator items: the raylet already counts the caller's reference to
  // the next item; these make the local count agree (ExpectObject) or drop
  // it without telling the raylet (ForgetObject, for an item that never came).
  void ExpectObject(const ObjectId& id) { objects_.ExpectObject(id); }
  void ForgetObject(const ObjectId& id) { objects_.ForgetObject(id); }
  // Turns ObjectData received with a task into values (pinning arena spans).
  ObjectValue MakeValue(const rpc::ObjectData& data) const { return objects_.MakeValue(data); }

  // ---- control plane (core_client_requests.cc) ----
  absl::Status KvPut(const std::string& key, const std::string& value, bool overwrite);
  // Stores `value` only if `key` is absent; true when it was stored.
  absl::StatusOr<bool> KvPutIfAbsent(const std::string& key, const std::string& value,
                                     int timeout_ms);
  absl::StatusOr<std::optional<std::string>> KvGet(const std::string& key, int timeout_ms);
  // exiting: the calling actor process ends itself (exit_actor()).
  // `node`: the node hosting the actor (empty: the local one).
  absl::Status KillActor(const TaskId& actor, bool no_restart, bool exiting = false,
                         const std::string& node = "");
  // Asks the raylet to reserve a placement group; its ready object becomes
  // ready once the bundles are reserved.
  absl::Status CreatePlacementGroup(rpc::CreatePlacementGroup request);
  absl::Status RemovePlacementGroup(const TaskId& group);
  absl::StatusOr<rpc::ClusterInfoReply> ClusterInfo(int timeout_ms);
  absl::StatusOr<rpc::StoreStatsReply> StoreStats(int timeout_ms);
  // The placement groups the raylet knows (live, and recently removed);
  // only `pg_id`'s when it is not empty.
  absl::StatusOr<rpc::PlacementGroupTableReply> PlacementGroupTable(const std::string& pg_id,
                                                                    int timeout_ms);
  // Named actors (the GCS actor directory).
  // Registers `actor` (id, name, namespace, class name, method table) before
  // its creation is submitted. Returns whether it was registered; when the
  // name is taken, `existing` gets the live actor holding it (cleared when
  // it died meanwhile).
  absl::StatusOr<bool> RegisterActorName(rpc::ActorInfo actor, std::optional<rpc::ActorInfo>* existing,
                                         int timeout_ms);
  // The live actor named `name` in `name_space`, or nullopt.
  absl::StatusOr<std::optional<rpc::ActorInfo>> LookupActor(const std::string& name_space,
                                                            const std::string& name,
                                                            int timeout_ms);
  // The live named actors of `name_space`, or of every namespace.
  absl::StatusOr<std::vector<rpc::ActorInfo>> ListNamedActors(bool all_namespaces,
                                                              const std::string& name_space,
                                                              int timeout_ms);

  // Named placement groups (GCS records). Registers `group` (id, name,
  // namespace, strategy, bundles) before its creation is asked for; false
  // when a live group of the namespace has the name.
  absl::StatusOr<bool> RegisterPlacementGroup(rpc::PlacementGroupInfo group, int timeout_ms);
  // The live group named `name` in `name_space`, or nullopt.
  absl::StatusOr<std::optional<rpc::PlacementGroupInfo>> LookupPlacementGroup(
      const std::string& name_space, const std::string& name, int timeout_ms);
  // The job's record in the GCS job table (its config, namespace...), or
  // nullopt when the GCS does not know the job.
  absl::StatusOr<std::optional<rpc::JobInfo>> GetJobInfo(const JobId& job, int timeout_ms);

  // ---- worker side ----
  // This worker now hosts an actor. Its queued calls stay here while a call
  // blocks in get (they cannot run anywhere else), and cancels of running
  // calls do not interrupt the thread.
  void BecomeActor();
  // The next task to run; nullopt on timeout, or early when there are
  // cancelled actor calls to take (TakeCancelledCalls).
  absl::StatusOr<std::optional<rpc::ExecuteTask>> NextTask(int64_t timeout_ms,
                                                           const InterruptCheck& interrupted);
  absl::Status TaskDone(rpc::TaskDone done);
  // True once, when the raylet asked to cancel the running task. A cancel
  // also sends SIGINT to the thread that connected (the worker's main
  // thread), so that a handler can interrupt the task even in time.sleep or
  // a blocking get.
  bool TakeCancelRequest();
  // Actor worker: running calls the raylet asked to cancel since the last call.
  std::vector<TaskId> TakeCancelledCalls();
  // Items a streaming generator task yielded (item k is
  // GeneratorItemId(task, k)), reported as soon as they exist.
  absl::Status GeneratorYield(const TaskId& task, std::vector<rpc::ReturnObject> items);
  // The caller dropped its generator after taking `taken` items: the raylet
  // frees the rest. Best effort (a dead raylet frees everything anyway).
  void ReleaseGenerator(const TaskId& task, uint32_t taken);
  // This process is about to exit on its own (sys.exit() in a task);
  // `reason` names it in the errors the raylet reports.
  absl::Status WorkerExiting(const std::string& reason);
  absl::Status SendLogLines(const JobId& job, const std::string& prefix, bool is_stderr,
                            std::vector<std::string> lines);

  // Driver side: worker output for this job; empty on timeout or once
  // StopLogs was called; Unavailable (with nothing to return) once the
  // raylet is gone.
  absl::StatusOr<std::vector<rpc::LogLines>> NextLogs(int64_t timeout_ms);
  // Ends a NextLogs waiting now and every later one at once (shutdown).
  void StopLogs();

  // ---- signals (Ctrl-C) ----
  // The fd a signal handler writes a byte to on each signal (Python's
  // wake-up fd while the main thread waits here): it wakes the waiter that
  // has an interruption check, which runs it. Waits never poll for signals.
  int signal_wakeup_fd() const { return signal_wakeup_->write_fd(); }
  // The signal bytes that arrived through signal_wakeup_fd() since the last
  // call, so that the caller can pass them on to the wake-up fd it replaced.
  std::string TakeSignals();

 private:
  CoreClient(const ClientOptions& options, std::shared_ptr<Channel> channel,
             std::shared_ptr<Arena> arena, std::unique_ptr<SignalWakeup> signal_wakeup,
             const rpc::RegisterReply& registered);
  // I/O thread: the signal wake-up pipe is readable.
  void OnSignal();

  // RayletConnection::Handler (I/O thread).
  void OnMessage(rpc::Message& message) override;
  // BlockingListener: a worker's task waits in get/wait (or stops).
  void SetBlocked(bool blocked) override;
  // Carries out what the TaskReceiver decided.
  void Perform(TaskActions actions);

  const rpc::ClientKind kind_;
  const JobId job_id_;
  const std::string session_dir_;
  const std::shared_ptr<const OwnerAddress> local_owner_;

  // Task and put ids: job (4) + per-process prefix (8) + counter (4).
  std::array<uint8_t, 8> id_prefix_;
  std::atomic<uint32_t> next_task_counter_{1};

  // Declared in dependency order; the destructor stops the I/O thread
  // before any of them goes.
  SteadyClock clock_;
  const std::unique_ptr<SignalWakeup> signal_wakeup_;
  Waiter waiter_;
  RayletConnection connection_;
  ObjectClient objects_;
  SignalCancelDelivery cancel_delivery_;
  TaskReceiver tasks_;                 // guarded by waiter_.mutex()
  std::deque<rpc::LogLines> logs_;     // guarded by waiter_.mutex()
  bool logs_stopped_ = false;          // guarded by waiter_.mutex()
  std::string signals_;                // guarded by waiter_.mutex()
};

}  // namespace flare

#endif  // FLARE_CLIENT_CORE_CLIENT_H_
