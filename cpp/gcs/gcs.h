// The GCS, the cluster's control plane: the state behind the GCS service,
// one method per request the service answers. It holds the node table, the
// KV (function exports), the actor directory, the placement-group records
// and the job table (each job's config); no per-task or per-object state.
// Changes to nodes and named actors are published to subscribers
// (publisher()), and the cluster view (every node's record) goes to view
// listeners, coalesced until FlushView. Requests reach it through a
// GcsClient (gcs_client.h): in process on the head node, over the network
// (gcs_wire.h, gcs_server.h) elsewhere.
//
// Every table writes through to the Store, so a Gcs built over the same
// store after a restart of the head finds the same state once Recover has
// run (nodes excepted: they count again once they register again).
//
// No I/O of its own: storage comes in as a Store, time as a clock.
// Thread-compatible: the head raylet's event loop is its only user.
#ifndef FLARE_GCS_GCS_H_
#define FLARE_GCS_GCS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/ids.h"
#include "flare.pb.h"
#include "gcs/actor_directory.h"
#include "gcs/job_table.h"
#include "gcs/node_table.h"
#include "gcs/placement_group_table.h"
#include "gcs/publisher.h"
#include "gcs/store.h"

namespace flare {

struct GcsOptions {
  // Wall-clock milliseconds since the epoch (job start and end times).
  // Empty: the system clock.
  std::function<int64_t()> now_ms;
  size_t max_dead_actors = ActorDirectory::kDefaultMaxDead;
  size_t max_removed_groups = PlacementGroupTable::kDefaultMaxRemoved;
};

class Gcs {
 public:
  // The KV lives in this table of the store.
  static constexpr char kKvTable[] = "kv";

  // An empty GCS over `store`; Recover loads what the store already holds.
  // REQUIRES: `store` is not null.
  explicit Gcs(std::unique_ptr<Store> store, GcsOptions options = {});

  // Rebuilds the tables from the store (after a restart of the head). Nodes
  // come back not alive: each counts again once it registers again.
  // REQUIRES: called before any other method, at most once.
  absl::Status Recover();

  // ---- nodes ----
  // Adds the node, or replaces the record of a known node id.
  absl::Status RegisterNode(const rpc::NodeInfo& node);
  // The node left or stopped answering; it stays in the table, not alive
  // (ignored when unknown or already dead).
  absl::Status MarkNodeDead(const NodeId& node);
  std::vector<rpc::NodeInfo> GetAllNodes() const;
  // The records of the nodes, other than the old head, that were alive when
  // the head went (Recover): they may still run and register again.
  std::vector<rpc::NodeInfo> NodesAliveBeforeRecover() const;
  // What a live node's resources are now (soft state: not written to the
  // store). Unknown or dead nodes are ignored.
  void UpdateResources(const NodeId& node, const rpc::ResourceSet& available);

  // ---- the cluster view: every node's record, pushed after changes ----
  using ViewListener = std::function<void(const std::vector<rpc::NodeInfo>&)>;
  void AddViewListener(ViewListener listener);
  // Called once when the view changes after the last FlushView, so that the
  // caller can arm a timer and send many changes as one view.
  void SetViewDirtyHook(std::function<void()> hook) { on_view_dirty_ = std::move(hook); }
  // Sends the view to every listener if it changed since the last flush.
  void FlushView();

  // ---- KV ----
  // Returns whether the value was written (false: the key existed and
  // `overwrite` was not set).
  absl::StatusOr<bool> KvPut(const std::string& key, std::string value, bool overwrite);
  absl::StatusOr<std::optional<std::string>> KvGet(const std::string& key) const;
  // Returns whether the key existed.
  absl::StatusOr<bool> KvDelete(const std::string& key);

  // ---- jobs ----
  // Records a job whose driver just connected; returns its new id.
  absl::StatusOr<JobId> AddJob(rpc::JobInfo job);
  absl::Status MarkJobFinished(const JobId& job);
  // The job's record, or nullopt when it is unknown.
  std::optional<rpc::JobInfo> GetJob(const JobId& job) const;
  std::vector<rpc::JobInfo> GetAllJobs() const;

  // ---- actors ----
  // See ActorDirectory::Register: AlreadyExists when the name is taken.
  absl::Status RegisterActor(rpc::ActorInfo actor);
  // Unknown (unnamed) actors are ignored.
  absl::Status ReportActorState(const ActorId& actor, rpc::ActorState state);
  std::optional<rpc::ActorInfo> LookupNamedActor(const std::string& name_space,
                                                 const std::string& name) const;
  // Of `name_space`, or of every namespace when it is nullopt.
  std::vector<rpc::ActorInfo> ListNamedActors(const std::optional<std::string>& name_space) const;

  // ---- placement groups ----
  // See PlacementGroupTable for the transitions: AddPlacementGroup says
  // AlreadyExists when the group's name is taken in its namespace.
  absl::Status AddPlacementGroup(rpc::PlacementGroupInfo group);
  absl::Status PlacementGroupCreated(const PlacementGroupId& group,
                                     const std::vector<NodeId>& bundle_nodes);
  absl::Status PlacementGroupInfeasible(const PlacementGroupId& group);
  absl::Status PlacementGroupRescheduling(const PlacementGroupId& group);
  absl::Status PlacementGroupRemoved(const PlacementGroupId& group);
  // Every group kept, or only `group`'s record (none when unknown).
  std::vector<rpc::PlacementGroupInfo> GetPlacementGroups(
      const std::optional<PlacementGroupId>& group) const;
  // The group named `name` in `name_space` that is not removed, or nullopt.
  std::optional<rpc::PlacementGroupInfo> LookupNamedPlacementGroup(const std::string& name_space,
                                                                   const std::string& name) const;

  // ---- pub/sub ----
  // Subscriptions are made on it directly; node and actor changes recorded
  // here are published to it.
  Publisher& publisher() { return publisher_; }

 private:
  int64_t NowMs() const;
  // A node's record changed: the view is sent at the next FlushView.
  void ViewChanged();

  std::unique_ptr<Store> store_;
  GcsOptions options_;
  NodeTable nodes_;
  JobTable jobs_;
  ActorDirectory actors_;
  PlacementGroupTable groups_;
  Publisher publisher_;
  std::vector<ViewListener> view_listeners_;
  std::function<void()> on_view_dirty_;
  bool view_dirty_ = false;
};

}  // namespace flare

#endif  // FLARE_GCS_GCS_H_
