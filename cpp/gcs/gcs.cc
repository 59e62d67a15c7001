#include "gcs/gcs.h"

#include <chrono>
#include <utility>

namespace flare {

Gcs::Gcs(std::unique_ptr<Store> store, GcsOptions options)
    : store_(std::move(store)),
      options_(std::move(options)),
      actors_(options_.max_dead_actors),
      groups_(options_.max_removed_groups) {}

int64_t Gcs::NowMs() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Gcs::RegisterNode(const rpc::NodeInfo& node) {
  nodes_.Upsert(node);
  ViewChanged();
}

void Gcs::UpdateResources(const NodeId& node, const rpc::ResourceSet& available) {
  if (!nodes_.UpdateAvailable(node, available)) return;
  ViewChanged();
}

void Gcs::MarkNodeDead(const NodeId& node) {
  if (!nodes_.MarkDead(node)) return;
  ViewChanged();
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

JobId Gcs::AddJob(rpc::JobInfo job) { return jobs_.Add(std::move(job), NowMs()); }

void Gcs::MarkJobFinished(const JobId& job) { jobs_.MarkFinished(job, NowMs()); }

std::vector<rpc::JobInfo> Gcs::GetAllJobs() const {
  std::vector<rpc::JobInfo> all;
  for (const rpc::JobInfo* job : jobs_.All()) all.push_back(*job);
  return all;
}

absl::Status Gcs::RegisterActor(rpc::ActorInfo actor) { return actors_.Register(std::move(actor)); }

void Gcs::ReportActorState(const TaskId& actor, rpc::ActorState state) {
  actors_.SetState(actor, state);
}

std::optional<rpc::ActorInfo> Gcs::LookupNamedActor(const std::string& name_space,
                                                    const std::string& name) const {
  const rpc::ActorInfo* actor = actors_.Lookup(name_space, name);
  if (actor == nullptr) return std::nullopt;
  return *actor;
}

std::vector<rpc::ActorInfo> Gcs::ListNamedActors(
    const std::optional<std::string>& name_space) const {
  std::vector<rpc::ActorInfo> actors;
  for (const rpc::ActorInfo* actor : actors_.ListNamed(name_space)) actors.push_back(*actor);
  return actors;
}

void Gcs::AddPlacementGroup(rpc::PlacementGroupInfo group) { groups_.Add(std::move(group)); }

void Gcs::PlacementGroupCreated(const TaskId& group, const NodeId& node) {
  groups_.MarkCreated(group, node);
}

void Gcs::PlacementGroupInfeasible(const TaskId& group) { groups_.MarkInfeasible(group); }

void Gcs::PlacementGroupRemoved(const TaskId& group) { groups_.MarkRemoved(group); }

std::vector<rpc::PlacementGroupInfo> Gcs::GetPlacementGroups(
    const std::optional<TaskId>& group) const {
  std::vector<rpc::PlacementGroupInfo> found;
  if (group) {
    if (const rpc::PlacementGroupInfo* info = groups_.Find(*group)) found.push_back(*info);
    return found;
  }
  for (const rpc::PlacementGroupInfo* info : groups_.All()) found.push_back(*info);
  return found;
}

}  // namespace flare
