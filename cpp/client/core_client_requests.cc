// CoreClient: the control-plane requests — KV, cluster and store
// information, named actors, placement groups, job records and actor
// control — each a
// message to the raylet (answered by it or, through it, by the GCS). The
// object and task paths are in core_client.cc.
#include <optional>
#include <string>
#include <vector>

#include "client/core_client.h"

namespace flare {

namespace {

// The raylet answered, but the GCS behind it could not.
absl::Status GcsError(const std::string& error) {
  return absl::UnavailableError("the GCS could not answer: " + error);
}

}  // namespace

absl::Status CoreClient::KvPut(const std::string& key, const std::string& value, bool overwrite) {
  rpc::Message message;
  auto* put = message.mutable_kv_put();
  put->set_key(key);
  put->set_value(value);
  put->set_overwrite(overwrite);
  return Send(message);
}

absl::StatusOr<bool> CoreClient::KvPutIfAbsent(const std::string& key, const std::string& value,
                                               int timeout_ms) {
  const uint64_t request_id = NextRequestId();
  rpc::Message message;
  auto* put = message.mutable_kv_put();
  put->set_key(key);
  put->set_value(value);
  put->set_request_id(request_id);
  auto reply = Call(std::move(message), request_id, timeout_ms);
  if (!reply.ok()) return reply.status();
  if (!reply->kv_reply().error().empty()) return GcsError(reply->kv_reply().error());
  return !reply->kv_reply().found();
}

absl::Status CoreClient::KillActor(const TaskId& actor, bool no_restart, bool exiting) {
  rpc::Message message;
  message.mutable_kill_actor()->set_actor_id(actor.Binary());
  message.mutable_kill_actor()->set_no_restart(no_restart);
  message.mutable_kill_actor()->set_exiting(exiting);
  return Send(message);
}

absl::Status CoreClient::CreatePlacementGroup(rpc::CreatePlacementGroup request) {
  rpc::Message message;
  *message.mutable_create_placement_group() = std::move(request);
  return Send(message);
}

absl::Status CoreClient::RemovePlacementGroup(const TaskId& group) {
  rpc::Message message;
  message.mutable_remove_placement_group()->set_pg_id(group.Binary());
  return Send(message);
}

absl::StatusOr<std::optional<std::string>> CoreClient::KvGet(const std::string& key, int timeout_ms) {
  const uint64_t request_id = NextRequestId();
  rpc::Message message;
  message.mutable_kv_get()->set_request_id(request_id);
  message.mutable_kv_get()->set_key(key);
  auto reply = Call(std::move(message), request_id, timeout_ms);
  if (!reply.ok()) return reply.status();
  if (!reply->kv_reply().error().empty()) return GcsError(reply->kv_reply().error());
  if (!reply->kv_reply().found()) return std::optional<std::string>();
  return std::optional<std::string>(reply->kv_reply().value());
}

absl::StatusOr<rpc::ClusterInfoReply> CoreClient::ClusterInfo(int timeout_ms) {
  const uint64_t request_id = NextRequestId();
  rpc::Message message;
  message.mutable_cluster_info_request()->set_request_id(request_id);
  auto reply = Call(std::move(message), request_id, timeout_ms);
  if (!reply.ok()) return reply.status();
  if (!reply->cluster_info_reply().error().empty()) {
    return GcsError(reply->cluster_info_reply().error());
  }
  return reply->cluster_info_reply();
}

absl::StatusOr<rpc::StoreStatsReply> CoreClient::StoreStats(int timeout_ms) {
  const uint64_t request_id = NextRequestId();
  rpc::Message message;
  message.mutable_store_stats_request()->set_request_id(request_id);
  auto reply = Call(std::move(message), request_id, timeout_ms);
  if (!reply.ok()) return reply.status();
  return reply->store_stats_reply();
}

absl::StatusOr<rpc::PlacementGroupTableReply> CoreClient::PlacementGroupTable(
    const std::string& pg_id, int timeout_ms) {
  const uint64_t request_id = NextRequestId();
  rpc::Message message;
  auto* request = message.mutable_placement_group_table_request();
  request->set_request_id(request_id);
  request->set_pg_id(pg_id);
  auto reply = Call(std::move(message), request_id, timeout_ms);
  if (!reply.ok()) return reply.status();
  if (!reply->placement_group_table_reply().error().empty()) {
    return GcsError(reply->placement_group_table_reply().error());
  }
  return reply->placement_group_table_reply();
}

absl::StatusOr<bool> CoreClient::RegisterActorName(rpc::ActorInfo actor,
                                                   std::optional<rpc::ActorInfo>* existing,
                                                   int timeout_ms) {
  const uint64_t request_id = NextRequestId();
  rpc::Message message;
  auto* request = message.mutable_register_actor_name();
  request->set_request_id(request_id);
  *request->mutable_actor() = std::move(actor);
  auto reply = Call(std::move(message), request_id, timeout_ms);
  if (!reply.ok()) return reply.status();
  const rpc::RegisterActorNameReply& body = reply->register_actor_name_reply();
  if (!body.error().empty()) return GcsError(body.error());
  existing->reset();
  if (!body.registered() && body.has_existing()) *existing = body.existing();
  return body.registered();
}

absl::StatusOr<std::optional<rpc::ActorInfo>> CoreClient::LookupActor(
    const std::string& name_space, const std::string& name, int timeout_ms) {
  const uint64_t request_id = NextRequestId();
  rpc::Message message;
  auto* request = message.mutable_lookup_actor();
  request->set_request_id(request_id);
  request->set_namespace_(name_space);
  request->set_name(name);
  auto reply = Call(std::move(message), request_id, timeout_ms);
  if (!reply.ok()) return reply.status();
  const rpc::LookupActorReply& body = reply->lookup_actor_reply();
  if (!body.error().empty()) return GcsError(body.error());
  if (!body.found()) return std::optional<rpc::ActorInfo>();
  return std::optional<rpc::ActorInfo>(body.actor());
}

absl::StatusOr<std::vector<rpc::ActorInfo>> CoreClient::ListNamedActors(
    bool all_namespaces, const std::string& name_space, int timeout_ms) {
  const uint64_t request_id = NextRequestId();
  rpc::Message message;
  auto* request = message.mutable_list_named_actors();
  request->set_request_id(request_id);
  request->set_all_namespaces(all_namespaces);
  request->set_namespace_(name_space);
  auto reply = Call(std::move(message), request_id, timeout_ms);
  if (!reply.ok()) return reply.status();
  const rpc::ListNamedActorsReply& body = reply->list_named_actors_reply();
  if (!body.error().empty()) return GcsError(body.error());
  return std::vector<rpc::ActorInfo>(body.actors().begin(), body.actors().end());
}

absl::StatusOr<bool> CoreClient::RegisterPlacementGroup(rpc::PlacementGroupInfo group,
                                                        int timeout_ms) {
  const uint64_t request_id = NextRequestId();
  rpc::Message message;
  auto* request = message.mutable_register_placement_group();
  request->set_request_id(request_id);
  *request->mutable_group() = std::move(group);
  auto reply = Call(std::move(message), request_id, timeout_ms);
  if (!reply.ok()) return reply.status();
  const rpc::RegisterPlacementGroupReply& body = reply->register_placement_group_reply();
  if (!body.error().empty()) return GcsError(body.error());
  return body.registered();
}

absl::StatusOr<std::optional<rpc::PlacementGroupInfo>> CoreClient::LookupPlacementGroup(
    const std::string& name_space, const std::string& name, int timeout_ms) {
  const uint64_t request_id = NextRequestId();
  rpc::Message message;
  auto* request = message.mutable_placement_group_table_request();
  request->set_request_id(request_id);
  request->set_namespace_(name_space);
  request->set_name(name);
  auto reply = Call(std::move(message), request_id, timeout_ms);
  if (!reply.ok()) return reply.status();
  const rpc::PlacementGroupTableReply& body = reply->placement_group_table_reply();
  if (!body.error().empty()) return GcsError(body.error());
  if (body.groups().empty()) return std::optional<rpc::PlacementGroupInfo>();
  return std::optional<rpc::PlacementGroupInfo>(body.groups(0));
}

absl::StatusOr<std::optional<rpc::JobInfo>> CoreClient::GetJobInfo(const JobId& job,
                                                                   int timeout_ms) {
  const uint64_t request_id = NextRequestId();
  rpc::Message message;
  auto* request = message.mutable_job_info_request();
  request->set_request_id(request_id);
  request->set_job_id(job.Binary());
  auto reply = Call(std::move(message), request_id, timeout_ms);
  if (!reply.ok()) return reply.status();
  const rpc::JobInfoReply& body = reply->job_info_reply();
  if (!body.error().empty()) return GcsError(body.error());
  if (!body.found()) return std::optional<rpc::JobInfo>();
  return std::optional<rpc::JobInfo>(body.job());
}

}  // namespace flare
