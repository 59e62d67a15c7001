// The GCS protocol as messages (proto/cluster.proto), both ends, with no
// I/O: a GcsClient call becomes a GcsRequest on a node, the head serves it
// against its in-process GcsClient and sends back a GcsReply, which the node
// turns into the call's callback. The gRPC layer (cpp/rpc/) only moves these
// messages, so every encoding is tested without sockets.
#ifndef FLARE_GCS_GCS_WIRE_H_
#define FLARE_GCS_GCS_WIRE_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "cluster.pb.h"
#include "gcs/gcs_client.h"

namespace flare {

// OK when every id in `request` has its kind's length and every resource
// amount is one the raylets can count with; InvalidArgument naming the
// field otherwise. The records' own rules (a taken name...) are the GCS's.
absl::Status CheckGcsRequest(const rpc::GcsRequest& request);

// Serves one request against `gcs`. `reply` is called once, possibly later
// (as `gcs` calls back), unless the request needs no reply (a resource
// report). An empty or unknown request, or one CheckGcsRequest refuses, is
// answered with InvalidArgument (a refused resource report is dropped).
void ServeGcsRequest(GcsClient& gcs, const rpc::GcsRequest& request,
                     std::function<void(rpc::GcsReply)> reply);

// A GcsClient whose calls become GcsRequests handed to `send`, answered when
// OnReply gets the reply of the same request id. The node's GCS connection
// owns it and feeds it replies and pushed views.
//
// Thread-compatible: the raylet's event loop makes every call and delivers
// every reply; callbacks run there.
class RemoteGcsClient : public GcsClient {
 public:
  // Returns false when the message could not be queued (not connected):
  // the call then fails at once with Unavailable.
  using Send = std::function<bool(rpc::GcsRequest)>;

  // A request larger than `max_request_bytes` (the cluster's message
  // limit, rpc/channel_args.h) is not sent: it would break the stream, and
  // with it the node's membership. Its call fails with ResourceExhausted.
  explicit RemoteGcsClient(Send send, size_t max_request_bytes = 64 << 20)
      : send_(std::move(send)), max_request_bytes_(max_request_bytes) {}

  // A reply or a pushed view from the GCS.
  void OnPush(const rpc::GcsPush& push);
  // The connection is gone: every call waiting for a reply fails with
  // `status`, and later calls too.
  void OnDisconnected(const absl::Status& status);
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
  // Sends `request` (its body set) and calls `on_reply` with the reply's
  // status and message, or with an error when it cannot be sent or the
  // connection goes first.
  void Call(rpc::GcsRequest request, ReplyHandler on_reply);

  Send send_;
  const size_t max_request_bytes_;
  uint64_t next_request_id_ = 1;
  absl::flat_hash_map<uint64_t, ReplyHandler> pending_;
  std::vector<std::function<void(const std::vector<rpc::NodeInfo>&)>> view_listeners_;
  absl::Status disconnected_;  // OK while connected
};

}  // namespace flare

#endif  // FLARE_GCS_GCS_WIRE_H_
