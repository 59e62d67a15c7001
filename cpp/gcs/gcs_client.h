// What a raylet asks of the GCS. Every operation is asynchronous: its
// result comes to a callback, so that the same callers work whether the GCS
// is in this process (InProcessGcsClient, on the head node) or across the
// network (a gRPC client on the other nodes).
//
// Callback contract, for every implementation:
//   - `done` may be empty: the caller does not need the result (the request
//     is still made).
//   - Otherwise it is called exactly once, on the thread that made the
//     request (the raylet's event loop), either before the method returns
//     or later. Callers must not assume either, so a callback must not
//     refer to state that can go before the reply comes: capture ids (a
//     client id, a task id) and look them up, not references.
//   - An error status means the request may not have been applied (the GCS
//     could not be reached, or refused it as the operation documents).
//
// Ids travel as their binary forms in the records (rpc::NodeInfo...), as
// they will on the wire.
#ifndef FLARE_GCS_GCS_CLIENT_H_
#define FLARE_GCS_GCS_CLIENT_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/ids.h"
#include "flare.pb.h"

namespace flare {

class GcsClient {
 public:
  template <typename T>
  using Callback = std::function<void(absl::StatusOr<T>)>;
  using StatusCallback = std::function<void(absl::Status)>;

  virtual ~GcsClient() = default;

  // ---- nodes ----
  // Adds this node to the cluster (or updates its record).
  virtual void RegisterNode(const rpc::NodeInfo& node, StatusCallback done) = 0;
  virtual void GetAllNodes(Callback<std::vector<rpc::NodeInfo>> done) = 0;
  // What this node's resources are now (no reply; the GCS folds reports
  // into the cluster view).
  virtual void ReportResources(const NodeId& node, const rpc::ResourceSet& available) = 0;
  // `on_view` gets every node's record after changes (coalesced), on the
  // caller's thread, for as long as this client lives.
  virtual void SubscribeClusterView(
      std::function<void(const std::vector<rpc::NodeInfo>&)> on_view) = 0;

  // ---- KV ----
  // The result says whether the value was written (false: the key existed
  // and `overwrite` was not set).
  virtual void KvPut(const std::string& key, std::string value, bool overwrite,
                     Callback<bool> done) = 0;
  // nullopt when the key is absent.
  virtual void KvGet(const std::string& key, Callback<std::optional<std::string>> done) = 0;
  // The result says whether the key existed.
  virtual void KvDelete(const std::string& key, Callback<bool> done) = 0;

  // ---- jobs ----
  // Records a job whose driver connected to this node; the GCS gives it its
  // id (cluster-wide unique).
  virtual void AddJob(rpc::JobInfo job, Callback<JobId> done) = 0;
  virtual void MarkJobFinished(const JobId& job, StatusCallback done) = 0;
  // The job's record (its config and namespace...); nullopt when unknown.
  virtual void GetJob(const JobId& job, Callback<std::optional<rpc::JobInfo>> done) = 0;

  // ---- actors ----
  // Registers a named actor before its creation task is submitted.
  // AlreadyExists when a live actor of the namespace has the name.
  virtual void RegisterActor(rpc::ActorInfo actor, StatusCallback done) = 0;
  // The actor is alive, restarting or dead (which frees its name). Unknown
  // (unnamed) actors are ignored.
  virtual void ReportActorState(const ActorId& actor, rpc::ActorState state,
                                StatusCallback done) = 0;
  // The live actor named `name` in `name_space`; nullopt when none is.
  virtual void LookupNamedActor(const std::string& name_space, const std::string& name,
                                Callback<std::optional<rpc::ActorInfo>> done) = 0;
  // The live named actors of `name_space`, or of every namespace when it is
  // nullopt, ordered by namespace and name.
  virtual void ListNamedActors(const std::optional<std::string>& name_space,
                               Callback<std::vector<rpc::ActorInfo>> done) = 0;

  // ---- placement groups (records; reserving bundles stays on the node) ----
  // A new group, PENDING (a known id is left as it is). A named group takes
  // its name in its namespace: its creator registers it so before asking
  // for it. AlreadyExists when a group of the namespace that is not removed
  // has the name.
  virtual void AddPlacementGroup(rpc::PlacementGroupInfo group, StatusCallback done) = 0;
  // Its bundles are reserved: bundle i on `bundle_nodes[i]`.
  virtual void ReportPlacementGroupCreated(const PlacementGroupId& group,
                                           std::vector<NodeId> bundle_nodes,
                                           StatusCallback done) = 0;
  // It stays PENDING: the cluster as it is can never hold it.
  virtual void ReportPlacementGroupInfeasible(const PlacementGroupId& group, StatusCallback done) = 0;
  // Created, then a node of its bundles left: RESCHEDULING until those
  // bundles are reserved again (ReportPlacementGroupCreated).
  virtual void ReportPlacementGroupRescheduling(const PlacementGroupId& group,
                                                StatusCallback done) = 0;
  virtual void ReportPlacementGroupRemoved(const PlacementGroupId& group, StatusCallback done) = 0;
  // Every group the GCS keeps (live and recently removed), or only `group`'s
  // record (none when it is unknown).
  virtual void GetPlacementGroups(const std::optional<PlacementGroupId>& group,
                                  Callback<std::vector<rpc::PlacementGroupInfo>> done) = 0;
  // The group named `name` in `name_space` that is not removed; nullopt
  // when none is.
  virtual void LookupNamedPlacementGroup(
      const std::string& name_space, const std::string& name,
      Callback<std::optional<rpc::PlacementGroupInfo>> done) = 0;
};

}  // namespace flare

#endif  // FLARE_GCS_GCS_CLIENT_H_
