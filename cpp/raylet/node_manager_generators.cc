// Streaming generators: the NodeManager methods that store a generator
// task's items as the worker yields them. Item k of task T is object
// ObjectIdFor(T, k + 2); ObjectIdFor(T, 1) is the completion object the
// worker returns at the end (the item count). The caller always holds the
// next item as a pending object, so a Get on it waits instead of finding an
// unknown object, and an item is freed as soon as the caller drops it.
#include "raylet/node_manager.h"

namespace flare {

namespace {

ObjectId ItemId(const TaskId& task_id, uint32_t index) { return ObjectIdFor(task_id, index + 2); }

}  // namespace

void NodeManager::OnGeneratorYield(const ClientInfo& worker, rpc::GeneratorYield& items) {
  const TaskId task_id = TaskId::FromBinary(items.task_id());
  auto gen = generators_.find(task_id);
  for (auto& item : *items.mutable_items()) {
    const ObjectId id = ObjectId::FromBinary(item.data().object_id());
    rpc::TaskDone one;
    *one.add_returns() = std::move(item);
    StoreReturns(one);
    const bool expected = gen != generators_.end() && !gen->second.released &&
                          !gen->second.finished && id == ItemId(task_id, gen->second.produced);
    if (expected) {
      GeneratorState& state = gen->second;
      state.produced++;
      objects_.AddPending(state.owner, ItemId(task_id, state.produced));
      continue;
    }
    // Nobody will take it (the caller let go, or the task was cancelled):
    // a worker-created item counts as the worker's put; drop it.
    objects_.RemoveRef(worker.id, id);
    DropIfUnreferenced(id);
  }
}

void NodeManager::OnReleaseGenerator(const ClientInfo& caller,
                                     const rpc::ReleaseGenerator& release) {
  const ClientId client = caller.id;
  const TaskId task_id = TaskId::FromBinary(release.task_id());
  auto gen = generators_.find(task_id);
  if (gen == generators_.end() || gen->second.owner != client || gen->second.released) return;
  GeneratorState& state = gen->second;
  state.released = true;
  // Items produced but not taken, and the pending next one (if running).
  const uint32_t last = state.finished ? state.produced : state.produced + 1;
  for (uint32_t k = release.taken(); k < last; ++k) objects_.RemoveRef(client, ItemId(task_id, k));
  if (state.finished) generators_.erase(gen);
}

void NodeManager::OnGeneratorFinished(const TaskId& task_id) {
  auto gen = generators_.find(task_id);
  if (gen == generators_.end() || gen->second.finished) return;
  GeneratorState& state = gen->second;
  state.finished = true;
  // The pending next item will not come: it ends (the caller sees the
  // completion object first) and is freed.
  const ObjectId next = ItemId(task_id, state.produced);
  ObjectReady(next, objects_.SetError(next, rpc::OBJECT_LOST,
                                      "the generator ended before this item"));
  if (!state.released) objects_.RemoveRef(state.owner, next);
  DropIfUnreferenced(next);
  if (state.released) generators_.erase(gen);
}

void NodeManager::DropIfUnreferenced(const ObjectId& id) {
  objects_.AddRef(kTaskArgHolder, id);
  objects_.RemoveRef(kTaskArgHolder, id);  // frees it when nothing else holds it
}

bool NodeManager::GeneratorRestartable(const TaskId& task_id) const {
  auto gen = generators_.find(task_id);
  return gen == generators_.end() || gen->second.produced == 0;
}

}  // namespace flare
