#include "gcs/gcs_wire.h"

#include <iostream>
#include <utility>

#include "common/wire_checks.h"

namespace flare {

namespace {

void SetStatus(const absl::Status& status, rpc::GcsReply& reply) {
  reply.set_status_code(static_cast<int32_t>(status.code()));
  reply.set_status_message(std::string(status.message()));
}

std::optional<PlacementGroupId> OptionalGroup(const std::string& binary) {
  if (binary.empty()) return std::nullopt;
  return PlacementGroupId::FromBinary(binary);
}

// Turns a GcsClient callback's result into a reply: `fill` writes an OK
// result into it.
template <typename T, typename Fill>
GcsClient::Callback<T> Answer(uint64_t id, std::function<void(rpc::GcsReply)> reply, Fill fill) {
  return [id, reply = std::move(reply), fill](absl::StatusOr<T> result) {
    rpc::GcsReply out;
    out.set_request_id(id);
    SetStatus(result.status(), out);
    if (result.ok()) fill(*result, out);
    reply(std::move(out));
  };
}

GcsClient::StatusCallback AnswerStatus(uint64_t id, std::function<void(rpc::GcsReply)> reply) {
  return [id, reply = std::move(reply)](absl::Status status) {
    rpc::GcsReply out;
    out.set_request_id(id);
    SetStatus(status, out);
    reply(std::move(out));
  };
}

// A node's record as it registers: its id and its resources.
absl::Status CheckNodeInfo(const rpc::NodeInfo& node) {
  if (absl::Status status = CheckId<NodeId>(node.node_id(), "register_node.node_id");
      !status.ok()) {
    return status;
  }
  if (absl::Status status = CheckResourceAmounts(node.total(), "register_node.total");
      !status.ok()) {
    return status;
  }
  return CheckResourceAmounts(node.available(), "register_node.available");
}

absl::Status CheckPlacementGroupInfo(const rpc::PlacementGroupInfo& group) {
  for (const rpc::ResourceSet& bundle : group.bundles()) {
    if (absl::Status status = CheckResourceAmounts(bundle, "add_placement_group.bundles");
        !status.ok()) {
      return status;
    }
  }
  return CheckIds<NodeId>(group.bundle_node_ids(), "add_placement_group.bundle_node_ids");
}

}  // namespace

absl::Status CheckGcsRequest(const rpc::GcsRequest& request) {
  using R = rpc::GcsRequest;
  switch (request.body_case()) {
    case R::kRegisterNode:
      return CheckNodeInfo(request.register_node());
    case R::kResourceReport: {
      const rpc::ResourceReport& report = request.resource_report();
      if (absl::Status status = CheckId<NodeId>(report.node_id(), "resource_report.node_id");
          !status.ok()) {
        return status;
      }
      return CheckResourceAmounts(report.available(), "resource_report.available");
    }
    case R::kMarkJobFinished:
      return CheckId<JobId>(request.mark_job_finished(), "mark_job_finished");
    case R::kGetJob:
      return CheckId<JobId>(request.get_job(), "get_job");
    case R::kRegisterActor:
      return CheckId<ActorId>(request.register_actor().actor_id(), "register_actor.actor_id");
    case R::kReportActorState:
      return CheckId<ActorId>(request.report_actor_state().actor_id(),
                              "report_actor_state.actor_id");
    case R::kAddPlacementGroup:
      return CheckPlacementGroupInfo(request.add_placement_group());
    case R::kPlacementGroupCreated: {
      const rpc::PlacementGroupReport& report = request.placement_group_created();
      if (absl::Status status =
              CheckId<PlacementGroupId>(report.pg_id(), "placement_group_created.pg_id");
          !status.ok()) {
        return status;
      }
      return CheckIds<NodeId>(report.bundle_node_ids(), "placement_group_created.bundle_node_ids");
    }
    case R::kPlacementGroupInfeasible:
      return CheckId<PlacementGroupId>(request.placement_group_infeasible(),
                                       "placement_group_infeasible");
    case R::kPlacementGroupRemoved:
      return CheckId<PlacementGroupId>(request.placement_group_removed(),
                                       "placement_group_removed");
    case R::kPlacementGroupRescheduling:
      return CheckId<PlacementGroupId>(request.placement_group_rescheduling(),
                                       "placement_group_rescheduling");
    case R::kGetPlacementGroups:
      return CheckId<PlacementGroupId>(request.get_placement_groups().pg_id(),
                                       "get_placement_groups.pg_id", /*may_be_empty=*/true);
    default:
      return absl::OkStatus();  // strings only, or nothing at all
  }
}

void ServeGcsRequest(GcsClient& gcs, const rpc::GcsRequest& request,
                     std::function<void(rpc::GcsReply)> reply) {
  const uint64_t id = request.request_id();
  if (absl::Status valid = CheckGcsRequest(request); !valid.ok()) {
    std::cerr << "flare-raylet: the GCS refused a request: " << valid.message() << "\n";
    if (request.has_resource_report()) return;  // it has no reply
    rpc::GcsReply out;
    out.set_request_id(id);
    SetStatus(valid, out);
    reply(std::move(out));
    return;
  }
  using R = rpc::GcsRequest;
  switch (request.body_case()) {
    case R::kRegisterNode:
      gcs.RegisterNode(request.register_node(), AnswerStatus(id, std::move(reply)));
      return;
    case R::kGetAllNodes:
      gcs.GetAllNodes(Answer<std::vector<rpc::NodeInfo>>(
          id, std::move(reply), [](const std::vector<rpc::NodeInfo>& nodes, rpc::GcsReply& out) {
            for (const auto& node : nodes) *out.mutable_nodes()->add_nodes() = node;
          }));
      return;
    case R::kResourceReport:
      gcs.ReportResources(NodeId::FromBinary(request.resource_report().node_id()),
                          request.resource_report().available());
      return;
    case R::kKvPut:
      gcs.KvPut(request.kv_put().key(), request.kv_put().value(), request.kv_put().overwrite(),
                Answer<bool>(id, std::move(reply),
                             [](bool written, rpc::GcsReply& out) { out.set_flag(written); }));
      return;
    case R::kKvGet:
      gcs.KvGet(request.kv_get(),
                Answer<std::optional<std::string>>(
                    id, std::move(reply),
                    [](const std::optional<std::string>& value, rpc::GcsReply& out) {
                      if (value) {
                        out.set_value(*value);
                      } else {
                        out.set_absent(true);
                      }
                    }));
      return;
    case R::kKvDelete:
      gcs.KvDelete(request.kv_delete(),
                   Answer<bool>(id, std::move(reply),
                                [](bool existed, rpc::GcsReply& out) { out.set_flag(existed); }));
      return;
    case R::kAddJob:
      gcs.AddJob(request.add_job(),
                 Answer<JobId>(id, std::move(reply), [](const JobId& job, rpc::GcsReply& out) {
                   out.set_job_id(job.Binary());
                 }));
      return;
    case R::kMarkJobFinished:
      gcs.MarkJobFinished(JobId::FromBinary(request.mark_job_finished()),
                          AnswerStatus(id, std::move(reply)));
      return;
    case R::kRegisterActor:
      gcs.RegisterActor(request.register_actor(), AnswerStatus(id, std::move(reply)));
      return;
    case R::kReportActorState:
      gcs.ReportActorState(ActorId::FromBinary(request.report_actor_state().actor_id()),
                           request.report_actor_state().state(),
                           AnswerStatus(id, std::move(reply)));
      return;
    case R::kLookupNamedActor:
      gcs.LookupNamedActor(
          request.lookup_named_actor().namespace_(), request.lookup_named_actor().name(),
          Answer<std::optional<rpc::ActorInfo>>(
              id, std::move(reply),
              [](const std::optional<rpc::ActorInfo>& actor, rpc::GcsReply& out) {
                if (actor) {
                  *out.mutable_actor() = *actor;
                } else {
                  out.set_absent(true);
                }
              }));
      return;
    case R::kListNamedActors: {
      const auto& query = request.list_named_actors();
      gcs.ListNamedActors(
          query.all_namespaces() ? std::nullopt : std::optional<std::string>(query.namespace_()),
          Answer<std::vector<rpc::ActorInfo>>(
              id, std::move(reply),
              [](const std::vector<rpc::ActorInfo>& actors, rpc::GcsReply& out) {
                for (const auto& actor : actors) *out.mutable_actors()->add_actors() = actor;
              }));
      return;
    }
    case R::kAddPlacementGroup:
      gcs.AddPlacementGroup(request.add_placement_group(), AnswerStatus(id, std::move(reply)));
      return;
    case R::kPlacementGroupCreated: {
      std::vector<NodeId> bundle_nodes;
      for (const auto& node : request.placement_group_created().bundle_node_ids()) {
        bundle_nodes.push_back(NodeId::FromBinary(node));
      }
      gcs.ReportPlacementGroupCreated(
          PlacementGroupId::FromBinary(request.placement_group_created().pg_id()),
          std::move(bundle_nodes), AnswerStatus(id, std::move(reply)));
      return;
    }
    case R::kPlacementGroupInfeasible:
      gcs.ReportPlacementGroupInfeasible(
          PlacementGroupId::FromBinary(request.placement_group_infeasible()),
          AnswerStatus(id, std::move(reply)));
      return;
    case R::kPlacementGroupRescheduling:
      gcs.ReportPlacementGroupRescheduling(
          PlacementGroupId::FromBinary(request.placement_group_rescheduling()),
          AnswerStatus(id, std::move(reply)));
      return;
    case R::kPlacementGroupRemoved:
      gcs.ReportPlacementGroupRemoved(
          PlacementGroupId::FromBinary(request.placement_group_removed()),
          AnswerStatus(id, std::move(reply)));
      return;
    case R::kGetPlacementGroups:
      gcs.GetPlacementGroups(
          OptionalGroup(request.get_placement_groups().pg_id()),
          Answer<std::vector<rpc::PlacementGroupInfo>>(
              id, std::move(reply),
              [](const std::vector<rpc::PlacementGroupInfo>& groups, rpc::GcsReply& out) {
                for (const auto& group : groups) *out.mutable_groups()->add_groups() = group;
              }));
      return;
    case R::kGetJob:
      gcs.GetJob(JobId::FromBinary(request.get_job()),
                 Answer<std::optional<rpc::JobInfo>>(
                     id, std::move(reply),
                     [](const std::optional<rpc::JobInfo>& job, rpc::GcsReply& out) {
                       if (job) {
                         *out.mutable_job() = *job;
                       } else {
                         out.set_absent(true);
                       }
                     }));
      return;
    case R::kLookupNamedPlacementGroup:
      gcs.LookupNamedPlacementGroup(
          request.lookup_named_placement_group().namespace_(),
          request.lookup_named_placement_group().name(),
          Answer<std::optional<rpc::PlacementGroupInfo>>(
              id, std::move(reply),
              [](const std::optional<rpc::PlacementGroupInfo>& group, rpc::GcsReply& out) {
                if (group) {
                  *out.mutable_group() = *group;
                } else {
                  out.set_absent(true);
                }
              }));
      return;
    case R::BODY_NOT_SET:
      break;
  }
  rpc::GcsReply out;
  out.set_request_id(id);
  SetStatus(absl::InvalidArgumentError("the GCS got an empty or unknown request"), out);
  reply(std::move(out));
}

}  // namespace flare
