#include "raylet/gcs_requests.h"

#include <iostream>
#include <string>
#include <utility>

namespace flare {

void GcsRequests::KvPut(ClientId client, rpc::KvPut& put) {
  const uint64_t request_id = put.request_id();
  GcsClient::Callback<bool> done;
  if (request_id != 0) {  // the client waits for the answer
    done = [this, client, request_id](absl::StatusOr<bool> stored) {
      rpc::Message reply;
      reply.mutable_kv_reply()->set_request_id(request_id);
      if (stored.ok()) {
        reply.mutable_kv_reply()->set_found(!*stored);  // the key was there already
      } else {
        reply.mutable_kv_reply()->set_error(std::string(stored.status().message()));
      }
      clients_.Send(client, reply);
    };
  } else {
    done = [key = put.key()](absl::StatusOr<bool> stored) {
      if (!stored.ok()) {
        std::cerr << "flare-raylet: GCS KV put of " << key << " failed: " << stored.status() << "\n";
      }
    };
  }
  gcs_.KvPut(put.key(), std::move(*put.mutable_value()), put.overwrite(), std::move(done));
}

void GcsRequests::KvGet(ClientId client, const rpc::KvGet& get) {
  gcs_.KvGet(get.key(), [this, client, request_id = get.request_id()](
                            absl::StatusOr<std::optional<std::string>> value) {
    rpc::Message reply;
    auto* kv = reply.mutable_kv_reply();
    kv->set_request_id(request_id);
    if (!value.ok()) {
      kv->set_error(std::string(value.status().message()));
    } else if (value->has_value()) {
      kv->set_found(true);
      kv->set_value(std::move(**value));
    }
    clients_.Send(client, reply);
  });
}

void GcsRequests::RegisterActorName(ClientId client, rpc::RegisterActorName& request) {
  const uint64_t request_id = request.request_id();
  const std::string name_space = request.actor().namespace_();
  const std::string name = request.actor().name();
  gcs_.RegisterActor(std::move(*request.mutable_actor()), [this, client, request_id, name_space,
                                                           name](absl::Status status) {
    if (status.ok() || !absl::IsAlreadyExists(status)) {
      rpc::Message reply;
      auto* body = reply.mutable_register_actor_name_reply();
      body->set_request_id(request_id);
      body->set_registered(status.ok());
      if (!status.ok()) body->set_error(std::string(status.message()));
      clients_.Send(client, reply);
      return;
    }
    // The name is taken: tell who holds it (get_if_exists returns it).
    // (It may have died since: then the name was taken all the same.)
    gcs_.LookupNamedActor(name_space, name, [this, client, request_id](
                                                absl::StatusOr<std::optional<rpc::ActorInfo>> actor) {
      rpc::Message reply;
      auto* body = reply.mutable_register_actor_name_reply();
      body->set_request_id(request_id);
      body->set_registered(false);
      if (actor.ok() && actor->has_value()) *body->mutable_existing() = std::move(**actor);
      clients_.Send(client, reply);
    });
  });
}

void GcsRequests::LookupActor(ClientId client, const rpc::LookupActor& request) {
  gcs_.LookupNamedActor(request.namespace_(), request.name(),
                        [this, client, request_id = request.request_id()](
                            absl::StatusOr<std::optional<rpc::ActorInfo>> actor) {
                          rpc::Message reply;
                          auto* body = reply.mutable_lookup_actor_reply();
                          body->set_request_id(request_id);
                          if (!actor.ok()) {
                            body->set_error(std::string(actor.status().message()));
                          } else if (actor->has_value()) {
                            body->set_found(true);
                            *body->mutable_actor() = std::move(**actor);
                          }
                          clients_.Send(client, reply);
                        });
}

void GcsRequests::ListNamedActors(ClientId client, const rpc::ListNamedActors& request) {
  std::optional<std::string> name_space;
  if (!request.all_namespaces()) name_space = request.namespace_();
  gcs_.ListNamedActors(name_space, [this, client, request_id = request.request_id()](
                                       absl::StatusOr<std::vector<rpc::ActorInfo>> actors) {
    rpc::Message reply;
    auto* body = reply.mutable_list_named_actors_reply();
    body->set_request_id(request_id);
    if (!actors.ok()) {
      body->set_error(std::string(actors.status().message()));
    } else {
      for (rpc::ActorInfo& actor : *actors) *body->add_actors() = std::move(actor);
    }
    clients_.Send(client, reply);
  });
}

void GcsRequests::PlacementGroupTable(ClientId client,
                                      const rpc::PlacementGroupTableRequest& request) {
  auto reply_with = [this, client, request_id = request.request_id()](
                        absl::StatusOr<std::vector<rpc::PlacementGroupInfo>> groups) {
    rpc::Message reply;
    auto* body = reply.mutable_placement_group_table_reply();
    body->set_request_id(request_id);
    if (!groups.ok()) {
      body->set_error(std::string(groups.status().message()));
    } else {
      for (rpc::PlacementGroupInfo& info : *groups) *body->add_groups() = std::move(info);
    }
    clients_.Send(client, reply);
  };
  if (request.pg_id().empty() && !request.name().empty()) {
    gcs_.LookupNamedPlacementGroup(
        request.namespace_(), request.name(),
        [reply_with = std::move(reply_with)](
            absl::StatusOr<std::optional<rpc::PlacementGroupInfo>> group) {
          if (!group.ok()) return reply_with(group.status());
          std::vector<rpc::PlacementGroupInfo> found;
          if (group->has_value()) found.push_back(std::move(**group));
          reply_with(std::move(found));
        });
    return;
  }
  std::optional<PlacementGroupId> group;
  if (!request.pg_id().empty()) group = PlacementGroupId::FromBinary(request.pg_id());
  gcs_.GetPlacementGroups(group, std::move(reply_with));
}

void GcsRequests::RegisterPlacementGroup(ClientId client, rpc::RegisterPlacementGroup& request) {
  gcs_.AddPlacementGroup(
      std::move(*request.mutable_group()),
      [this, client, request_id = request.request_id()](absl::Status status) {
        rpc::Message reply;
        auto* body = reply.mutable_register_placement_group_reply();
        body->set_request_id(request_id);
        body->set_registered(status.ok());
        // A taken name is an answer, not an error.
        if (!status.ok() && !absl::IsAlreadyExists(status)) {
          body->set_error(std::string(status.message()));
        }
        clients_.Send(client, reply);
      });
}

void GcsRequests::JobInfo(ClientId client, const rpc::JobInfoRequest& request) {
  gcs_.GetJob(JobId::FromBinary(request.job_id()),
              [this, client, request_id = request.request_id()](
                  absl::StatusOr<std::optional<rpc::JobInfo>> job) {
                rpc::Message reply;
                auto* body = reply.mutable_job_info_reply();
                body->set_request_id(request_id);
                if (!job.ok()) {
                  body->set_error(std::string(job.status().message()));
                } else if (job->has_value()) {
                  body->set_found(true);
                  *body->mutable_job() = std::move(**job);
                }
                clients_.Send(client, reply);
              });
}

}  // namespace flare
