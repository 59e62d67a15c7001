#include "gcs/remote_gcs_client.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <utility>

namespace flare {

namespace {

const rpc::GcsReply kNoReply;

void Answer(const std::function<void(const absl::Status&, const rpc::GcsReply&)>& handler,
            const absl::Status& status, const rpc::GcsReply& reply = kNoReply) {
  if (handler) handler(status, reply);
}

absl::Status StatusOf(const rpc::GcsReply& reply) {
  return absl::Status(static_cast<absl::StatusCode>(reply.status_code()), reply.status_message());
}

}  // namespace

void RemoteGcsClient::Call(rpc::GcsRequest request, ReplyHandler on_reply) {
  if (!disconnected_.ok()) {
    Answer(on_reply, disconnected_);
    return;
  }
  const uint64_t id = next_request_id_++;
  request.set_request_id(id);
  if (const size_t size = request.ByteSizeLong(); size > options_.max_request_bytes) {
    const auto* field = request.GetDescriptor()->FindFieldByNumber(request.body_case());
    Answer(on_reply, absl::ResourceExhaustedError(
                 "the GCS request " + (field != nullptr ? field->name() : std::string("?")) +
                 " is " + std::to_string(size) + " bytes, more than the " +
                 std::to_string(options_.max_request_bytes) + " a message between nodes may carry"));
    return;
  }
  Outstanding& outstanding = pending_[id];
  outstanding.on_reply = std::move(on_reply);
  if (waiting_for_head_) {
    outstanding.request = std::move(request);
    // A report nobody waits for is kept until the head is back.
    if (outstanding.on_reply) outstanding.deadline = Now() + options_.reconnect_wait;
    return;
  }
  if (CanWait()) outstanding.request = request;  // to send it again after a reconnect
  if (!send_(std::move(request)) && !CanWait()) {
    ReplyHandler handler = std::move(outstanding.on_reply);
    pending_.erase(id);
    Answer(handler, absl::UnavailableError("not connected to the GCS"));
  }
  // A send that failed while the node can wait: the connection's end comes
  // next (OnDisconnected), and the call waits with the others.
}

void RemoteGcsClient::OnPush(const rpc::GcsPush& push) {
  if (push.has_view()) {
    const std::vector<rpc::NodeInfo> nodes(push.view().nodes().begin(), push.view().nodes().end());
    for (const auto& listener : view_listeners_) listener(nodes);
    return;
  }
  if (!push.has_reply()) return;
  auto it = pending_.find(push.reply().request_id());
  if (it == pending_.end()) return;  // not ours, or already failed
  ReplyHandler handler = std::move(it->second.on_reply);
  pending_.erase(it);
  Answer(handler, StatusOf(push.reply()), push.reply());
}

void RemoteGcsClient::OnDisconnected(const absl::Status& status) {
  const absl::Status why = status.ok() ? absl::UnavailableError("the GCS connection closed") : status;
  if (CanWait()) {
    if (!waiting_for_head_) {
      waiting_for_head_ = true;
      lost_because_ = why;
      lost_at_ = Now();
    }
    const Clock::time_point deadline = lost_at_ + options_.reconnect_wait;
    std::vector<ReplyHandler> registrations;
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (!it->second.resend || it->second.request.has_register_node()) {
        // Not sent again: Reconnected registers the node anew.
        registrations.push_back(std::move(it->second.on_reply));
        it = pending_.erase(it);
        continue;
      }
      if (it->second.on_reply) it->second.deadline = std::min(it->second.deadline, deadline);
      ++it;
    }
    for (ReplyHandler& handler : registrations) Answer(handler, why);
    return;
  }
  disconnected_ = why;
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [id, outstanding] : pending) Answer(outstanding.on_reply, disconnected_);
}

bool RemoteGcsClient::Reconnected() {
  if (!registration_) return false;  // (REQUIRES) nothing to register again
  waiting_for_head_ = false;
  const uint64_t id = next_request_id_++;
  Outstanding& registration = pending_[id];
  registration.resend = false;
  registration.on_reply = [](const absl::Status& status, const rpc::GcsReply&) {
    // Unavailable: the head is not back yet, and the next try follows.
    if (!status.ok() && !absl::IsUnavailable(status)) {
      std::cerr << "flare-raylet: cannot register again: " << status << "\n";
    }
  };
  rpc::GcsRequest request;
  request.set_request_id(id);
  *request.mutable_register_node() = *registration_;
  if (!send_(std::move(request))) return false;
  for (auto& [call_id, outstanding] : pending_) {
    if (outstanding.resend && !send_(outstanding.request)) return false;
  }
  return true;
}

void RemoteGcsClient::ExpireWaiting(Clock::time_point now) {
  std::vector<ReplyHandler> expired;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    expired.push_back(std::move(it->second.on_reply));
    it = pending_.erase(it);
  }
  if (expired.empty()) return;
  char waited[32];
  std::snprintf(waited, sizeof(waited), "%g", options_.reconnect_wait.count() / 1000.0);
  const absl::Status gave_up = absl::UnavailableError(
      "the head (GCS) is unreachable (" + std::string(lost_because_.message()) +
      "); gave up after waiting " + waited +
      " s for it to come back (FLARE_GCS_RECONNECT_TIMEOUT_S / --gcs-reconnect-timeout-s)");
  for (ReplyHandler& handler : expired) Answer(handler, gave_up);
}

namespace {

using ReplyHandler = std::function<void(const absl::Status&, const rpc::GcsReply&)>;

// A ReplyHandler that hands `done` the status alone; none when `done` is
// empty (a report nobody waits for, which never expires).
ReplyHandler StatusOnly(GcsClient::StatusCallback done) {
  if (!done) return nullptr;
  return [done = std::move(done)](const absl::Status& status, const rpc::GcsReply&) {
    done(status);
  };
}

// A ReplyHandler that hands `done` the value `read` takes out of an OK reply.
template <typename T, typename Read>
ReplyHandler WithResult(GcsClient::Callback<T> done, Read read) {
  if (!done) return nullptr;
  return [done = std::move(done), read](const absl::Status& status, const rpc::GcsReply& reply) {
    if (!status.ok()) {
      done(status);
      return;
    }
    done(read(reply));
  };
}

}  // namespace

void RemoteGcsClient::RegisterNode(const rpc::NodeInfo& node, StatusCallback done) {
  registration_ = node;
  rpc::GcsRequest request;
  *request.mutable_register_node() = node;
  Call(std::move(request), StatusOnly(std::move(done)));
}

void RemoteGcsClient::GetAllNodes(Callback<std::vector<rpc::NodeInfo>> done) {
  rpc::GcsRequest request;
  request.mutable_get_all_nodes();
  Call(std::move(request),
       WithResult<std::vector<rpc::NodeInfo>>(std::move(done), [](const rpc::GcsReply& reply) {
         return std::vector<rpc::NodeInfo>(reply.nodes().nodes().begin(),
                                           reply.nodes().nodes().end());
       }));
}

void RemoteGcsClient::ReportResources(const NodeId& node, const rpc::ResourceSet& available) {
  if (!disconnected_.ok() || waiting_for_head_) return;
  if (registration_) *registration_->mutable_available() = available;  // registers with it
  rpc::GcsRequest request;
  request.mutable_resource_report()->set_node_id(node.Binary());
  *request.mutable_resource_report()->mutable_available() = available;
  send_(std::move(request));  // no reply: a lost report is superseded by the next
}

void RemoteGcsClient::SubscribeClusterView(
    std::function<void(const std::vector<rpc::NodeInfo>&)> on_view) {
  view_listeners_.push_back(std::move(on_view));
}

void RemoteGcsClient::KvPut(const std::string& key, std::string value, bool overwrite,
                            Callback<bool> done) {
  rpc::GcsRequest request;
  request.mutable_kv_put()->set_key(key);
  request.mutable_kv_put()->set_value(std::move(value));
  request.mutable_kv_put()->set_overwrite(overwrite);
  ReplyHandler handler = WithResult<bool>(std::move(done), [](const rpc::GcsReply& reply) {
    return reply.flag();
  });
  if (cache_.Immutable(key)) {
    // Written or already there, the GCS holds this value from now on.
    handler = [this, key, value = request.kv_put().value(), handler = std::move(handler)](
                  const absl::Status& status, const rpc::GcsReply& reply) {
      if (status.ok()) cache_.OnKv(key, value);
      Answer(handler, status, reply);
    };
  }
  Call(std::move(request), std::move(handler));
}

void RemoteGcsClient::KvGet(const std::string& key, Callback<std::optional<std::string>> done) {
  rpc::GcsRequest request;
  if (const std::string* kept = cache_.Kv(key); kept != nullptr && waiting_for_head_) {
    if (done) done(std::optional<std::string>(*kept));
    return;
  }
  request.set_kv_get(key);
  Call(std::move(request), WithResult<std::optional<std::string>>(
                               std::move(done), [this, key](const rpc::GcsReply& reply) {
                                 if (!reply.has_value()) return std::optional<std::string>();
                                 cache_.OnKv(key, reply.value());
                                 return std::optional(reply.value());
                               }));
}

void RemoteGcsClient::KvDelete(const std::string& key, Callback<bool> done) {
  rpc::GcsRequest request;
  request.set_kv_delete(key);
  Call(std::move(request), WithResult<bool>(std::move(done), [](const rpc::GcsReply& reply) {
         return reply.flag();
       }));
}

void RemoteGcsClient::AddJob(rpc::JobInfo job, Callback<JobId> done) {
  rpc::GcsRequest request;
  *request.mutable_add_job() = job;
  ReplyHandler handler = WithResult<JobId>(
      std::move(done), [this, job = std::move(job)](const rpc::GcsReply& reply) {
        rpc::JobInfo added = job;
        added.set_job_id(reply.job_id());
        cache_.OnJob(added);
        return JobId::FromBinary(reply.job_id());
      });
  Call(std::move(request), std::move(handler));
}

void RemoteGcsClient::MarkJobFinished(const JobId& job, StatusCallback done) {
  rpc::GcsRequest request;
  request.set_mark_job_finished(job.Binary());
  Call(std::move(request), StatusOnly(std::move(done)));
}

void RemoteGcsClient::RegisterActor(rpc::ActorInfo actor, StatusCallback done) {
  rpc::GcsRequest request;
  *request.mutable_register_actor() = std::move(actor);
  Call(std::move(request), StatusOnly(std::move(done)));
}

void RemoteGcsClient::ReportActorState(const ActorId& actor, rpc::ActorState state,
                                       StatusCallback done) {
  rpc::GcsRequest request;
  request.mutable_report_actor_state()->set_actor_id(actor.Binary());
  request.mutable_report_actor_state()->set_state(state);
  Call(std::move(request), StatusOnly(std::move(done)));
}

void RemoteGcsClient::LookupNamedActor(const std::string& name_space, const std::string& name,
                                       Callback<std::optional<rpc::ActorInfo>> done) {
  rpc::GcsRequest request;
  request.mutable_lookup_named_actor()->set_namespace_(name_space);
  request.mutable_lookup_named_actor()->set_name(name);
  Call(std::move(request), WithResult<std::optional<rpc::ActorInfo>>(
                               std::move(done), [](const rpc::GcsReply& reply) {
                                 return reply.has_actor() ? std::optional(reply.actor())
                                                          : std::nullopt;
                               }));
}

void RemoteGcsClient::ListNamedActors(const std::optional<std::string>& name_space,
                                      Callback<std::vector<rpc::ActorInfo>> done) {
  rpc::GcsRequest request;
  auto* query = request.mutable_list_named_actors();
  query->set_all_namespaces(!name_space);
  if (name_space) query->set_namespace_(*name_space);
  Call(std::move(request),
       WithResult<std::vector<rpc::ActorInfo>>(std::move(done), [](const rpc::GcsReply& reply) {
         return std::vector<rpc::ActorInfo>(reply.actors().actors().begin(),
                                            reply.actors().actors().end());
       }));
}

void RemoteGcsClient::AddPlacementGroup(rpc::PlacementGroupInfo group, StatusCallback done) {
  rpc::GcsRequest request;
  *request.mutable_add_placement_group() = std::move(group);
  Call(std::move(request), StatusOnly(std::move(done)));
}

void RemoteGcsClient::ReportPlacementGroupCreated(const PlacementGroupId& group,
                                                  std::vector<NodeId> bundle_nodes,
                                                  StatusCallback done) {
  rpc::GcsRequest request;
  request.mutable_placement_group_created()->set_pg_id(group.Binary());
  for (const NodeId& node : bundle_nodes) {
    request.mutable_placement_group_created()->add_bundle_node_ids(node.Binary());
  }
  Call(std::move(request), StatusOnly(std::move(done)));
}

void RemoteGcsClient::ReportPlacementGroupInfeasible(const PlacementGroupId& group, StatusCallback done) {
  rpc::GcsRequest request;
  request.set_placement_group_infeasible(group.Binary());
  Call(std::move(request), StatusOnly(std::move(done)));
}

void RemoteGcsClient::ReportPlacementGroupRescheduling(const PlacementGroupId& group,
                                                       StatusCallback done) {
  rpc::GcsRequest request;
  request.set_placement_group_rescheduling(group.Binary());
  Call(std::move(request), StatusOnly(std::move(done)));
}

void RemoteGcsClient::ReportPlacementGroupRemoved(const PlacementGroupId& group, StatusCallback done) {
  rpc::GcsRequest request;
  request.set_placement_group_removed(group.Binary());
  Call(std::move(request), StatusOnly(std::move(done)));
}

void RemoteGcsClient::GetPlacementGroups(const std::optional<PlacementGroupId>& group,
                                         Callback<std::vector<rpc::PlacementGroupInfo>> done) {
  rpc::GcsRequest request;
  request.mutable_get_placement_groups()->set_pg_id(group ? group->Binary() : "");
  Call(std::move(request), WithResult<std::vector<rpc::PlacementGroupInfo>>(
                               std::move(done), [](const rpc::GcsReply& reply) {
                                 return std::vector<rpc::PlacementGroupInfo>(
                                     reply.groups().groups().begin(), reply.groups().groups().end());
                               }));
}

void RemoteGcsClient::GetJob(const JobId& job, Callback<std::optional<rpc::JobInfo>> done) {
  rpc::GcsRequest request;
  if (const rpc::JobInfo* kept = cache_.Job(job); kept != nullptr && waiting_for_head_) {
    if (done) done(std::optional<rpc::JobInfo>(*kept));
    return;
  }
  request.set_get_job(job.Binary());
  Call(std::move(request), WithResult<std::optional<rpc::JobInfo>>(
                               std::move(done), [this](const rpc::GcsReply& reply) {
                                 if (!reply.has_job()) return std::optional<rpc::JobInfo>();
                                 cache_.OnJob(reply.job());
                                 return std::optional(reply.job());
                               }));
}

void RemoteGcsClient::LookupNamedPlacementGroup(
    const std::string& name_space, const std::string& name,
    Callback<std::optional<rpc::PlacementGroupInfo>> done) {
  rpc::GcsRequest request;
  request.mutable_lookup_named_placement_group()->set_namespace_(name_space);
  request.mutable_lookup_named_placement_group()->set_name(name);
  Call(std::move(request), WithResult<std::optional<rpc::PlacementGroupInfo>>(
                               std::move(done), [](const rpc::GcsReply& reply) {
                                 return reply.has_group() ? std::optional(reply.group())
                                                          : std::nullopt;
                               }));
}

}  // namespace flare
