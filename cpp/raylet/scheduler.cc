#include "raylet/scheduler.h"

#include <algorithm>

#include "common/compact.h"

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
  queue.tasks.push_back({next_seq_++, task});
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

std::vector<TaskId> Scheduler::WaitingFor(const ObjectId& object) const {
  std::vector<TaskId> tasks;
  auto it = waiting_.find(object);
  if (it == waiting_.end()) return tasks;
  for (const TaskId& task : it->second) {
    if (tasks_.contains(task)) tasks.push_back(task);
  }
  return tasks;
}

bool Scheduler::SkipRemoved(ShapeQueue& queue) {
  while (!queue.tasks.empty() && removed_.erase(queue.tasks.front().task) > 0) {
    queue.tasks.pop_front();
  }
  return !queue.tasks.empty();
}

Scheduler::ShapeMap::iterator Scheduler::OldestFitting() {
  auto best = ready_.end();
  for (auto it = ready_.begin(); it != ready_.end();) {
    if (!SkipRemoved(it->second)) {
      it = ready_.erase(it);  // demands seen once do not pile up
      continue;
    }
    if (it->second.demand.IsSubsetOf(available_) &&
        (best == ready_.end() || it->second.tasks.front().seq < best->second.tasks.front().seq)) {
      best = it;
    }
    ++it;
  }
  return best;
}

uint64_t Scheduler::OldestOtherThan(const std::string& shape) {
  uint64_t oldest = UINT64_MAX;
  for (auto& [key, queue] : ready_) {
    if (key != shape && SkipRemoved(queue)) oldest = std::min(oldest, queue.tasks.front().seq);
  }
  return oldest;
}

TaskId Scheduler::Pop(ShapeQueue& queue) {
  const TaskId task = queue.tasks.front().task;
  queue.tasks.pop_front();
  tasks_.erase(task);
  num_dispatchable_--;
  return task;
}

std::vector<TaskId> Scheduler::Dispatch(size_t max_tasks) {
  std::vector<TaskId> out;
  while (out.size() < max_tasks) {
    auto it = OldestFitting();
    if (it == ready_.end()) break;
    available_.Subtract(it->second.demand);
    out.push_back(Pop(it->second));
  }
  return out;
}

std::vector<TaskId> Scheduler::TakeQueued(const std::string& shape, size_t max_tasks) {
  std::vector<TaskId> out;
  auto it = ready_.find(shape);
  if (it == ready_.end()) return out;
  const uint64_t limit = OldestOtherThan(shape);
  ShapeQueue& queue = it->second;
  while (out.size() < max_tasks && SkipRemoved(queue) && queue.tasks.front().seq < limit) {
    out.push_back(Pop(queue));
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
    for (const Ready& ready : queue.tasks) {
      if (removed_.contains(ready.task)) continue;
      if (!queue.demand.IsSubsetOf(left)) break;
      left.Subtract(queue.demand);
      count++;
      if (queue.demand.Empty() && count > 1024) break;
    }
  }
  return count;
}

std::vector<TaskId> Scheduler::PeekDispatchable(size_t max_tasks) const {
  std::vector<Ready> oldest;
  for (const auto& [shape, queue] : ready_) {
    size_t taken = 0;
    for (const Ready& ready : queue.tasks) {
      if (taken == max_tasks) break;
      if (removed_.contains(ready.task)) continue;
      oldest.push_back(ready);
      ++taken;
    }
  }
  std::sort(oldest.begin(), oldest.end(),
            [](const Ready& a, const Ready& b) { return a.seq < b.seq; });
  std::vector<TaskId> out;
  for (size_t i = 0; i < oldest.size() && i < max_tasks; ++i) out.push_back(oldest[i].task);
  return out;
}

void Scheduler::Compact() {
  ShrinkIfSparse(tasks_);
  ShrinkIfSparse(waiting_);
  ShrinkIfSparse(removed_);
  for (auto& [shape, queue] : ready_) ShrinkIfSparse(queue.tasks);
}

}  // namespace flare
