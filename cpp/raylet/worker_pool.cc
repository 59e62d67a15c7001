#include "raylet/worker_pool.h"

#include <algorithm>

namespace flare {

WorkerPool::WorkerPool(WorkerLauncher& launcher, size_t num_prestart, size_t max_workers)
    : launcher_(launcher),
      num_prestart_(num_prestart),
      max_workers_(std::max(max_workers, num_prestart)) {}

absl::Status WorkerPool::StartOne() {
  WorkerId id = WorkerId::FromRandom();
  auto pid = launcher_.Launch(id);
  if (!pid.ok()) return pid.status();
  WorkerInfo& info = workers_[id];
  info.id = id;
  info.pid = *pid;
  by_pid_[*pid] = id;
  num_starting_++;
  return absl::OkStatus();
}

absl::Status WorkerPool::Prestart() {
  while (workers_.size() < num_prestart_) {
    absl::Status status = StartOne();
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

bool WorkerPool::OnRegistered(const WorkerId& id, ClientId client) {
  auto it = workers_.find(id);
  if (it == workers_.end() || it->second.state != WorkerState::kStarting) return false;
  it->second.client = client;
  it->second.state = WorkerState::kIdle;
  by_client_[client] = id;
  idle_.push_back(client);
  num_starting_--;
  return true;
}

std::optional<ClientId> WorkerPool::PopIdle(const TaskId& task) {
  if (idle_.empty()) return std::nullopt;
  ClientId client = idle_.back();
  idle_.pop_back();
  WorkerInfo& info = workers_[by_client_[client]];
  info.state = WorkerState::kBusy;
  info.task = task;
  return client;
}

void WorkerPool::OnTaskFinished(ClientId client) {
  auto it = by_client_.find(client);
  if (it == by_client_.end()) return;
  WorkerInfo& info = workers_[it->second];
  info.state = WorkerState::kIdle;
  if (info.blocked && !info.dedicated) num_blocked_--;
  info.blocked = false;
  info.task.reset();
  idle_.push_back(client);
}

void WorkerPool::SetBlocked(ClientId client, bool blocked) {
  auto it = by_client_.find(client);
  if (it == by_client_.end()) return;
  WorkerInfo& info = workers_[it->second];
  if (info.blocked == blocked) return;
  info.blocked = blocked;
  if (!info.dedicated) blocked ? num_blocked_++ : num_blocked_--;
}

std::optional<WorkerInfo> WorkerPool::Forget(const WorkerId& id) {
  auto it = workers_.find(id);
  if (it == workers_.end()) return std::nullopt;
  WorkerInfo info = it->second;
  workers_.erase(it);
  by_pid_.erase(info.pid);
  if (info.client != 0) {
    by_client_.erase(info.client);
    idle_.erase(std::remove(idle_.begin(), idle_.end(), info.client), idle_.end());
  }
  if (info.state == WorkerState::kStarting) num_starting_--;
  if (info.dedicated) num_dedicated_--;
  if (info.blocked && !info.dedicated) num_blocked_--;
  return info;
}

void WorkerPool::OnDisconnected(ClientId client) {
  auto it = by_client_.find(client);
  if (it == by_client_.end()) return;
  idle_.erase(std::remove(idle_.begin(), idle_.end(), client), idle_.end());
  by_client_.erase(it);
}

void WorkerPool::Dedicate(ClientId client) {
  auto it = by_client_.find(client);
  if (it == by_client_.end()) return;
  WorkerInfo& info = workers_.at(it->second);
  if (info.dedicated) return;
  if (info.blocked) num_blocked_--;
  info.dedicated = true;
  num_dedicated_++;
}

std::optional<WorkerInfo> WorkerPool::OnProcessExited(pid_t pid) {
  auto it = by_pid_.find(pid);
  if (it == by_pid_.end()) return std::nullopt;
  return Forget(it->second);
}

size_t WorkerPool::Grow(size_t dispatchable) {
  size_t started = 0;
  // Keep the prestarted complement after deaths.
  while (num_pooled() < num_prestart_ && StartOne().ok()) started++;
  while (dispatchable > idle_.size() + num_starting_ && num_runnable() < max_workers_ &&
         num_pooled() < hard_max_workers()) {
    if (!StartOne().ok()) break;
    started++;
  }
  return started;
}

const WorkerInfo* WorkerPool::Find(ClientId client) const {
  auto it = by_client_.find(client);
  if (it == by_client_.end()) return nullptr;
  auto found = workers_.find(it->second);
  return found == workers_.end() ? nullptr : &found->second;
}

std::vector<pid_t> WorkerPool::Pids() const {
  std::vector<pid_t> pids;
  for (const auto& [id, info] : workers_) pids.push_back(info.pid);
  return pids;
}

}  // namespace flare
