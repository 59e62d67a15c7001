#include "raylet/lease_manager.h"

#include <algorithm>
#include <utility>

#include "common/placement_group_resources.h"

namespace flare {

namespace {

// `name` is `resource` itself or a placement group's share of it.
bool IsOrGroupOf(const std::string& name, std::string_view resource) {
  if (name == resource) return true;
  return GroupOfResource(name).has_value() && name.size() > resource.size() &&
         name.compare(0, resource.size(), resource) == 0 &&
         name.compare(resource.size(), kGroupResourceTag.size(), kGroupResourceTag) == 0;
}

}  // namespace

ResourceSet LeaseManager::LentWhenBlocked(const ResourceSet& demand) {
  ResourceSet cpu;
  for (const auto& [name, amount] : demand.ToMap()) {
    if (IsOrGroupOf(name, "CPU")) cpu.Add(demand.Only(name));
  }
  return cpu;
}

double LeaseManager::GpuDemand(const ResourceSet& demand) {
  double gpus = 0;
  for (const auto& [name, amount] : demand.ToMap()) {
    if (IsOrGroupOf(name, "GPU")) gpus += amount;
  }
  return gpus;
}

ResourceSet LeaseManager::Held(const Lease& lease) {
  if (!lease.cpu_lent) return lease.demand;
  ResourceSet rest = lease.demand;
  rest.Subtract(LentWhenBlocked(lease.demand));
  return rest;
}

void LeaseManager::Erase(LeaseMap::iterator lease, bool give_devices) {
  scheduler_.Release(Held(lease->second));
  if (give_devices) gpus_.Give(lease->second.gpus, GpuDemand(lease->second.demand));
  leases_.erase(lease);
}

void LeaseManager::Grant(ClientId worker, const TaskId& task, const ResourceSet& demand,
                         bool actor_creation) {
  Lease& lease = leases_[worker];
  lease.demand = demand;
  lease.shape = demand.ShapeKey();
  lease.actor_creation = actor_creation;
  lease.gpus = gpus_.Take(GpuDemand(demand));
  lease.tasks.push_back(task);
}

void LeaseManager::Append(ClientId worker, const TaskId& task) {
  leases_.at(worker).tasks.push_back(task);
}

bool LeaseManager::Remove(ClientId worker, const TaskId& task) {
  auto it = leases_.find(worker);
  if (it == leases_.end()) return false;
  auto& tasks = it->second.tasks;
  auto found = std::find(tasks.begin(), tasks.end(), task);
  if (found != tasks.end()) tasks.erase(found);
  if (!tasks.empty()) return false;
  Erase(it, /*give_devices=*/true);
  return true;
}

std::deque<TaskId> LeaseManager::End(ClientId worker) {
  auto it = leases_.find(worker);
  if (it == leases_.end()) return {};
  std::deque<TaskId> tasks = std::move(it->second.tasks);
  Erase(it, /*give_devices=*/true);
  return tasks;
}

std::vector<uint32_t> LeaseManager::EndKeepingDevices(ClientId worker) {
  auto it = leases_.find(worker);
  if (it == leases_.end()) return {};
  std::vector<uint32_t> devices = std::move(it->second.gpus);
  Erase(it, /*give_devices=*/false);
  return devices;
}

bool LeaseManager::SetBlocked(ClientId worker, bool blocked) {
  auto it = leases_.find(worker);
  if (it == leases_.end()) return false;
  Lease& lease = it->second;
  const ResourceSet cpu = LentWhenBlocked(lease.demand);
  if (blocked && !lease.cpu_lent) {
    lease.cpu_lent = true;
    scheduler_.Release(cpu);
    return true;
  }
  if (!blocked && lease.cpu_lent) {
    lease.cpu_lent = false;
    scheduler_.Acquire(cpu);
  }
  return false;
}

bool LeaseManager::IsRunningOn(const TaskId& task, ClientId worker) const {
  auto it = leases_.find(worker);
  return it != leases_.end() && !it->second.tasks.empty() && it->second.tasks.front() == task;
}

std::optional<TaskId> LeaseManager::Running(ClientId worker) const {
  auto it = leases_.find(worker);
  if (it == leases_.end() || it->second.tasks.empty()) return std::nullopt;
  return it->second.tasks.front();
}

const std::vector<uint32_t>* LeaseManager::Devices(ClientId worker) const {
  auto it = leases_.find(worker);
  return it == leases_.end() ? nullptr : &it->second.gpus;
}

std::vector<LeaseManager::Slot> LeaseManager::PipelineSlots() const {
  std::vector<Slot> slots;
  for (const auto& [worker, lease] : leases_) {
    if (lease.actor_creation || lease.cpu_lent || lease.return_requested || lease.tasks.empty() ||
        lease.tasks.size() >= kPipelineDepth || lease.demand.Empty() ||
        lease.demand.IsSubsetOf(scheduler_.available())) {
      continue;  // tasks of this shape can start on a worker of their own
    }
    slots.push_back({worker, lease.shape, kPipelineDepth - lease.tasks.size()});
  }
  return slots;
}

std::vector<ClientId> LeaseManager::TakeRebalanceRequests(
    const std::function<bool(const ResourceSet&)>& room_elsewhere) {
  std::vector<ClientId> workers;
  for (auto& [worker, lease] : leases_) {
    // Only tasks that could start on a worker of their own now: others
    // would come straight back to a lease.
    if (lease.tasks.size() > 1 && !lease.return_requested &&
        (lease.demand.IsSubsetOf(scheduler_.available()) ||
         (room_elsewhere && room_elsewhere(lease.demand)))) {
      lease.return_requested = true;
      workers.push_back(worker);
    }
  }
  return workers;
}

void LeaseManager::OnTasksReturned(ClientId worker) {
  auto it = leases_.find(worker);
  if (it != leases_.end()) it->second.return_requested = false;
}

}  // namespace flare
