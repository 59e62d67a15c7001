// The task manager's tasks that no node can fit yet: they wait a grace
// period for a node that fits to join (the job is warned at once), go there
// when the cluster view shows one, or fail INFEASIBLE. An actor's creation
// waits before the actor manager hears of it, so it may still be placed on
// the node that joins; its calls wait with it. A task another node placed
// here that does not fit here waits for nothing here: it is spilled back to
// that node, which places it again (and waits, if no node fits). A task in
// a placement group that another node made, which no node offers yet, waits
// as long as the GCS records the group pending (asked after each grace).
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/escaping.h"
#include "common/placement_group_resources.h"
#include "raylet/task_manager.h"

namespace flare {

std::string TaskManager::InfeasibleReason(const TaskRecord& record) {
  std::string why;
  if (record.spec.strategy().kind() == rpc::SchedulingStrategySpec::NODE_AFFINITY) {
    why = " on node " + NodeId::FromBinary(record.spec.strategy().node_id()).Hex() +
          ", which is not alive or has not that much";
  } else if (std::optional<PlacementGroupId> group = GroupElsewhere(record.demand)) {
    why = " but no node offers that of placement group " + group->Hex() +
          " (made on another node: not reserved yet, removed, or its bundles' nodes left)";
  } else if (record.owner_is_peer) {
    why = " but node " + view_.local_id().Hex() + ", where another node placed it, has " +
          view_.local_total().DebugString();
  } else if (RunsHereOnly(record) && !record.is_actor_creation() &&
             !view_.remote_nodes().empty()) {
    why = " but this node has " + view_.local_total().DebugString() +
          " and this kind of task runs where it was submitted";
  } else {
    why = " but no node has that much: the largest has " + view_.LargestNode().DebugString();
  }
  return "task " + record.spec.function_name() + " requires " + record.demand.DebugString() + why;
}

bool TaskManager::WaitForAFittingNode(const TaskId& task_id, TaskRecord& record,
                                      const ClientInfo* creator) {
  const bool hard_affinity =
      record.spec.strategy().kind() == rpc::SchedulingStrategySpec::NODE_AFFINITY &&
      !record.spec.strategy().soft();
  if (record.waited_infeasible || hard_affinity || infeasible_grace_.count() <= 0) return false;
  record.waited_infeasible = true;
  infeasible_[task_id] = creator != nullptr ? std::optional<ClientInfo>(*creator) : std::nullopt;
  const std::string grace = std::to_string(infeasible_grace_.count()) + " ms";
  LogToJob(clients_, record.spec.job_id(),
           "warning: " + InfeasibleReason(record) +
               (GroupElsewhere(record.demand)
                    ? "; it waits while the group is pending (checked every " + grace + ")"
                    : "; it fails unless a node that fits joins within " + grace));
  timers_.After(infeasible_grace_, [this, task_id] { OnInfeasibleGraceOver(task_id); });
  return true;
}

std::optional<PlacementGroupId> TaskManager::GroupElsewhere(const ResourceSet& demand) const {
  if (groups_.GroupOf(demand)) return std::nullopt;  // known here
  for (const auto& [name, amount] : demand.ToMap()) {
    const std::optional<std::string_view> hex = GroupOfResource(name);
    if (hex && hex->size() == 2 * PlacementGroupId::kSize) {
      return PlacementGroupId::FromBinary(
          absl::HexStringToBytes(absl::string_view(hex->data(), hex->size())));
    }
  }
  return std::nullopt;
}

void TaskManager::OnInfeasibleGraceOver(const TaskId& task_id) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end() || !infeasible_.contains(task_id)) return;
  const std::optional<PlacementGroupId> group = GroupElsewhere(it->second.demand);
  if (!group) {
    EndInfeasibleWait(task_id);
    Dispatch();
    return;
  }
  // Another node made the group: the GCS says whether it is still pending
  // (or reserved on nodes alive, which this node's view has not shown yet).
  gcs_.GetPlacementGroups(
      *group, [this, task_id](absl::StatusOr<std::vector<rpc::PlacementGroupInfo>> records) {
        if (!infeasible_.contains(task_id)) return;
        const rpc::PlacementGroupInfo* record =
            records.ok() && !records->empty() ? &records->front() : nullptr;
        bool waits = record != nullptr && (record->state() == rpc::PG_PENDING ||
                                           record->state() == rpc::PG_RESCHEDULING);
        if (record != nullptr && record->state() == rpc::PG_CREATED) {
          for (const std::string& node : record->bundle_node_ids()) {
            waits = waits || view_.remote_nodes().count(NodeId::FromBinary(node)) > 0;
          }
        }
        if (waits) {
          timers_.After(infeasible_grace_, [this, task_id] { OnInfeasibleGraceOver(task_id); });
          return;
        }
        EndInfeasibleWait(task_id);  // goes to the group's bundles, or fails
        Dispatch();
      });
}

void TaskManager::EndInfeasibleWait(const TaskId& task_id) {
  auto parked = infeasible_.find(task_id);
  if (parked == infeasible_.end()) return;
  const std::optional<ClientInfo> creator = parked->second;
  infeasible_.erase(parked);
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return;
  TaskRecord& record = it->second;
  if (creator && ReleaseCreation(*creator, task_id, record)) return;
  Place(task_id, record);  // where it fits now, or it fails INFEASIBLE
}

void TaskManager::SpillBackToOwner(const TaskId& task_id, const TaskRecord& record,
                                   const std::vector<ObjectId>& lost_args) {
  rpc::Message message;
  rpc::TaskSpilledBack& back = *message.mutable_task_spilled_back();
  back.set_task_id(task_id.Binary());
  if (lost_args.empty()) {
    back.set_why(InfeasibleReason(record));
  } else {
    back.set_why("its argument " + lost_args.front().Hex() +
                 " could not be fetched from where its owner said it was");
    for (const ObjectId& id : lost_args) back.add_lost_args(id.Binary());
  }
  view_.local_total().ToProto(back.mutable_total());
  // The owner forgets the task and may send it here again at once: the
  // errors its returns get here must not reach the owner, which would take
  // them for the next attempt's. They stay until the owner lets go of them.
  for (uint32_t i = 1; i <= record.spec.num_returns(); ++i) {
    objects_.Unsubscribe(record.owner, ObjectIdFor(task_id, i));
  }
  clients_.Send(record.owner, message);
  Fail(task_id, lost_args.empty() ? rpc::INFEASIBLE : rpc::OBJECT_LOST, back.why());
}

void TaskManager::OnSpilledBack(const NodeId& node, const rpc::TaskSpilledBack& back) {
  const TaskId task_id = TaskId::FromBinary(back.task_id());
  auto it = tasks_.find(task_id);
  if (it == tasks_.end() || it->second.remote != node || !remote_.Runs(task_id)) return;
  if (auto known = view_.remote_nodes().find(node); known != view_.remote_nodes().end()) {
    ClusterResourceView::Node corrected{ResourceSet::FromProto(back.total()), ResourceSet()};
    for (const auto& [name, amount] : known->second.available.ToMap()) {
      corrected.available.Set(name, std::min(amount, corrected.total.Get(name)));
    }
    view_.UpdateNode(node, std::move(corrected));
  }
  remote_.Forget(task_id);  // that node drops the returns it held for it
  TaskRecord& record = it->second;
  record.running = false;
  record.remote = NodeId();
  const std::string why = "node " + node.Hex() + " spilled it back: " + back.why();
  if (record.is_actor_creation()) {
    FailActorElsewhere(task_id, why);
    return;
  }
  // Arguments that node could not fetch: made again (or lost) if the node
  // holding them is gone; if it is still in the view (its death not known
  // here yet, or a passing failure), the task is placed again shortly.
  std::vector<ObjectId> gone;
  bool holder_alive = false;
  for (const std::string& binary : back.lost_args()) {
    const ObjectId id = ObjectId::FromBinary(binary);
    const ObjectEntry* entry = objects_.Find(id);
    if (entry == nullptr || !objects_.NeedsFetch(id)) continue;
    if (view_.remote_nodes().count(entry->elsewhere) > 0) {
      holder_alive = true;
    } else {
      gone.push_back(id);
    }
  }
  if (!gone.empty()) OnCopiesLost(gone, why);
  if (holder_alive) {
    timers_.After(kLostArgumentRetry, [this, task_id] {
      auto again = tasks_.find(task_id);
      if (again == tasks_.end() || again->second.running || again->second.cancelled ||
          !again->second.remote.IsNil()) {
        return;
      }
      Route(task_id, again->second);
      Dispatch();
    });
    return;
  }
  Route(task_id, record);
  Dispatch();
}

void TaskManager::OnViewChanged() {
  if (infeasible_.empty()) return;
  std::vector<TaskId> fitting;
  for (const auto& [task_id, creator] : infeasible_) {
    auto it = tasks_.find(task_id);
    if (it == tasks_.end() || !Decide(it->second).is_infeasible()) fitting.push_back(task_id);
  }
  for (const TaskId& task_id : fitting) EndInfeasibleWait(task_id);
}

}  // namespace flare
