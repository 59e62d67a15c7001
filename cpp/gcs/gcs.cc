#include "gcs/gcs.h"

#include <chrono>
#include <utility>

namespace flare {

namespace {

template <typename Record>
std::optional<Record> CopyOf(const Record* record) {
  if (record == nullptr) return std::nullopt;
  return *record;
}

template <typename Record>
std::vector<Record> CopiesOf(const std::vector<const Record*>& records) {
  std::vector<Record> copies;
  copies.reserve(records.size());
  for (const Record* record : records) copies.push_back(*record);
  return copies;
}

}  // namespace

Gcs::Gcs(std::unique_ptr<Store> store, GcsOptions options)
    : store_(std::move(store)),
      options_(std::move(options)),
      nodes_(*store_),
      jobs_(*store_),
      actors_(*store_, options_.max_dead_actors),
      groups_(*store_, options_.max_removed_groups) {}

absl::Status Gcs::Recover() {
  absl::Status status = nodes_.Load();
  status.Update(jobs_.Load());
  status.Update(actors_.Load());
  status.Update(groups_.Load());
  return status;
}

int64_t Gcs::NowMs() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

absl::Status Gcs::RegisterNode(const rpc::NodeInfo& node) {
  absl::Status status = nodes_.Upsert(node);
  if (!status.ok()) return status;
  publisher_.PublishNode(node);
  ViewChanged();
  return absl::OkStatus();
}

absl::Status Gcs::MarkNodeDead(const NodeId& node) {
  absl::StatusOr<bool> changed = nodes_.MarkDead(node);
  if (!changed.ok()) return changed.status();
  if (*changed) {
    publisher_.PublishNode(*nodes_.Find(node));
    ViewChanged();
  }
  return absl::OkStatus();
}

std::vector<rpc::NodeInfo> Gcs::NodesAliveBeforeRecover() const {
  std::vector<rpc::NodeInfo> nodes;
  for (const NodeId& id : nodes_.alive_before_load()) nodes.push_back(*nodes_.Find(id));
  return nodes;
}

void Gcs::UpdateResources(const NodeId& node, const rpc::ResourceSet& available) {
  if (nodes_.UpdateAvailable(node, available)) ViewChanged();
}

void Gcs::AddViewListener(ViewListener listener) { view_listeners_.push_back(std::move(listener)); }

void Gcs::ViewChanged() {
  if (view_dirty_) return;
  view_dirty_ = true;
  if (on_view_dirty_) on_view_dirty_();
}

void Gcs::FlushView() {
  if (!view_dirty_) return;
  view_dirty_ = false;
  const std::vector<rpc::NodeInfo> view = nodes_.All();
  for (const ViewListener& listener : view_listeners_) listener(view);
}

std::vector<rpc::NodeInfo> Gcs::GetAllNodes() const { return nodes_.All(); }

absl::StatusOr<bool> Gcs::KvPut(const std::string& key, std::string value, bool overwrite) {
  return store_->Put(kKvTable, key, std::move(value), overwrite);
}

absl::StatusOr<std::optional<std::string>> Gcs::KvGet(const std::string& key) const {
  return store_->Get(kKvTable, key);
}

absl::StatusOr<bool> Gcs::KvDelete(const std::string& key) { return store_->Delete(kKvTable, key); }

absl::StatusOr<JobId> Gcs::AddJob(rpc::JobInfo job) { return jobs_.Add(std::move(job), NowMs()); }

absl::Status Gcs::MarkJobFinished(const JobId& job) { return jobs_.MarkFinished(job, NowMs()); }

std::optional<rpc::JobInfo> Gcs::GetJob(const JobId& job) const { return CopyOf(jobs_.Find(job)); }

std::vector<rpc::JobInfo> Gcs::GetAllJobs() const { return CopiesOf(jobs_.All()); }

absl::Status Gcs::RegisterActor(rpc::ActorInfo actor) {
  const ActorId id = ActorId::FromBinary(actor.actor_id());
  absl::Status status = actors_.Register(std::move(actor));
  if (status.ok()) publisher_.PublishActor(*actors_.Find(id));
  return status;
}

absl::Status Gcs::ReportActorState(const ActorId& actor, rpc::ActorState state) {
  absl::StatusOr<std::optional<rpc::ActorInfo>> changed = actors_.SetState(actor, state);
  if (!changed.ok()) return changed.status();
  if (changed->has_value()) publisher_.PublishActor(**changed);
  return absl::OkStatus();
}

std::optional<rpc::ActorInfo> Gcs::LookupNamedActor(const std::string& name_space,
                                                    const std::string& name) const {
  return CopyOf(actors_.Lookup(name_space, name));
}

std::vector<rpc::ActorInfo> Gcs::ListNamedActors(
    const std::optional<std::string>& name_space) const {
  return CopiesOf(actors_.ListNamed(name_space));
}

absl::Status Gcs::AddPlacementGroup(rpc::PlacementGroupInfo group) {
  return groups_.Add(std::move(group));
}

absl::Status Gcs::PlacementGroupCreated(const PlacementGroupId& group,
                                        const std::vector<NodeId>& bundle_nodes) {
  return groups_.MarkCreated(group, bundle_nodes);
}

absl::Status Gcs::PlacementGroupInfeasible(const PlacementGroupId& group) {
  return groups_.MarkInfeasible(group);
}

absl::Status Gcs::PlacementGroupRescheduling(const PlacementGroupId& group) {
  return groups_.MarkRescheduling(group);
}

absl::Status Gcs::PlacementGroupRemoved(const PlacementGroupId& group) { return groups_.MarkRemoved(group); }

std::vector<rpc::PlacementGroupInfo> Gcs::GetPlacementGroups(
    const std::optional<PlacementGroupId>& group) const {
  if (!group) return CopiesOf(groups_.All());
  std::vector<rpc::PlacementGroupInfo> found;
  if (const rpc::PlacementGroupInfo* info = groups_.Find(*group)) found.push_back(*info);
  return found;
}

std::optional<rpc::PlacementGroupInfo> Gcs::LookupNamedPlacementGroup(
    const std::string& name_space, const std::string& name) const {
  return CopyOf(groups_.LookupNamed(name_space, name));
}

}  // namespace flare
