// CoreClient: a driver's or worker's connection to its node's raylet.
//
// One I/O thread per client reads the socket and completes what callers wait
// for; callers (Python threads, with the GIL released by the binding) send
// directly under a mutex and block on condition variables. Every blocking
// call has a deadline, an interruption hook (Ctrl-C) and fails fast with
// Unavailable once the raylet is gone.
//
// Thread-safe.
#ifndef FLARE_CLIENT_CORE_CLIENT_H_
#define FLARE_CLIENT_CORE_CLIENT_H_

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common/framing.h"
#include "common/ids.h"
#include "flare.pb.h"
#include "object_store/arena.h"

namespace flare {

class Channel;

// Keeps a sealed object's bytes mapped and pinned at the raylet while any
// reader holds it; the destructor tells the raylet it may free them.
class Pin {
 public:
  Pin(std::weak_ptr<Channel> channel, std::shared_ptr<Arena> arena, ObjectId id)
      : channel_(std::move(channel)), arena_(std::move(arena)), id_(id) {}
  ~Pin();
  Pin(const Pin&) = delete;
  Pin& operator=(const Pin&) = delete;

 private:
  std::weak_ptr<Channel> channel_;
  std::shared_ptr<Arena> arena_;  // the mapping outlives every reader
  ObjectId id_;
};

// One object as a reader sees it: an error, inline bytes or a pinned span of
// the arena.
struct ObjectValue {
  ObjectId id;
  rpc::ErrorCode error = rpc::ERROR_NONE;
  std::string error_message;
  std::shared_ptr<const std::string> inline_data;  // set unless in the arena
  const uint8_t* data = nullptr;
  uint64_t size = 0;
  std::shared_ptr<Pin> pin;  // set when data points into the arena
};

struct ClientOptions {
  std::string socket_path;
  rpc::ClientKind kind = rpc::DRIVER;
  WorkerId worker_id;
  bool log_to_driver = true;
  std::string job_config;
  std::string job_namespace;  // drivers: recorded in the GCS job table
  int connect_timeout_ms = 10000;
};

// Returns true when the caller should stop waiting (e.g. Ctrl-C is pending).
using InterruptCheck = std::function<bool()>;

class CoreClient {
 public:
  static absl::StatusOr<std::unique_ptr<CoreClient>> Connect(const ClientOptions& options);
  ~CoreClient();
  CoreClient(const CoreClient&) = delete;
  CoreClient& operator=(const CoreClient&) = delete;

  const JobId& job_id() const { return job_id_; }
  const NodeId& node_id() const { return node_id_; }
  const std::string& session_dir() const { return session_dir_; }
  bool alive() const;
  std::string death_reason() const;

  TaskId NewTaskId();
  ObjectId NewPutId();

  // Submits a task. The caller holds one reference to each return object.
  absl::Status SubmitTask(rpc::TaskSpec spec);
  absl::Status Cancel(const TaskId& task, bool force, bool recursive);

  // Stores a small object; the caller holds one reference to it.
  absl::Status PutInline(const ObjectId& id, std::string data, const std::vector<ObjectId>& contained);
  // Reserves `size` bytes of the arena for `id` and returns where to write.
  // A new id is a put and the caller holds a reference; a task return is not.
  absl::StatusOr<uint8_t*> Create(const ObjectId& id, uint64_t size, int timeout_ms);
  absl::Status Seal(const ObjectId& id, const std::vector<ObjectId>& contained);
  void Abort(const ObjectId& id);

  // Waits until every object is ready. DeadlineExceeded on timeout
  // (timeout_ms < 0: none), Cancelled when `interrupted` said so.
  absl::StatusOr<std::vector<ObjectValue>> Get(const std::vector<ObjectId>& ids, int64_t timeout_ms,
                                               const InterruptCheck& interrupted);
  // Waits until `num_returns` of `ids` are ready or the timeout passes;
  // returns which are ready.
  // `lend_cpu`: a worker's task waiting here gives its CPU back meanwhile
  // (off for background waiters such as the futures resolver).
  absl::StatusOr<std::vector<bool>> Wait(const std::vector<ObjectId>& ids, size_t num_returns,
                                         int64_t timeout_ms, const InterruptCheck& interrupted,
                                         bool lend_cpu = true);

  void AddRef(const ObjectId& id);
  void RemoveRef(const ObjectId& id);
  // Local references held by this process (for tests and leak checks).
  size_t NumLocalRefs() const;

  absl::Status KvPut(const std::string& key, const std::string& value, bool overwrite);
  // Stores `value` only if `key` is absent; true when it was stored.
  absl::StatusOr<bool> KvPutIfAbsent(const std::string& key, const std::string& value,
                                     int timeout_ms);
  // exiting: the calling actor process ends itself (exit_actor()).
  absl::Status KillActor(const TaskId& actor, bool no_restart, bool exiting = false);
  // Worker side: this worker now hosts an actor. Its queued calls stay here
  // while a call blocks in get (they cannot run anywhere else), and cancels
  // of running calls do not interrupt the thread.
  void BecomeActor();
  // Worker side: items a streaming generator task yielded (item k is
  // GeneratorItemId(task, k)), reported as soon as they exist.
  absl::Status GeneratorYield(const TaskId& task, std::vector<rpc::ReturnObject> items);
  // The caller dropped its generator after taking `taken` items: the raylet
  // frees the rest. Best effort (a dead raylet frees everything anyway).
  void ReleaseGenerator(const TaskId& task, uint32_t taken);
  // Worker side: this process is about to exit on its own (sys.exit() in a
  // task); `reason` names it in the errors the raylet reports.
  absl::Status WorkerExiting(const std::string& reason);
  // Asks the raylet to reserve a placement group; its ready object becomes
  // ready once the bundles are reserved.
  absl::Status CreatePlacementGroup(rpc::CreatePlacementGroup request);
  absl::Status RemovePlacementGroup(const TaskId& group);
  // Generator items: the raylet already counts the caller's reference to
  // the next item; these make the local count agree (ExpectObject) or drop
  // it without telling the raylet (ForgetObject, for an item that never came).
  void ExpectObject(const ObjectId& id);
  void ForgetObject(const ObjectId& id);
  absl::StatusOr<std::optional<std::string>> KvGet(const std::string& key, int timeout_ms);
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

  // Worker side: the next task to run; nullopt on timeout.
  absl::StatusOr<std::optional<rpc::ExecuteTask>> NextTask(int64_t timeout_ms,
                                                           const InterruptCheck& interrupted);
  absl::Status TaskDone(rpc::TaskDone done);
  // Turns ObjectData received with a task into values (pinning arena spans).
  ObjectValue MakeValue(const rpc::ObjectData& data);
  // Worker side: true once, when the raylet asked to cancel the running
  // task. A cancel also sends SIGINT to the thread that connected (the
  // worker's main thread), so that a handler can interrupt the task even in
  // time.sleep or a blocking get.
  bool TakeCancelRequest();
  // Actor worker: running calls the raylet asked to cancel since the last
  // call. NextTask returns early (empty) when there are some.
  std::vector<TaskId> TakeCancelledCalls();
  absl::Status SendLogLines(const JobId& job, const std::string& prefix, bool is_stderr,
                            std::vector<std::string> lines);

  // Driver side: worker output for this job; empty on timeout.
  std::vector<rpc::LogLines> NextLogs(int64_t timeout_ms);

 private:
  struct LocalObject {
    int64_t refs = 0;
    bool subscribed = false;
    std::optional<ObjectValue> value;
    // It exists (stays true while refs are held, even after the value is
    // dropped to unpin it: DropUnreadValues).
    bool ready = false;
    // A get has returned this value: only then may the cache drop it.
    bool handed_out = false;
  };

  CoreClient(std::shared_ptr<Channel> channel, std::shared_ptr<Arena> arena);
  void IoLoop();
  void Dispatch(rpc::Message& message);
  void OnObjectReady(const rpc::ObjectData& data);
  void MarkDead(const std::string& reason);
  // The raylet is short of arena space: forget cached in-store values no
  // reader holds, releasing their pins.
  void DropUnreadValues();
  // Sends `message` now, preceded by any queued reference updates.
  absl::Status Send(const rpc::Message& message);
  // Sends a request and waits for the reply with the same request id.
  absl::StatusOr<rpc::Message> Call(rpc::Message request, uint64_t request_id, int timeout_ms);
  uint64_t NextRequestId() { return next_request_id_.fetch_add(1); }
  // REQUIRES: mu_ held. Subscribes to ids not yet asked for.
  void SubscribeLocked(const std::vector<ObjectId>& ids, rpc::Message* subscribe,
                       bool for_value = true);
  absl::Status WaitLocked(std::unique_lock<std::mutex>& lock, int64_t timeout_ms,
                          const InterruptCheck& interrupted, const std::function<bool()>& done);
  void SetBlocked(bool blocked);
  // Worker side: hands every queued, unstarted task back to the raylet.
  void ReturnQueuedTasks();
  // The raylet pinned a task's in-store arguments for this worker when it
  // sent the task; one handed back or cancelled unrun releases them here.
  void ReleaseArgPins(const rpc::ExecuteTask& task);
  // Worker side: answers a cancel of a task still queued here. False when
  // it is not queued (it runs, or already ran).
  bool CancelQueuedTask(const TaskId& task);
  // Returns once the raylet has handled everything sent before.
  absl::Status Barrier();

  std::shared_ptr<Channel> channel_;
  std::shared_ptr<Arena> arena_;
  JobId job_id_;
  NodeId node_id_;
  std::string session_dir_;
  rpc::ClientKind kind_ = rpc::DRIVER;

  // Task and put ids: job (4) + per-process prefix (8) + counter (4).
  std::array<uint8_t, 8> id_prefix_;
  std::atomic<uint32_t> next_task_counter_{1};
  std::atomic<uint64_t> next_request_id_{1};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  absl::flat_hash_map<ObjectId, LocalObject, IdHash> objects_;
  absl::flat_hash_map<uint64_t, std::optional<rpc::Message>> replies_;
  std::deque<rpc::ExecuteTask> tasks_;
  std::deque<rpc::LogLines> logs_;
  std::optional<TaskId> running_task_;  // worker: popped by NextTask, until TaskDone
  bool cancel_requested_ = false;
  pthread_t main_thread_;
  std::string death_reason_;  // set once the connection is lost
  bool blocked_ = false;      // worker: the running task waits in get/wait
  bool actor_ = false;        // worker: hosts an actor
  std::vector<TaskId> cancelled_calls_;  // actor: running calls asked to stop

  // Batches of messages the I/O thread has dispatched; waiters poll it
  // while they spin (SpinFor).
  std::atomic<uint64_t> io_batches_{0};
  // How long a waiter polls before it sleeps; FLARE_SPIN_US overrides.
  std::chrono::microseconds spin_{SpinFromEnv()};
  static std::chrono::microseconds SpinFromEnv();
  void SpinFor(std::unique_lock<std::mutex>& lock, std::chrono::steady_clock::time_point deadline,
               const std::function<bool()>& done);

  std::thread io_thread_;
};

}  // namespace flare

#endif  // FLARE_CLIENT_CORE_CLIENT_H_
