// ReferenceCounter: how many references this process holds to each object,
// and who owns each one.
//
// A reference is counted here for every live ObjectRef in the process and
// for what the raylet already counts on the process's behalf (a submitted
// task's returns, a put, the next item of a generator). Only the first and
// the last reference of an object concern the raylet; the counter says when
// they happen and the caller tells the raylet (or not, for references the
// raylet counted itself). It does no I/O.
//
// The owner is recorded with the first reference and kept until the last
// one goes: later references to the same object name the same owner.
//
// Thread-compatible: the CoreClient calls it under its lock.
#ifndef FLARE_CLIENT_REFERENCE_COUNTER_H_
#define FLARE_CLIENT_REFERENCE_COUNTER_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "client/owner_address.h"
#include "common/ids.h"

namespace flare {

class ReferenceCounter {
 public:
  // Adds one reference to `id`. Returns true when it is the first: the
  // object is now referenced here, owned by `owner`.
  // REQUIRES: owner != nullptr.
  bool AddRef(const ObjectId& id, const std::shared_ptr<const OwnerAddress>& owner);

  // Drops one reference to `id`. Returns true when it was the last: the
  // object is forgotten. False as well when `id` had no reference.
  bool RemoveRef(const ObjectId& id);

  // References held to `id`; 0 when none.
  int64_t RefCount(const ObjectId& id) const;

  // The owner of a referenced object; nullptr when `id` has no reference.
  // The pointer stays valid while a reference is held.
  const OwnerAddress* OwnerOf(const ObjectId& id) const;

  // Objects with at least one reference.
  size_t NumReferenced() const { return entries_.size(); }

 private:
  struct Entry {
    int64_t refs = 0;
    // Shared: every object made by this process names the same local owner.
    std::shared_ptr<const OwnerAddress> owner;
  };

  absl::flat_hash_map<ObjectId, Entry, IdHash> entries_;
};

}  // namespace flare

#endif  // FLARE_CLIENT_REFERENCE_COUNTER_H_
