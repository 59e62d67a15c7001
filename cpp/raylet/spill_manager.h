// Spilling: when the arena has no room for a new object, sealed objects no
// client has mapped are written out through SpillFiles, largest first, and
// their memory is reused; a spilled object comes back into the arena
// (spilling others if need be) before any client or task reads it. Only when
// nothing can be spilled does a create fail with ResourceExhausted.
//
// No I/O of its own: bytes move between the arena (`arena_base`) and the
// injected SpillFiles. Thread-compatible: the raylet's event loop is its only
// user.
#ifndef FLARE_RAYLET_SPILL_MANAGER_H_
#define FLARE_RAYLET_SPILL_MANAGER_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "common/ids.h"
#include "object_store/object_table.h"
#include "raylet/node_io.h"

namespace flare {

class SpillManager {
 public:
  // Borrows all three; `arena_base` maps the ObjectTable's offsets.
  SpillManager(ObjectTable& objects, uint8_t* arena_base, SpillFiles& files);

  struct Created {
    absl::StatusOr<uint64_t> offset;
    // Everything left in the arena is mapped by some client: ask clients to
    // drop the values they only cache, so that a retry finds something to
    // spill.
    bool ask_clients_to_unpin = false;
  };
  // ObjectTable::Create, spilling other objects while there is no room.
  Created Create(ClientId creator, const ObjectId& id, uint64_t size);

  enum class Restored {
    kInArena,  // ready to be read (it was never spilled, or is back)
    kNoRoom,   // still spilled: nothing more can be spilled to make room;
               // ask clients to unpin and try again later
    kLost,     // its bytes could not be read back: it is now an OBJECT_LOST error
  };
  Restored Restore(const ObjectId& id);
  // Restores every object in `ids` (a task's arguments): kInArena only when
  // all of them are in the arena together.
  Restored RestoreAll(const std::vector<ObjectId>& ids);

  // Writes one unmapped object out, to make room for something that is not
  // a create here (a copy pulled from another node); false if none could be.
  bool SpillAny() { return SpillOne(ObjectId()); }

  // The object was freed: its spilled bytes go too.
  void OnObjectFreed(const ObjectId& id);


  size_t num_spilled() const { return spilled_.size(); }

 private:
  // Writes one unmapped object other than `keep` out; false if none could be.
  bool SpillOne(const ObjectId& keep);

  ObjectTable& objects_;
  uint8_t* arena_base_;
  SpillFiles& files_;
  absl::flat_hash_set<ObjectId, IdHash> spilled_;
};

}  // namespace flare

#endif  // FLARE_RAYLET_SPILL_MANAGER_H_
