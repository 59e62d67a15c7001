// CoreClient: the control-plane requests — KV, cluster and store
// information, named actors, placement groups, job records and actor
// control — each a
// message to the raylet (answered by it or, through it, by the GCS). The
// object and task paths are in core_client.cc.
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "client/core_client.h"

namespace flare {

namespace {

// Whether a reply body carries the GCS's error text (`string error`).
template <typename Body, typename = void>
struct HasGcsError : std::false_type {};
template <typename Body>
struct HasGcsError<Body, std::void_t<decltype(std::declval<Body>().error().empty())>>
    : std::true_type {};

// Sends `request`, waits for its reply and returns the reply's body (taken
// with `body`, e.g. &rpc::Message::mutable_kv_reply). A body with an error
// text fails with it: the raylet answered, but the GCS behind it could not.
template <typename Body>
absl::StatusOr<Body> Request(RayletConnection& connection, rpc::Message request, int timeout_ms,
                             Body* (rpc::Message::*body)()) {
  absl::StatusOr<rpc::Message> reply = connection.Call(std::move(request), timeout_ms);
  if (!reply.ok()) return reply.status();
  Body out = std::move(*((*reply).*body)());
  if constexpr (HasGcsError<Body>::value) {
    if (!out.error().empty()) {
      return absl::UnavailableError("the GCS could not answer: " + out.error());
    }
  }
  return out;
}

}  // namespace

absl::Status CoreClient::KvPut(const std::string& key, const std::string& value, bool overwrite) {
  rpc::Message message;
  auto* put = message.mutable_kv_put();
  put->set_key(key);
  put->set_value(value);
  put->set_overwrite(overwrite);
  return connection_.Send(message);  // request id 0: no answer wanted
}

absl::StatusOr<bool> CoreClient::KvPutIfAbsent(const std::string& key, const std::string& value,
                                               int timeout_ms) {
  rpc::Message message;
  auto* put = message.mutable_kv_put();
  put->set_key(key);
  put->set_value(value);
  auto reply =
      Request(connection_, std::move(message), timeout_ms, &rpc::Message::mutable_kv_reply);
  if (!reply.ok()) return reply.status();
  return !reply->found();
}

absl::StatusOr<std::optional<std::string>> CoreClient::KvGet(const std::string& key, int timeout_ms) {
  rpc::Message message;
  message.mutable_kv_get()->set_key(key);
  auto reply =
      Request(connection_, std::move(message), timeout_ms, &rpc::Message::mutable_kv_reply);
  if (!reply.ok()) return reply.status();
  if (!reply->found()) return std::optional<std::string>();
  return std::optional<std::string>(std::move(*reply->mutable_value()));
}

absl::Status CoreClient::KillActor(const TaskId& actor, bool no_restart, bool exiting,
                                   const std::string& node) {
  rpc::Message message;
  message.mutable_kill_actor()->set_node_id(node);
  message.mutable_kill_actor()->set_actor_id(actor.Binary());
  message.mutable_kill_actor()->set_no_restart(no_restart);
  message.mutable_kill_actor()->set_exiting(exiting);
  return connection_.Send(message);
}

absl::Status CoreClient::CreatePlacementGroup(rpc::CreatePlacementGroup request) {
  rpc::Message message;
  *message.mutable_create_placement_group() = std::move(request);
  return connection_.Send(message);
}

absl::Status CoreClient::RemovePlacementGroup(const TaskId& group) {
  rpc::Message message;
  message.mutable_remove_placement_group()->set_pg_id(group.Binary());
  return connection_.Send(message);
}

absl::StatusOr<rpc::ClusterInfoReply> CoreClient::ClusterInfo(int timeout_ms) {
  rpc::Message message;
  message.mutable_cluster_info_request();
  return Request(connection_, std::move(message), timeout_ms,
                 &rpc::Message::mutable_cluster_info_reply);
}

absl::StatusOr<rpc::StoreStatsReply> CoreClient::StoreStats(int timeout_ms) {
  rpc::Message message;
  message.mutable_store_stats_request();
  return Request(connection_, std::move(message), timeout_ms,
                 &rpc::Message::mutable_store_stats_reply);
}

absl::StatusOr<rpc::PlacementGroupTableReply> CoreClient::PlacementGroupTable(
    const std::string& pg_id, int timeout_ms) {
  rpc::Message message;
  message.mutable_placement_group_table_request()->set_pg_id(pg_id);
  return Request(connection_, std::move(message), timeout_ms,
                 &rpc::Message::mutable_placement_group_table_reply);
}

absl::StatusOr<bool> CoreClient::RegisterActorName(rpc::ActorInfo actor,
                                                   std::optional<rpc::ActorInfo>* existing,
                                                   int timeout_ms) {
  rpc::Message message;
  *message.mutable_register_actor_name()->mutable_actor() = std::move(actor);
  auto reply = Request(connection_, std::move(message), timeout_ms,
                       &rpc::Message::mutable_register_actor_name_reply);
  if (!reply.ok()) return reply.status();
  existing->reset();
  if (!reply->registered() && reply->has_existing()) {
    *existing = std::move(*reply->mutable_existing());
  }
  return reply->registered();
}

absl::StatusOr<std::optional<rpc::ActorInfo>> CoreClient::LookupActor(
    const std::string& name_space, const std::string& name, int timeout_ms) {
  rpc::Message message;
  auto* request = message.mutable_lookup_actor();
  request->set_namespace_(name_space);
  request->set_name(name);
  auto reply = Request(connection_, std::move(message), timeout_ms,
                       &rpc::Message::mutable_lookup_actor_reply);
  if (!reply.ok()) return reply.status();
  if (!reply->found()) return std::optional<rpc::ActorInfo>();
  return std::optional<rpc::ActorInfo>(std::move(*reply->mutable_actor()));
}

absl::StatusOr<std::vector<rpc::ActorInfo>> CoreClient::ListNamedActors(
    bool all_namespaces, const std::string& name_space, int timeout_ms) {
  rpc::Message message;
  auto* request = message.mutable_list_named_actors();
  request->set_all_namespaces(all_namespaces);
  request->set_namespace_(name_space);
  auto reply = Request(connection_, std::move(message), timeout_ms,
                       &rpc::Message::mutable_list_named_actors_reply);
  if (!reply.ok()) return reply.status();
  return std::vector<rpc::ActorInfo>(reply->actors().begin(), reply->actors().end());
}

absl::StatusOr<bool> CoreClient::RegisterPlacementGroup(rpc::PlacementGroupInfo group,
                                                        int timeout_ms) {
  rpc::Message message;
  *message.mutable_register_placement_group()->mutable_group() = std::move(group);
  auto reply = Request(connection_, std::move(message), timeout_ms,
                       &rpc::Message::mutable_register_placement_group_reply);
  if (!reply.ok()) return reply.status();
  return reply->registered();
}

absl::StatusOr<std::optional<rpc::PlacementGroupInfo>> CoreClient::LookupPlacementGroup(
    const std::string& name_space, const std::string& name, int timeout_ms) {
  rpc::Message message;
  auto* request = message.mutable_placement_group_table_request();
  request->set_namespace_(name_space);
  request->set_name(name);
  auto reply = Request(connection_, std::move(message), timeout_ms,
                       &rpc::Message::mutable_placement_group_table_reply);
  if (!reply.ok()) return reply.status();
  if (reply->groups().empty()) return std::optional<rpc::PlacementGroupInfo>();
  return std::optional<rpc::PlacementGroupInfo>(reply->groups(0));
}

absl::StatusOr<std::optional<rpc::JobInfo>> CoreClient::GetJobInfo(const JobId& job,
                                                                   int timeout_ms) {
  rpc::Message message;
  message.mutable_job_info_request()->set_job_id(job.Binary());
  auto reply = Request(connection_, std::move(message), timeout_ms,
                       &rpc::Message::mutable_job_info_reply);
  if (!reply.ok()) return reply.status();
  if (!reply->found()) return std::optional<rpc::JobInfo>();
  return std::optional<rpc::JobInfo>(reply->job());
}

}  // namespace flare
