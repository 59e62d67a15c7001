#include "gcs/in_process_gcs_client.h"

#include <utility>

namespace flare {

namespace {

// Calls `done` with `result` unless the caller did not ask for it.
template <typename Done, typename Result>
void Reply(const Done& done, Result&& result) {
  if (done) done(std::forward<Result>(result));
}

}  // namespace

void InProcessGcsClient::RegisterNode(const rpc::NodeInfo& node, StatusCallback done) {
  Reply(done, gcs_.RegisterNode(node));
}

void InProcessGcsClient::GetAllNodes(Callback<std::vector<rpc::NodeInfo>> done) {
  Reply(done, gcs_.GetAllNodes());
}

void InProcessGcsClient::ReportResources(const NodeId& node,
                                         const rpc::ResourceSet& available) {
  gcs_.UpdateResources(node, available);
}

void InProcessGcsClient::SubscribeClusterView(
    std::function<void(const std::vector<rpc::NodeInfo>&)> on_view) {
  gcs_.AddViewListener(std::move(on_view));
}

void InProcessGcsClient::KvPut(const std::string& key, std::string value, bool overwrite,
                               Callback<bool> done) {
  Reply(done, gcs_.KvPut(key, std::move(value), overwrite));
}

void InProcessGcsClient::KvGet(const std::string& key,
                               Callback<std::optional<std::string>> done) {
  Reply(done, gcs_.KvGet(key));
}

void InProcessGcsClient::KvDelete(const std::string& key, Callback<bool> done) {
  Reply(done, gcs_.KvDelete(key));
}

void InProcessGcsClient::AddJob(rpc::JobInfo job, Callback<JobId> done) {
  Reply(done, gcs_.AddJob(std::move(job)));
}

void InProcessGcsClient::MarkJobFinished(const JobId& job, StatusCallback done) {
  Reply(done, gcs_.MarkJobFinished(job));
}

void InProcessGcsClient::GetJob(const JobId& job, Callback<std::optional<rpc::JobInfo>> done) {
  Reply(done, gcs_.GetJob(job));
}

void InProcessGcsClient::RegisterActor(rpc::ActorInfo actor, StatusCallback done) {
  Reply(done, gcs_.RegisterActor(std::move(actor)));
}

void InProcessGcsClient::ReportActorState(const ActorId& actor, rpc::ActorState state,
                                          StatusCallback done) {
  Reply(done, gcs_.ReportActorState(actor, state));
}

void InProcessGcsClient::LookupNamedActor(const std::string& name_space, const std::string& name,
                                          Callback<std::optional<rpc::ActorInfo>> done) {
  Reply(done, gcs_.LookupNamedActor(name_space, name));
}

void InProcessGcsClient::ListNamedActors(const std::optional<std::string>& name_space,
                                         Callback<std::vector<rpc::ActorInfo>> done) {
  Reply(done, gcs_.ListNamedActors(name_space));
}

void InProcessGcsClient::AddPlacementGroup(rpc::PlacementGroupInfo group, StatusCallback done) {
  Reply(done, gcs_.AddPlacementGroup(std::move(group)));
}

void InProcessGcsClient::ReportPlacementGroupCreated(const PlacementGroupId& group,
                                                     std::vector<NodeId> bundle_nodes,
                                                     StatusCallback done) {
  Reply(done, gcs_.PlacementGroupCreated(group, bundle_nodes));
}

void InProcessGcsClient::ReportPlacementGroupInfeasible(const PlacementGroupId& group,
                                                        StatusCallback done) {
  Reply(done, gcs_.PlacementGroupInfeasible(group));
}

void InProcessGcsClient::ReportPlacementGroupRescheduling(const PlacementGroupId& group,
                                                          StatusCallback done) {
  Reply(done, gcs_.PlacementGroupRescheduling(group));
}

void InProcessGcsClient::ReportPlacementGroupRemoved(const PlacementGroupId& group, StatusCallback done) {
  Reply(done, gcs_.PlacementGroupRemoved(group));
}

void InProcessGcsClient::GetPlacementGroups(const std::optional<PlacementGroupId>& group,
                                            Callback<std::vector<rpc::PlacementGroupInfo>> done) {
  Reply(done, gcs_.GetPlacementGroups(group));
}

void InProcessGcsClient::LookupNamedPlacementGroup(
    const std::string& name_space, const std::string& name,
    Callback<std::optional<rpc::PlacementGroupInfo>> done) {
  Reply(done, gcs_.LookupNamedPlacementGroup(name_space, name));
}

}  // namespace flare
