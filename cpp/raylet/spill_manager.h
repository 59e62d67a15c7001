// Making room in a full arena, and bringing spilled objects back.
//
// When the arena has no room for a new object, first the secondary copies
// go (objects made here whose primary copy lives on another node, pulled
// here and mapped by no client: evicted at once, pulled again if read).
// Copies that clients map, maybe only caching them, are asked for once
// while the arena stays full (a create waits for the unpins, at most
// kUnpinWait) before, then, sealed objects no client has mapped are written
// out through SpillFiles, largest first, and their memory is reused. A spilled object
// comes back into the arena (making room the same way) before any client
// or task reads it.
//
// The file I/O runs off the event loop (SpillFiles completes it later, on
// the loop), so a large spill does not stall anything else:
//   - while an object is being written out, its bytes stay in the arena and
//     readable; a client that maps it meanwhile keeps it there (the file is
//     dropped). Its block returns to the arena when the write is done.
//   - a create that needs that room is told to wait (Created::wait_for_room)
//     and tries again when the room listener runs;
//   - while an object is being read back, readers wait (Restore returns
//     kPending and calls them back); a free meanwhile takes effect when the
//     read is done, and so does deleting its file.
// A restore that finds no room and nothing to spill or evict asks clients
// to unpin and tries again, kRestoreRetry apart, kRestoreAttempts times (as
// a create is retried by its client for about a second), then reports
// kNoRoom.
//
// No I/O of its own: bytes move between the arena (`arena_base`) and the
// injected SpillFiles; retries run on the injected Timers. Thread-compatible:
// the raylet's event loop is its only user.
#ifndef FLARE_RAYLET_SPILL_MANAGER_H_
#define FLARE_RAYLET_SPILL_MANAGER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "common/ids.h"
#include "object_store/object_table.h"
#include "raylet/node_io.h"

namespace flare {

class SpillManager {
 public:
  // A restore that finds no room tries again this long later, this many
  // times: about the second a client retries a create for.
  static constexpr std::chrono::milliseconds kRestoreRetry{20};
  static constexpr int kRestoreAttempts = 50;
  // How long a create waits for clients to unpin the secondary copies they
  // map before a primary is spilled instead.
  static constexpr std::chrono::milliseconds kUnpinWait{200};

  // Borrows all; `arena_base` maps the ObjectTable's offsets.
  // `ask_clients_to_unpin` asks clients to drop the values they only cache
  // (then more may be spilled).
  SpillManager(ObjectTable& objects, uint8_t* arena_base, SpillFiles& files, Timers& timers,
               std::function<void()> ask_clients_to_unpin);

  // Runs on the loop each time a spill ended (room may have been made):
  // what waits for room (creates told to wait, pulls) tries again.
  void SetRoomListener(std::function<void()> listener) { on_room_ = std::move(listener); }

  struct Created {
    absl::StatusOr<uint64_t> offset;
    // No room yet, but spills under way will make some: create again when
    // the room listener runs.
    bool wait_for_room = false;
    // Nothing is left to spill: everything in the arena is mapped by some
    // client. Ask clients to drop the values they only cache, so that a
    // retry finds something to spill.
    bool ask_clients_to_unpin = false;
  };
  // ObjectTable::Create, making room (evicting, spilling) when there is none.
  Created Create(ClientId creator, const ObjectId& id, uint64_t size);

  enum class Restored {
    kInArena,  // all are ready to be read (never spilled, or back)
    kPending,  // being brought back: `done` runs later with the outcome
    kNoRoom,   // still spilled: the arena stayed full for every attempt
    kLost,     // one's bytes could not be read back: it is an OBJECT_LOST error
  };
  using RestoreDone = std::function<void(Restored)>;
  // Brings every object of `ids` (a reader's object, a task's arguments)
  // into the arena together. Returns kInArena or kLost when that is known
  // now (`done` is not called), else kPending: `done` runs later, on the
  // loop, with kInArena, kLost or kNoRoom.
  Restored Restore(std::vector<ObjectId> ids, RestoreDone done);

  enum class Room {
    kMade,    // a secondary copy was evicted: there is more room now
    kComing,  // spills are under way: the room listener runs when one ends
    kNone,    // nothing could be evicted or spilled (ask clients to unpin)
  };
  // Makes room for `bytes` that are not a create here (a copy pulled from
  // another node).
  Room MakeRoom(uint64_t bytes);

  // A client unpinned objects: a secondary copy may be evictable now.
  void OnUnpinned();

  // The object was freed: its spilled bytes go too.
  void OnObjectFreed(const ObjectId& id);

  // Objects whose bytes are on disk (being read back included).
  size_t num_spilled() const { return spilled_.size(); }
  // Writes and reads under way.
  size_t num_writing() const { return writing_.size(); }
  size_t num_reading() const { return reading_.size(); }

 private:
  struct Request {
    std::vector<ObjectId> ids;
    RestoreDone done;
    int attempts = 0;       // retries after finding no room
    bool timer_armed = false;
  };
  // Evicts one secondary copy; false if there is none.
  bool EvictOne();
  // When mapped secondary copies are in the arena and were not asked for
  // since the arena was last found with room: asks clients to unpin, and
  // runs the room listener once one is unpinned (OnUnpinned), or kUnpinWait
  // later. Whether it asked.
  bool AskForMappedCopies();
  // Starts writing unmapped objects (not in `keep`) out until the bytes
  // being written reach `bytes`; whether any write is under way.
  bool SpillFor(uint64_t bytes, const std::vector<ObjectId>& keep);
  void OnWritten(const ObjectId& id, uint64_t size, const absl::Status& status);
  void OnRead(const ObjectId& id, const absl::Status& status);
  // Moves `request` on; returns kPending while it waits.
  Restored Step(uint64_t key, Request& request);
  // Steps every waiting restore, then tells the room listener.
  void Progress(bool room_made);

  ObjectTable& objects_;
  uint8_t* arena_base_;
  SpillFiles& files_;
  Timers& timers_;
  std::function<void()> ask_clients_to_unpin_;
  std::function<void()> on_room_;
  // Objects with bytes on disk; those being written and read.
  absl::flat_hash_set<ObjectId, IdHash> spilled_;
  absl::flat_hash_map<ObjectId, uint64_t, IdHash> writing_;
  absl::flat_hash_set<ObjectId, IdHash> reading_;
  uint64_t writing_bytes_ = 0;
  // Objects whose write failed: not tried again until nothing else is left.
  absl::flat_hash_set<ObjectId, IdHash> unwritable_;
  bool asked_for_copies_ = false;
  uint64_t unpin_waits_ = 0;  // bumped when one ends: a stale timer does nothing
  bool unpin_wait_armed_ = false;
  // Restores waiting for a read or for room, in request order.
  std::map<uint64_t, Request> requests_;
  uint64_t next_request_ = 1;
};

}  // namespace flare

#endif  // FLARE_RAYLET_SPILL_MANAGER_H_
