#include "raylet/lineage.h"

#include <utility>

namespace flare {

namespace {

bool MayRunAgain(const TaskRecord& record) {
  return record.retries_left != 0 && !record.is_actor_creation() && !record.is_actor_call() &&
         !record.spec.streaming() && !record.spec.dynamic_returns() && !record.owner_is_peer;
}

}  // namespace

void Lineage::Keep(const TaskId& task_id, const TaskRecord& record,
                   const std::vector<ObjectId>& only_elsewhere) {
  if (only_elsewhere.empty() || !MayRunAgain(record) || tasks_.contains(task_id)) return;
  Kept& kept = tasks_[task_id];
  kept.record.spec = record.spec;
  kept.record.owner = record.owner;
  kept.record.demand = record.demand;
  kept.record.arg_refs = record.arg_refs;
  kept.record.retries_left = record.retries_left;
  kept.returns.insert(only_elsewhere.begin(), only_elsewhere.end());
  for (const ObjectId& arg : kept.record.arg_refs) objects_.AddRef(kLineageHolder, arg);
}

void Lineage::Release(const ObjectId& id) {
  auto it = tasks_.find(TaskOfObject(id));
  if (it == tasks_.end() || it->second.returns.erase(id) == 0 || !it->second.returns.empty()) {
    return;
  }
  const std::vector<ObjectId> args = std::move(it->second.record.arg_refs);
  tasks_.erase(it);
  for (const ObjectId& arg : args) objects_.RemoveRef(kLineageHolder, arg);
}

bool Lineage::CanRebuild(const ObjectId& id) const {
  auto it = tasks_.find(TaskOfObject(id));
  return it != tasks_.end() && it->second.returns.contains(id) &&
         it->second.record.retries_left != 0;
}

std::string Lineage::WhyNot(const ObjectId& id) const {
  if (IsPutObject(id)) return "it was put, not made by a task, so nothing can make it again";
  auto it = tasks_.find(TaskOfObject(id));
  if (it == tasks_.end() || !it->second.returns.contains(id)) {
    return "the task that made it may not run again (its retries are spent or max_retries=0, "
           "or it is an actor task or a generator)";
  }
  return "its task " + it->second.record.spec.function_name() + " has no retries left";
}

std::optional<TaskRecord> Lineage::TakeForRebuild(const ObjectId& id) {
  if (!CanRebuild(id)) return std::nullopt;
  auto it = tasks_.find(TaskOfObject(id));
  TaskRecord record = std::move(it->second.record);
  tasks_.erase(it);
  if (record.retries_left > 0) record.retries_left--;
  record.spec.set_attempt(record.spec.attempt() + 1);
  // The run holds the arguments now; the lineage's references pass to it.
  for (const ObjectId& arg : record.arg_refs) objects_.AddRef(kTaskArgHolder, arg);
  for (const ObjectId& arg : record.arg_refs) objects_.RemoveRef(kLineageHolder, arg);
  return record;
}

}  // namespace flare
