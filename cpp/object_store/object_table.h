// The raylet's table of objects it owns: their state, where their bytes are,
// who refers to them and who waits for them. Pure bookkeeping with no I/O:
// calls return what the caller must send. The arena's memory is allocated
// and returned here.
//
// Lifetime: an object lives while any of these count it:
//   - a client process holding ObjectRefs (per-client counts, dropped when
//     the client disconnects),
//   - a pending task that takes it as an argument (top-level or nested),
//   - a stored object that contains a ref to it,
//   - a client that has its bytes mapped (a pin),
//   - it is still pending (its task has not finished).
// When none does, its memory is returned to the arena at once.
//
// Thread-compatible: the raylet's event loop is its only user.
#ifndef FLARE_OBJECT_STORE_OBJECT_TABLE_H_
#define FLARE_OBJECT_STORE_OBJECT_TABLE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "common/ids.h"
#include "flare.pb.h"
#include "object_store/allocator.h"

namespace flare {

using ClientId = uint64_t;
// The holder that stands for "arguments of pending tasks".
constexpr ClientId kTaskArgHolder = 0;
// Holds the copies the object manager pulled from other nodes until the
// raylet hands them to whoever needed them (no process has this id).
constexpr ClientId kObjectManagerClient = ~ClientId{0};
// Ids from here up are the raylet's own holders (kObjectManagerClient and
// the like), never a process that connects.
constexpr ClientId kFirstInternalClient = ~ClientId{0} - 15;

enum class ObjectState { kPending, kCreating, kReady };

struct ObjectEntry {
  ObjectState state = ObjectState::kPending;
  std::string inline_data;
  bool in_store = false;
  uint64_t offset = 0;
  uint64_t size = 0;
  rpc::ErrorCode error = rpc::ERROR_NONE;
  std::string error_message;

  int64_t refs = 0;  // sum of holders plus references from containing objects
  absl::flat_hash_map<ClientId, int64_t> holders;
  absl::flat_hash_map<ClientId, int64_t> pins;
  std::vector<ObjectId> contained;
  std::vector<ClientId> subscribers;
  ClientId creator = 0;
  bool is_put = false;  // made by Create, not announced by a task submission
  // Failed (e.g. its task was cancelled) while its writer still held the
  // block at `offset`: the block returns when the writer seals, aborts or
  // goes away, never under its feet.
  bool abandoned = false;
  // Its bytes were written to a file to make room in the arena (in_store is
  // false meanwhile); they come back before any client reads them.
  bool spilled = false;
  // Its bytes are being written out (BeginSpill..EndSpill): they stay in
  // the block at `offset`, readable, and the block stays until EndSpill.
  bool spilling = false;
  // Its bytes are being read back (Unspill..EndUnspill) into the block at
  // `offset`; it stays `spilled` (no reader sees the block) until then.
  bool restoring = false;
  // Ready, with its bytes in the arena of another node (a large result
  // stays where it was made); nil when it was made here. Until a copy is
  // pulled here (in_store), a reader here needs one first (NeedsFetch).
  NodeId elsewhere;
  // A copy is being pulled here into the block at `offset`: the entry
  // stays until the pull seals or aborts it.
  bool fetching = false;
  // The clients whose index (ObjectTable::by_client_) lists this object.
  std::vector<ClientId> indexed_by;
};

struct StoreStats {
  uint64_t capacity = 0;
  uint64_t used = 0;
  uint64_t num_objects = 0;
  uint64_t num_inline = 0;
};

class ObjectTable {
 public:
  explicit ObjectTable(uint64_t arena_capacity);

  // Called with each object id as its entry is freed (e.g. an actor's handle
  // object: the actor is out of scope). Must not call back into the table.
  void SetFreeListener(std::function<void(const ObjectId&)> listener) {
    free_listener_ = std::move(listener);
  }

  // Registers an object that a submitted task will produce; its caller
  // `holder` holds the first reference.
  void AddPending(ClientId holder, const ObjectId& id);

  void AddRef(ClientId holder, const ObjectId& id);
  void RemoveRef(ClientId holder, const ObjectId& id);

  // Reserves `size` bytes of the arena for `id`, written by `creator`. A new
  // id is a put and `creator` holds its first reference; a pending one is a
  // task return; one that NeedsFetch gets the block its pulled copy fills.
  absl::StatusOr<uint64_t> Create(ClientId creator, const ObjectId& id,
                                  uint64_t size);
  // Makes a created object immutable and ready. Returns the clients waiting
  // for it; the caller sends each the object's data (see Describe/Pin).
  absl::StatusOr<std::vector<ClientId>> Seal(const ObjectId& id,
                                             std::vector<ObjectId> contained);
  // Drops a created, unsealed object (its writer failed or vanished).
  void Abort(const ObjectId& id);
  // Stores a small object. As with Create, a new id is a put held by
  // `holder`.
  std::vector<ClientId> PutInline(ClientId holder, const ObjectId& id,
                                  std::string data, std::vector<ObjectId> contained);
  // Makes a pending task return ready with its bytes in the arena of
  // `node` (size `size`). Returns its subscribers, as Seal does.
  std::vector<ClientId> SetElsewhere(const ObjectId& id, uint64_t size, const NodeId& node);
  // A ready object whose bytes are only on another node is read from
  // `node` from now on (a copy there is held for it instead).
  void MoveElsewhere(const ObjectId& id, const NodeId& node);
  // Whether `id` is ready with its bytes only on another node: a reader
  // here needs a copy pulled first (Create reserves its block, Seal or
  // Abort ends the pull; the object stays ready throughout).
  bool NeedsFetch(const ObjectId& id) const;
  // Makes `id` ready with an error; `payload` carries the pickled exception
  // of a TASK_ERROR, and `contained` the refs it holds (as a sealed value's
  // do, they live as long as it does: a large error is stored once as an
  // object of its own that each of the task's error returns refers to).
  std::vector<ClientId> SetError(const ObjectId& id, rpc::ErrorCode code,
                                 std::string message, std::string payload = "",
                                 std::vector<ObjectId> contained = {});

  // True when `id` is ready now. Otherwise records `client` as a subscriber
  // to be returned by Seal/PutInline/SetError. Unknown ids become ready with
  // OBJECT_LOST so that no caller waits forever.
  bool Subscribe(ClientId client, const ObjectId& id);
  // `client` is no longer told when `id` becomes ready.
  void Unsubscribe(ClientId client, const ObjectId& id);

  // Fills `out` with the ready object's location; pins in-store objects for
  // `client` (released by Unpin).
  void DescribeAndPin(ClientId client, const ObjectId& id, rpc::ObjectData* out);
  void Unpin(ClientId client, const ObjectId& id);

  // Forgets every reference, pin and subscription of a departed client, and
  // aborts objects it was still writing.
  void DropClient(ClientId client);

  // Spilling. Sealed objects made here that no client has mapped may leave
  // the arena: the candidates, largest first. BeginSpill while their bytes
  // are written out elsewhere (the entry and its block stay, even if freed
  // meanwhile); EndSpill when that is over: true when the object left the
  // arena (its block is free now, it is spilled), false when it stays (the
  // write failed, a client mapped it meanwhile, or it was freed: its file
  // is of no use then).
  // REQUIRES (BeginSpill): `id` is one of SpillCandidates().
  std::vector<ObjectId> SpillCandidates() const;
  void BeginSpill(const ObjectId& id);
  bool EndSpill(const ObjectId& id, bool written);
  // Unspill gives a block to read a spilled object back into
  // (ResourceExhausted when none is free); it stays spilled, unreadable,
  // until EndUnspill: in the arena when `read` is OK, else lost with that
  // reason. Its entry and block stay until EndUnspill even if freed.
  absl::StatusOr<uint64_t> Unspill(const ObjectId& id);
  void EndUnspill(const ObjectId& id, const absl::Status& read);
  bool IsSpilled(const ObjectId& id) const;
  // Secondary copies: objects made here whose primary copy is on another
  // node, with a pulled copy in the arena that no client maps and no task
  // here reads (kTaskArgHolder). Evicting one frees its block; it is pulled
  // again when read (NeedsFetch). Largest first.
  std::vector<ObjectId> EvictCandidates() const;
  // Whether a secondary copy is in the arena that some client maps (maybe
  // only caches: asked to unpin, it may become a candidate).
  bool AnyMappedCopy() const;
  // REQUIRES: `id` is one of EvictCandidates().
  void Evict(const ObjectId& id);
  // A restored object's bytes could not be read back, or its only copy was
  // on a node that is gone: its block is freed and it holds a `code` error
  // (OBJECT_LOST, or a more precise kind of loss) with `message` from now on.
  // REQUIRES: it is not being spilled.
  void MarkLost(const ObjectId& id, std::string message, rpc::ErrorCode code = rpc::OBJECT_LOST);
  // A ready object whose only copy was on another node, lost there and to
  // be made again (lineage): pending once more, its references kept, its
  // readers to subscribe anew. False (nothing changed) unless it is ready
  // elsewhere and no pull writes into a copy here.
  bool Reopen(const ObjectId& id);
  // A pull is writing a copy of `id` here.
  bool IsFetching(const ObjectId& id) const {
    auto it = objects_.find(id);
    return it != objects_.end() && it->second.fetching;
  }
  uint64_t capacity() const { return allocator_.capacity(); }

  bool Contains(const ObjectId& id) const { return objects_.contains(id); }
  bool IsReady(const ObjectId& id) const;
  bool IsError(const ObjectId& id) const;
  const ObjectEntry* Find(const ObjectId& id) const;
  StoreStats Stats() const;
  // Gives back the capacity a burst of objects left behind (common/compact.h).
  void Compact();
  size_t table_capacity() const { return objects_.capacity(); }

 private:
  void DecrementRef(const ObjectId& id, int64_t count);
  absl::Status StoreFull(uint64_t size) const;
  void MaybeFree(const ObjectId& id);
  std::function<void(const ObjectId&)> free_listener_;
  // Returns an unsealed object's memory. A put goes entirely (only its
  // writer knew of it); a task return goes back to pending for a retry.
  void Unwrite(const ObjectId& id, ObjectEntry& entry);
  // The writer of an abandoned object is done with its block: free it.
  void ReleaseAbandoned(const ObjectId& id, ObjectEntry& entry);
  std::vector<ClientId> MarkReady(ObjectEntry& entry, const ObjectId& id);

  // Lists `id` under `client` (who holds, pins, writes or waits for it), so
  // DropClient visits only what that client touched; Unindex before an
  // entry goes.
  void Index(ObjectEntry& entry, const ObjectId& id, ClientId client);
  void Unindex(ObjectEntry& entry, const ObjectId& id);

  Allocator allocator_;
  absl::flat_hash_map<ObjectId, ObjectEntry, IdHash> objects_;
  absl::flat_hash_map<ClientId, absl::flat_hash_set<ObjectId, IdHash>> by_client_;
  uint64_t num_inline_ = 0;
};

}  // namespace flare

#endif  // FLARE_OBJECT_STORE_OBJECT_TABLE_H_
