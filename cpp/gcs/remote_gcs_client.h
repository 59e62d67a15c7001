// The node's end of the GCS protocol (gcs_wire.h): a GcsClient whose calls
// become GcsRequests handed to `send`, answered when OnPush gets the reply
// of the same request id. The node's GCS connection owns it and feeds it
// replies and pushed views.
//
// The head may go away and come back (restarted over the same storage).
// With a reconnect wait (Options::reconnect_wait > 0), once this node has
// registered, losing the connection does not fail the calls: those waiting
// for a reply, and those made meanwhile, wait for Reconnected, which
// registers the node again (the same record, so the same node id) and then
// sends them all again in the order they were made. So a request may reach
// the GCS twice (it may have been applied before the connection went): the
// GCS's requests are written to be safe to repeat. A call that waits longer
// than the wait fails with Unavailable when ExpireWaiting finds it, saying
// why the head is unreachable. Resource reports are not kept: the next one
// replaces them. While the head is away, KV values that never change and
// job records this client saw are answered from a GcsReadCache at once, so
// that new workers here can still load what ran before. Without a wait, a lost connection fails every
// call at once, and later calls too.
//
// No I/O and no clock of its own: the caller passes the time in.
// Thread-compatible: the raylet's event loop makes every call and delivers
// every reply; callbacks run there.
#ifndef FLARE_GCS_REMOTE_GCS_CLIENT_H_
#define FLARE_GCS_REMOTE_GCS_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "cluster.pb.h"
#include "gcs/gcs_client.h"
#include "gcs/gcs_read_cache.h"

namespace flare {

class RemoteGcsClient : public GcsClient {
 public:
  using Clock = std::chrono::steady_clock;
  // Returns false when the message could not be queued (not connected).
  using Send = std::function<bool(rpc::GcsRequest)>;

  struct Options {
    // A request larger than this (the cluster's message limit,
    // rpc/channel_args.h) is not sent: it would break the stream, and with
    // it the node's membership. Its call fails with ResourceExhausted.
    size_t max_request_bytes = 64 << 20;
    // How long a call may wait for an unreachable head (see above); zero:
    // calls fail as soon as the connection is lost.
    std::chrono::milliseconds reconnect_wait{0};
    // The time now (for the wait). Empty: Clock::now.
    std::function<Clock::time_point()> now;
    // KV keys whose values never change once written (content-addressed
    // function and class exports), kept to answer while the head is away,
    // up to this many bytes.
    std::vector<std::string> immutable_kv_prefixes = {"fn:", "cls:"};
    size_t read_cache_bytes = 64 << 20;
  };

  explicit RemoteGcsClient(Send send, size_t max_request_bytes = 64 << 20)
      : RemoteGcsClient(std::move(send), WithMaxRequestBytes(max_request_bytes)) {}
  RemoteGcsClient(Send send, Options options)
      : send_(std::move(send)),
        options_(std::move(options)),
        cache_(options_.immutable_kv_prefixes, options_.read_cache_bytes, kMaxCachedJobs) {}

  // A reply or a pushed view from the GCS.
  void OnPush(const rpc::GcsPush& push);
  // The connection is gone (see above for what waits and what fails).
  void OnDisconnected(const absl::Status& status);
  // A new connection to the head is open (`send` sends on it): registers
  // the node again, then sends again every call still waiting. Returns
  // false when nothing could be sent (the new connection is gone already).
  // REQUIRES: OnDisconnected was called, and the node registered before.
  bool Reconnected();
  // Fails the calls that waited for the head longer than the wait allows.
  void ExpireWaiting(Clock::time_point now);
  // Whether the connection was lost and not yet replaced (Reconnected).
  bool waiting_for_head() const { return waiting_for_head_; }
  size_t pending() const { return pending_.size(); }

  void RegisterNode(const rpc::NodeInfo& node, StatusCallback done) override;
  void GetAllNodes(Callback<std::vector<rpc::NodeInfo>> done) override;
  void ReportResources(const NodeId& node, const rpc::ResourceSet& available) override;
  void SubscribeClusterView(
      std::function<void(const std::vector<rpc::NodeInfo>&)> on_view) override;
  void KvPut(const std::string& key, std::string value, bool overwrite,
             Callback<bool> done) override;
  void KvGet(const std::string& key, Callback<std::optional<std::string>> done) override;
  void KvDelete(const std::string& key, Callback<bool> done) override;
  void AddJob(rpc::JobInfo job, Callback<JobId> done) override;
  void MarkJobFinished(const JobId& job, StatusCallback done) override;
  void GetJob(const JobId& job, Callback<std::optional<rpc::JobInfo>> done) override;
  void RegisterActor(rpc::ActorInfo actor, StatusCallback done) override;
  void ReportActorState(const ActorId& actor, rpc::ActorState state, StatusCallback done) override;
  void LookupNamedActor(const std::string& name_space, const std::string& name,
                        Callback<std::optional<rpc::ActorInfo>> done) override;
  void ListNamedActors(const std::optional<std::string>& name_space,
                       Callback<std::vector<rpc::ActorInfo>> done) override;
  void AddPlacementGroup(rpc::PlacementGroupInfo group, StatusCallback done) override;
  void ReportPlacementGroupCreated(const PlacementGroupId& group, std::vector<NodeId> bundle_nodes,
                                   StatusCallback done) override;
  void ReportPlacementGroupInfeasible(const PlacementGroupId& group, StatusCallback done) override;
  void ReportPlacementGroupRescheduling(const PlacementGroupId& group,
                                       StatusCallback done) override;
  void ReportPlacementGroupRemoved(const PlacementGroupId& group, StatusCallback done) override;
  void GetPlacementGroups(const std::optional<PlacementGroupId>& group,
                          Callback<std::vector<rpc::PlacementGroupInfo>> done) override;
  void LookupNamedPlacementGroup(const std::string& name_space, const std::string& name,
                                 Callback<std::optional<rpc::PlacementGroupInfo>> done) override;

 private:
  using ReplyHandler = std::function<void(const absl::Status&, const rpc::GcsReply&)>;
  static constexpr size_t kMaxCachedJobs = 1000;
  static Options WithMaxRequestBytes(size_t bytes) {
    Options options;
    options.max_request_bytes = bytes;
    return options;
  }

  struct Outstanding {
    rpc::GcsRequest request;  // kept to send it again after a reconnect
    ReplyHandler on_reply;
    Clock::time_point deadline = Clock::time_point::max();  // while waiting for the head
    bool resend = true;  // false: the registration, which Reconnected makes anew
  };

  // Sends `request` (its body set) and calls `on_reply` with the reply's
  // status and message, or with an error when it cannot be sent or the
  // connection goes first (see above).
  void Call(rpc::GcsRequest request, ReplyHandler on_reply);
  bool CanWait() const { return options_.reconnect_wait.count() > 0 && registration_.has_value(); }
  Clock::time_point Now() const { return options_.now ? options_.now() : Clock::now(); }

  Send send_;
  Options options_;
  uint64_t next_request_id_ = 1;
  std::map<uint64_t, Outstanding> pending_;  // by id: the order calls were made
  std::vector<std::function<void(const std::vector<rpc::NodeInfo>&)>> view_listeners_;
  std::optional<rpc::NodeInfo> registration_;  // this node's record, once registered
  bool waiting_for_head_ = false;
  absl::Status disconnected_;  // OK while connected (or waiting for the head)
  absl::Status lost_because_;  // why the head went, while waiting for it
  Clock::time_point lost_at_;
  GcsReadCache cache_;
};

}  // namespace flare

#endif  // FLARE_GCS_REMOTE_GCS_CLIENT_H_
