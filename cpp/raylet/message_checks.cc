#include "raylet/message_checks.h"

#include <cmath>
#include <initializer_list>
#include <sstream>
#include <string>

#include "common/ids.h"
#include "common/wire_checks.h"

namespace flare {

namespace {

constexpr bool kMayBeEmpty = true;

// The first of `checks` that failed, or OK.
absl::Status FirstError(std::initializer_list<absl::Status> checks) {
  for (const absl::Status& status : checks) {
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status CheckObjectData(const rpc::ObjectData& data, const char* what) {
  return FirstError({CheckId<ObjectId>(data.object_id(), what),
                     CheckIds<ObjectId>(data.contained_refs(), what),
                     CheckIds<NodeId>(data.copy_node_ids(), what),
                     data.elsewhere() ? CheckId<NodeId>(data.node_id(), what)
                                      : absl::OkStatus()});
}

template <typename Returns>
absl::Status CheckReturns(const Returns& returns, const char* what) {
  for (const rpc::ReturnObject& ret : returns) {
    if (absl::Status status = FirstError({CheckObjectData(ret.data(), what),
                                          CheckIds<ObjectId>(ret.contained_refs(), what)});
        !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

// One owner node (or none: empty) per added ref at most.
absl::Status CheckOwners(const rpc::RefUpdate& update) {
  if (update.add_owners_size() > update.add_size()) {
    return absl::InvalidArgumentError("ref_update.add_owners has more entries than ref_update.add");
  }
  for (const std::string& owner : update.add_owners()) {
    if (absl::Status status = CheckId<NodeId>(owner, "ref_update.add_owners", kMayBeEmpty);
        !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

template <typename Bundles>
absl::Status CheckBundles(const Bundles& bundles, const char* what) {
  for (const rpc::ResourceSet& bundle : bundles) {
    if (absl::Status status = CheckResourceAmounts(bundle, what); !status.ok()) return status;
  }
  return absl::OkStatus();
}

// A placement-group round names one `what` (an index, a node) per bundle.
absl::Status OnePerBundle(int count, int bundles, const std::string& what) {
  if (count == bundles) return absl::OkStatus();
  return absl::InvalidArgumentError(what + " has " + std::to_string(count) + " entries for " +
                                    std::to_string(bundles) + " bundles");
}

// What only another node's raylet sends: the rounds that reserve the
// bundles of its placement groups here.
bool PeerOnly(rpc::Message::BodyCase body) {
  using M = rpc::Message;
  return body == M::kPrepareBundles || body == M::kCommitBundles || body == M::kReturnBundles ||
         body == M::kObjectCopies;
}

// What another node's raylet sends as a client (RemoteTasks, NodeManager's
// forwarded kills and group removals, placement-group rounds), and the
// barrier every client may use.
bool PeerMaySend(rpc::Message::BodyCase body) {
  using M = rpc::Message;
  if (PeerOnly(body)) return true;
  switch (body) {
    case M::kRegisterClient:
    case M::kSubmitTask:
    case M::kPutInline:
    case M::kObjectLocation:
    case M::kRefUpdate:
    case M::kSubscribe:  // refs it borrows from objects made here
    case M::kReleasePins:
    case M::kCancelTask:
    case M::kKillActor:
    case M::kRemovePlacementGroup:  // asked of a node holding one of its bundles
    case M::kPing:
      return true;
    default:
      return false;
  }
}

absl::Status CheckFields(const rpc::Message& message) {
  using M = rpc::Message;
  switch (message.body_case()) {
    case M::kRegisterClient: {
      const rpc::RegisterClient& request = message.register_client();
      return FirstError(
          {CheckId<WorkerId>(request.worker_id(), "register_client.worker_id", kMayBeEmpty),
           CheckId<NodeId>(request.node_id(), "register_client.node_id", kMayBeEmpty)});
    }
    case M::kSubmitTask:
      return CheckTaskSpec(message.submit_task().spec());
    case M::kTaskDone:
      return FirstError({CheckId<TaskId>(message.task_done().task_id(), "task_done.task_id"),
                         CheckReturns(message.task_done().returns(), "task_done.returns")});
    case M::kTasksReturned:
      return CheckIds<TaskId>(message.tasks_returned().task_ids(), "tasks_returned.task_ids");
    case M::kCancelTask:
      return CheckId<TaskId>(message.cancel_task().task_id(), "cancel_task.task_id");
    case M::kPutInline:
      return FirstError(
          {CheckObjectData(message.put_inline().data(), "put_inline.data.object_id"),
           CheckIds<ObjectId>(message.put_inline().contained_refs(), "put_inline.contained_refs")});
    case M::kCreateObject:
      return CheckId<ObjectId>(message.create_object().object_id(), "create_object.object_id");
    case M::kSealObject:
      return FirstError(
          {CheckId<ObjectId>(message.seal_object().object_id(), "seal_object.object_id"),
           CheckIds<ObjectId>(message.seal_object().contained_refs(), "seal_object.contained_refs")});
    case M::kAbortObject:
      return CheckId<ObjectId>(message.abort_object().object_id(), "abort_object.object_id");
    case M::kSubscribe:
      return CheckIds<ObjectId>(message.subscribe().object_ids(), "subscribe.object_ids");
    case M::kRefUpdate:
      return FirstError({CheckIds<ObjectId>(message.ref_update().add(), "ref_update.add"),
                         CheckIds<ObjectId>(message.ref_update().remove(), "ref_update.remove"),
                         CheckOwners(message.ref_update())});
    case M::kReleasePins:
      return CheckIds<ObjectId>(message.release_pins().object_ids(), "release_pins.object_ids");
    case M::kObjectLocation:
      return FirstError(
          {CheckId<ObjectId>(message.object_location().object_id(), "object_location.object_id"),
           CheckId<NodeId>(message.object_location().node_id(), "object_location.node_id"),
           CheckIds<NodeId>(message.object_location().other_node_ids(),
                            "object_location.other_node_ids")});
    case M::kObjectCopies:
      return FirstError(
          {CheckIds<ObjectId>(message.object_copies().added(), "object_copies.added"),
           CheckIds<ObjectId>(message.object_copies().removed(), "object_copies.removed")});
    case M::kKillActor:
      return FirstError(
          {CheckId<ActorId>(message.kill_actor().actor_id(), "kill_actor.actor_id"),
           CheckId<NodeId>(message.kill_actor().node_id(), "kill_actor.node_id", kMayBeEmpty)});
    case M::kGeneratorYield:
      return FirstError(
          {CheckId<TaskId>(message.generator_yield().task_id(), "generator_yield.task_id"),
           CheckReturns(message.generator_yield().items(), "generator_yield.items")});
    case M::kReleaseGenerator:
      return CheckId<TaskId>(message.release_generator().task_id(), "release_generator.task_id");
    case M::kCreatePlacementGroup: {
      const rpc::CreatePlacementGroup& create = message.create_placement_group();
      return FirstError(
          {CheckId<PlacementGroupId>(create.pg_id(), "create_placement_group.pg_id"),
           CheckId<ObjectId>(create.ready_id(), "create_placement_group.ready_id"),
           CheckBundles(create.bundles(), "create_placement_group.bundles")});
    }
    case M::kRemovePlacementGroup:
      return CheckId<PlacementGroupId>(message.remove_placement_group().pg_id(),
                                       "remove_placement_group.pg_id");
    case M::kPlacementGroupTableRequest:
      return CheckId<PlacementGroupId>(message.placement_group_table_request().pg_id(),
                                       "placement_group_table_request.pg_id", kMayBeEmpty);
    case M::kRegisterPlacementGroup: {
      const rpc::PlacementGroupInfo& group = message.register_placement_group().group();
      return FirstError(
          {CheckId<PlacementGroupId>(group.pg_id(), "register_placement_group.group.pg_id"),
           CheckBundles(group.bundles(), "register_placement_group.group.bundles")});
    }
    case M::kPrepareBundles: {
      const rpc::PrepareBundles& prepare = message.prepare_bundles();
      return FirstError({OnePerBundle(prepare.bundle_indexes_size(), prepare.bundles_size(),
                                      "prepare_bundles.bundle_indexes"),
                         CheckId<PlacementGroupId>(prepare.pg_id(), "prepare_bundles.pg_id"),
                         CheckBundles(prepare.bundles(), "prepare_bundles.bundles")});
    }
    case M::kCommitBundles: {
      const rpc::CommitBundles& commit = message.commit_bundles();
      return FirstError(
          {OnePerBundle(commit.bundle_node_ids_size(), commit.bundles_size(),
                        "commit_bundles.bundle_node_ids"),
           CheckId<PlacementGroupId>(commit.pg_id(), "commit_bundles.pg_id"),
           CheckIds<NodeId>(commit.bundle_node_ids(), "commit_bundles.bundle_node_ids"),
           CheckBundles(commit.bundles(), "commit_bundles.bundles")});
    }
    case M::kReturnBundles:
      return CheckId<PlacementGroupId>(message.return_bundles().pg_id(), "return_bundles.pg_id");
    case M::kBundlesPrepared:
      return CheckId<PlacementGroupId>(message.bundles_prepared().pg_id(),
                                       "bundles_prepared.pg_id");
    case M::kActorDied:
      return CheckId<ActorId>(message.actor_died().actor_id(), "actor_died.actor_id");
    case M::kActorLocation:
      return FirstError(
          {CheckId<ActorId>(message.actor_location().actor_id(), "actor_location.actor_id"),
           CheckId<NodeId>(message.actor_location().node_id(), "actor_location.node_id")});
    case M::kTaskSpilledBack:
      return FirstError(
          {CheckId<TaskId>(message.task_spilled_back().task_id(), "task_spilled_back.task_id"),
           CheckResourceAmounts(message.task_spilled_back().total(), "task_spilled_back.total"),
           CheckIds<ObjectId>(message.task_spilled_back().lost_args(),
                              "task_spilled_back.lost_args")});
    case M::kRegisterActorName:
      return CheckId<ActorId>(message.register_actor_name().actor().actor_id(),
                              "register_actor_name.actor.actor_id");
    case M::kJobInfoRequest:
      return CheckId<JobId>(message.job_info_request().job_id(), "job_info_request.job_id",
                            kMayBeEmpty);
    case M::kLogLines:
      return CheckId<JobId>(message.log_lines().job_id(), "log_lines.job_id", kMayBeEmpty);
    default:
      return absl::OkStatus();  // no ids, no amounts
  }
}

}  // namespace

absl::Status CheckTaskSpec(const rpc::TaskSpec& spec) {
  if (absl::Status status = FirstError({
          CheckId<TaskId>(spec.task_id(), "submit_task.spec.task_id"),
          CheckId<JobId>(spec.job_id(), "submit_task.spec.job_id", kMayBeEmpty),
          CheckId<ObjectId>(spec.args_object_id(), "submit_task.spec.args_object_id",
                            kMayBeEmpty),
          CheckIds<ObjectId>(spec.dependencies(), "submit_task.spec.dependencies"),
          CheckIds<ObjectId>(spec.nested_refs(), "submit_task.spec.nested_refs"),
          CheckId<TaskId>(spec.parent_task_id(), "submit_task.spec.parent_task_id", kMayBeEmpty),
          CheckId<ActorId>(spec.actor_id(), "submit_task.spec.actor_id", kMayBeEmpty),
          CheckId<NodeId>(spec.actor_node_id(), "submit_task.spec.actor_node_id", kMayBeEmpty),
          CheckId<NodeId>(spec.strategy().node_id(), "submit_task.spec.strategy.node_id",
                          kMayBeEmpty),
          CheckResourceAmounts(spec.resources(), "submit_task.spec.resources"),
          CheckResourceAmounts(spec.actor().lifetime_resources(),
                               "submit_task.spec.actor.lifetime_resources"),
      });
      !status.ok()) {
    return status;
  }
  if (spec.num_returns() > kMaxTaskReturns) {
    return absl::InvalidArgumentError("submit_task.spec.num_returns is " +
                                      std::to_string(spec.num_returns()) + ", more than the " +
                                      std::to_string(kMaxTaskReturns) + " a task may have");
  }
  if (!std::isfinite(spec.timeout_s()) || spec.timeout_s() > kMaxTaskTimeoutSeconds) {
    std::ostringstream message;
    message << "submit_task.spec.timeout_s is " << spec.timeout_s()
            << ": it must be a finite number of seconds, at most " << kMaxTaskTimeoutSeconds;
    return absl::InvalidArgumentError(message.str());
  }
  return absl::OkStatus();
}

absl::Status CheckPeerAnswer(const rpc::Message& message) {
  using M = rpc::Message;
  switch (message.body_case()) {
    case M::kObjectReady:
      return CheckObjectData(message.object_ready(), "object_ready");
    case M::kLogLines:
    case M::kRegisterReply:
    case M::kBundlesPrepared:
    case M::kTaskSpilledBack:
    case M::kActorDied:
    case M::kActorLocation:
      return CheckFields(message);
    default:
      return absl::OkStatus();  // nothing the raylet acts on (it ignores them)
  }
}

absl::Status CheckClientMessage(rpc::ClientKind sender, const rpc::Message& message) {
  if (sender == rpc::PEER && !PeerMaySend(message.body_case())) {
    const auto* field = rpc::Message::descriptor()->FindFieldByNumber(message.body_case());
    return absl::PermissionDeniedError(
        "another node's raylet may not send " +
        (field != nullptr ? field->name() : "an empty message") +
        " (only tasks, their arguments, borrows and releases, cancels and kills, and "
        "placement-group bundles)");
  }
  if (sender != rpc::PEER && PeerOnly(message.body_case())) {
    return absl::PermissionDeniedError(
        "only another node's raylet reserves placement-group bundles or reports copies of "
        "objects on this node");
  }
  return CheckFields(message);
}

}  // namespace flare
