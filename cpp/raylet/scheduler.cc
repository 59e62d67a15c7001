#include "raylet/scheduler.h"

namespace flare {

Scheduler::Scheduler(ResourceSet total) : total_(total), available_(std::move(total)) {}

Scheduler::AddResult Scheduler::Add(const TaskId& task, const ResourceSet& demand,
                                    const std::vector<ObjectId>& unready, const std::string& tag) {
  if (!demand.IsSubsetOf(total_)) return AddResult::kInfeasible;
  Entry& entry = tasks_[task];
  entry.demand = demand;
  entry.shape = tag.empty() ? demand.ShapeKey() : demand.ShapeKey() + "#" + tag;
  entry.unresolved = unready.size();
  for (const ObjectId& object : unready) waiting_[object].push_back(task);
  if (entry.unresolved == 0) MakeDispatchable(task, entry);
  return AddResult::kQueued;
}

void Scheduler::MakeDispatchable(const TaskId& task, Entry& entry) {
  ShapeQueue& queue = ready_[entry.shape];
  if (queue.tasks.empty()) queue.demand = entry.demand;
  queue.tasks.push_back(task);
  num_dispatchable_++;
}

void Scheduler::OnObjectReady(const ObjectId& object) {
  auto it = waiting_.find(object);
  if (it == waiting_.end()) return;
  std::vector<TaskId> tasks = std::move(it->second);
  waiting_.erase(it);
  for (const TaskId& task : tasks) {
    auto found = tasks_.find(task);
    if (found == tasks_.end()) continue;  // removed while waiting
    if (--found->second.unresolved == 0) MakeDispatchable(task, found->second);
  }
}

std::vector<TaskId> Scheduler::Dispatch(size_t max_tasks) {
  std::vector<TaskId> out;
  for (auto& [shape, queue] : ready_) {
    while (out.size() < max_tasks && !queue.tasks.empty()) {
      const TaskId task = queue.tasks.front();
      if (removed_.erase(task) > 0) {
        queue.tasks.pop_front();
        continue;
      }
      if (!queue.demand.IsSubsetOf(available_)) break;
      queue.tasks.pop_front();
      available_.Subtract(queue.demand);
      tasks_.erase(task);
      num_dispatchable_--;
      out.push_back(task);
    }
    if (out.size() >= max_tasks) break;
  }
  return out;
}

std::vector<TaskId> Scheduler::TakeQueued(const std::string& shape, size_t max_tasks) {
  std::vector<TaskId> out;
  auto it = ready_.find(shape);
  if (it == ready_.end()) return out;
  auto& tasks = it->second.tasks;
  while (out.size() < max_tasks && !tasks.empty()) {
    const TaskId task = tasks.front();
    tasks.pop_front();
    if (removed_.erase(task) > 0) continue;
    tasks_.erase(task);
    num_dispatchable_--;
    out.push_back(task);
  }
  return out;
}

bool Scheduler::Remove(const TaskId& task) {
  auto it = tasks_.find(task);
  if (it == tasks_.end()) return false;
  if (it->second.unresolved == 0) {
    removed_.insert(task);
    num_dispatchable_--;
  }
  tasks_.erase(it);
  return true;
}

size_t Scheduler::NumFittingNow() const {
  size_t count = 0;
  for (const auto& [shape, queue] : ready_) {
    if (queue.tasks.empty() || !queue.demand.IsSubsetOf(available_)) continue;
    // Count how many of this shape fit, up to the queue's length.
    ResourceSet left = available_;
    for (const TaskId& task : queue.tasks) {
      if (removed_.contains(task)) continue;
      if (!queue.demand.IsSubsetOf(left)) break;
      left.Subtract(queue.demand);
      count++;
      if (queue.demand.Empty() && count > 1024) break;
    }
  }
  return count;
}

}  // namespace flare
