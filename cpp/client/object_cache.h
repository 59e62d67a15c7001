// ObjectCache: what this process knows about the objects it reads — whether
// it asked the raylet for them, whether they exist, and their values.
//
// The raylet sends an object's value once to a process that subscribed to
// it (or that submitted the task returning it); the cache keeps the value
// for every later get while the process references the object. When the
// arena runs short, values no reader holds are dropped (releasing their
// pins) and fetched again on the next get. It does no I/O.
//
// Thread-compatible: the CoreClient calls it under its lock. Values taken
// out of it (Erase, DropUnreadValues) should be destroyed after the lock is
// released: destroying a value may release its pin.
#ifndef FLARE_CLIENT_OBJECT_CACHE_H_
#define FLARE_CLIENT_OBJECT_CACHE_H_

#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "client/object_value.h"
#include "common/ids.h"

namespace flare {

class ObjectCache {
 public:
  // What a reader needs of an object: get needs its value; wait needs it
  // on this node (fetch_local=True) or only to know that it exists.
  enum class Need { kExists, kHere, kValue };
  // A reader wants `id`. Returns true when the raylet must be asked
  // (subscribed to); it is asked once until the value is dropped, or until
  // the raylet answers that it is on another node.
  bool Subscribe(const ObjectId& id, Need need);
  bool Subscribe(const ObjectId& id, bool for_value) {
    return Subscribe(id, for_value ? Need::kValue : Need::kExists);
  }

  // The raylet answered that `id` exists on another node only: it is
  // ready, with no value here; a reader that needs one asks again.
  void MarkElsewhere(const ObjectId& id);
  // Whether a reader that needs `need` of `id` must ask the raylet again
  // before it can have it (it is on another node, or its value was
  // dropped, and nobody has asked since).
  bool MustAskAgain(const ObjectId& id, Need need) const;

  // The raylet sends `id` without being asked (a task's returns go to the
  // process that submitted it).
  void ExpectPush(const ObjectId& id);

  // Whether the cache tracks `id` (it was subscribed to, expected or sent).
  bool Contains(const ObjectId& id) const;

  // `value` arrived: its object exists, and gets read it from here.
  void Store(ObjectValue value);

  // The value of `id`; nullptr when it has not arrived, or was dropped.
  const ObjectValue* Find(const ObjectId& id) const;

  // Whether `id` is known to exist. Stays true after its value is dropped.
  bool IsReady(const ObjectId& id) const;
  // Whether `id` exists with its bytes on this node (in the cache, or in
  // this node's store after the value was dropped).
  bool IsHere(const ObjectId& id) const;

  // A get returned the value of `id`: only now may DropUnreadValues drop it
  // (a value nobody has read yet must stay until it is read once). An
  // OBJECT_STORE_FULL answer is not kept: the next get asks again.
  void MarkHandedOut(const ObjectId& id);

  // Drops the in-arena values that were handed out and that no reader
  // holds any more (the cache holds their only pin), and forgets that they
  // were subscribed to so that the next get asks again. Returns them.
  std::vector<ObjectValue> DropUnreadValues();

  // Forgets `id` (its last reference went). Returns its value, if any.
  std::optional<ObjectValue> Erase(const ObjectId& id);

 private:
  struct Entry {
    bool subscribed = false;
    // It exists (stays true after the value is dropped to unpin it).
    bool ready = false;
    // A get has returned this value: only then may the cache drop it.
    bool handed_out = false;
    // It exists on another node only (the raylet said so).
    bool elsewhere = false;
    std::optional<ObjectValue> value;
  };

  absl::flat_hash_map<ObjectId, Entry, IdHash> entries_;
};

}  // namespace flare

#endif  // FLARE_CLIENT_OBJECT_CACHE_H_
