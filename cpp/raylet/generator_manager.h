// Streaming generator tasks: their items as the worker yields them. Item k
// of task T is object ObjectIdFor(T, k + 2); ObjectIdFor(T, 1) is the
// completion object the worker returns at the end (the item count). The
// caller always holds the next item as a pending object, so a get on it
// waits instead of finding an unknown object, and an item is freed as soon
// as the caller drops it while the generator runs on.
//
// No I/O: items go into the ReturnStore, references into the ObjectTable.
// Thread-compatible: the raylet's event loop is its only user.
#ifndef FLARE_RAYLET_GENERATOR_MANAGER_H_
#define FLARE_RAYLET_GENERATOR_MANAGER_H_

#include <cstdint>

#include "absl/container/flat_hash_map.h"
#include "common/ids.h"
#include "flare.pb.h"
#include "object_store/object_table.h"
#include "raylet/return_store.h"

namespace flare {

class GeneratorManager {
 public:
  GeneratorManager(ObjectTable& objects, ReturnStore& returns)
      : objects_(objects), returns_(returns) {}

  // `owner` submitted streaming task `task_id`: its first item is pending
  // for the owner. With `push_items` (the owner is another node's raylet)
  // the owner is sent each item as it is stored, in order.
  void OnSubmitted(const TaskId& task_id, ClientId owner, bool push_items = false);
  // The generator runs on another node, which sent item `id`: it is the
  // next item here (stored by the caller), and the one after becomes
  // pending. False when nobody takes it (the caller let go, or it is not
  // the next one): the caller drops it.
  bool OnRemoteItem(const TaskId& task_id, const ObjectId& id);
  // `worker` yielded `items`, in order. Items nobody will take (the caller
  // let go, or the task ended) are dropped.
  void OnYield(ClientId worker, rpc::GeneratorYield& items);
  // The caller dropped its generator after taking `taken` items; the
  // others are freed as they come.
  void OnReleased(ClientId client, const TaskId& task_id, uint32_t taken);
  // The task ended (done, failed or cancelled): the pending next item will
  // not come, and holds OBJECT_LOST.
  void OnFinished(const TaskId& task_id);
  // The client is gone: nobody takes its generators' items any more.
  void OnClientGone(ClientId client);

  // Whether a crashed generator may run again: only before its first item
  // (the caller may have read items already).
  bool Restartable(const TaskId& task_id) const;
  size_t size() const { return generators_.size(); }

 private:
  struct State {
    ClientId owner = 0;
    uint32_t produced = 0;  // items stored so far
    bool finished = false;  // the task ended
    bool released = false;  // the caller dropped its generator
    bool push_items = false;  // the owner is sent each item
  };
  // Makes item `index` pending for the owner (and subscribes a pushed-to
  // owner to it).
  void AddPendingItem(const TaskId& task_id, const State& state, uint32_t index);
  // Frees `id` unless something else still holds it.
  void DropIfUnreferenced(const ObjectId& id);

  ObjectTable& objects_;
  ReturnStore& returns_;
  absl::flat_hash_map<TaskId, State, IdHash> generators_;
};

}  // namespace flare

#endif  // FLARE_RAYLET_GENERATOR_MANAGER_H_
