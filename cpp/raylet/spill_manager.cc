#include "raylet/spill_manager.h"

#include <iostream>

namespace flare {

SpillManager::SpillManager(ObjectTable& objects, uint8_t* arena_base, SpillFiles& files)
    : objects_(objects), arena_base_(arena_base), files_(files) {}

bool SpillManager::SpillOne(const ObjectId& keep) {
  for (const ObjectId& id : objects_.SpillCandidates()) {
    if (id == keep) continue;
    const ObjectEntry* entry = objects_.Find(id);
    if (entry == nullptr) continue;
    absl::Status written = files_.Write(id, arena_base_ + entry->offset, entry->size);
    if (!written.ok()) {
      std::cerr << "flare-raylet: cannot spill " << id.Hex() << ": " << written.message() << "\n";
      return false;
    }
    objects_.MarkSpilled(id);
    spilled_.insert(id);
    return true;
  }
  return false;
}

SpillManager::Created SpillManager::Create(ClientId creator, const ObjectId& id, uint64_t size) {
  Created created{objects_.Create(creator, id, size)};
  // Larger than the whole arena: spilling cannot help.
  const bool could_fit = size <= objects_.capacity();
  while (!created.offset.ok() && absl::IsResourceExhausted(created.offset.status()) &&
         could_fit && SpillOne(id)) {
    created.offset = objects_.Create(creator, id, size);
  }
  created.ask_clients_to_unpin = !created.offset.ok() &&
                                 absl::IsResourceExhausted(created.offset.status()) && could_fit;
  return created;
}

SpillManager::Restored SpillManager::Restore(const ObjectId& id) {
  if (!objects_.IsSpilled(id)) return Restored::kInArena;
  auto offset = objects_.Unspill(id);
  while (!offset.ok() && absl::IsResourceExhausted(offset.status()) && SpillOne(id)) {
    offset = objects_.Unspill(id);
  }
  if (!offset.ok()) return Restored::kNoRoom;
  const ObjectEntry* entry = objects_.Find(id);
  absl::Status read = files_.Read(id, arena_base_ + *offset, entry->size);
  files_.Remove(id);
  spilled_.erase(id);
  if (!read.ok()) {
    // Garbage must not be served as the value: the object is lost.
    objects_.MarkLost(id, "object " + id.Hex() + " was spilled to disk and could not be read "
                              "back: " + std::string(read.message()));
    return Restored::kLost;
  }
  return Restored::kInArena;
}

SpillManager::Restored SpillManager::RestoreAll(const std::vector<ObjectId>& ids) {
  if (spilled_.empty()) return Restored::kInArena;
  Restored result = Restored::kInArena;
  for (const ObjectId& id : ids) {
    const Restored restored = Restore(id);
    if (restored == Restored::kNoRoom) return restored;
    if (restored == Restored::kLost) result = restored;
  }
  // Bringing one back may have spilled another.
  for (const ObjectId& id : ids) {
    if (objects_.IsSpilled(id)) return Restored::kNoRoom;
  }
  return result;
}

void SpillManager::OnObjectFreed(const ObjectId& id) {
  if (spilled_.erase(id) > 0) files_.Remove(id);
}

}  // namespace flare
