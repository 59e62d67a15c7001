#include "raylet/generator_manager.h"

#include "absl/container/flat_hash_map.h"

namespace flare {

void GeneratorManager::OnSubmitted(const TaskId& task_id, ClientId owner, bool push_items) {
  State& state = generators_[task_id] = State{owner};
  state.push_items = push_items;
  AddPendingItem(task_id, state, 0);
}

void GeneratorManager::AddPendingItem(const TaskId& task_id, const State& state,
                                      uint32_t index) {
  const ObjectId id = GeneratorItemId(task_id, index);
  objects_.AddPending(state.owner, id);
  if (state.push_items) objects_.Subscribe(state.owner, id);
}

bool GeneratorManager::OnRemoteItem(const TaskId& task_id, const ObjectId& id) {
  auto gen = generators_.find(task_id);
  if (gen == generators_.end() || gen->second.released || gen->second.finished ||
      id != GeneratorItemId(task_id, gen->second.produced)) {
    return false;
  }
  State& state = gen->second;
  state.produced++;
  AddPendingItem(task_id, state, state.produced);
  return true;
}

void GeneratorManager::OnYield(ClientId worker, rpc::GeneratorYield& items) {
  const TaskId task_id = TaskId::FromBinary(items.task_id());
  auto gen = generators_.find(task_id);
  for (auto& item : *items.mutable_items()) {
    const ObjectId id = ObjectId::FromBinary(item.data().object_id());
    returns_.Store(item);
    const bool expected = gen != generators_.end() && !gen->second.released &&
                          !gen->second.finished && id == GeneratorItemId(task_id, gen->second.produced);
    if (expected) {
      State& state = gen->second;
      state.produced++;
      AddPendingItem(task_id, state, state.produced);
      continue;
    }
    // Nobody will take it (the caller let go, or the task was cancelled):
    // a worker-created item counts as the worker's put; drop it.
    objects_.RemoveRef(worker, id);
    DropIfUnreferenced(id);
  }
}

void GeneratorManager::OnReleased(ClientId client, const TaskId& task_id, uint32_t taken) {
  auto gen = generators_.find(task_id);
  if (gen == generators_.end() || gen->second.owner != client || gen->second.released) return;
  State& state = gen->second;
  state.released = true;
  // Items produced but not taken, and the pending next one (if running).
  const uint32_t last = state.finished ? state.produced : state.produced + 1;
  for (uint32_t k = taken; k < last; ++k) objects_.RemoveRef(client, GeneratorItemId(task_id, k));
  if (state.finished) generators_.erase(gen);
}

void GeneratorManager::OnFinished(const TaskId& task_id) {
  auto gen = generators_.find(task_id);
  if (gen == generators_.end() || gen->second.finished) return;
  State& state = gen->second;
  state.finished = true;
  // The pending next item will not come: it ends (the caller sees the
  // completion object first) and is freed.
  const ObjectId next = GeneratorItemId(task_id, state.produced);
  returns_.StoreError(next, rpc::OBJECT_LOST, "the generator ended before this item");
  if (!state.released) objects_.RemoveRef(state.owner, next);
  DropIfUnreferenced(next);
  if (state.released) generators_.erase(gen);
}

void GeneratorManager::OnClientGone(ClientId client) {
  // Its generators' items were its references: nobody takes them now.
  for (auto& [task_id, gen] : generators_) {
    if (gen.owner == client) gen.released = true;
  }
  absl::erase_if(generators_, [](const auto& entry) {
    return entry.second.released && entry.second.finished;
  });
}

bool GeneratorManager::Restartable(const TaskId& task_id) const {
  auto gen = generators_.find(task_id);
  return gen == generators_.end() || gen->second.produced == 0;
}

void GeneratorManager::DropIfUnreferenced(const ObjectId& id) {
  objects_.AddRef(kTaskArgHolder, id);
  objects_.RemoveRef(kTaskArgHolder, id);  // frees it when nothing else holds it
}

}  // namespace flare
