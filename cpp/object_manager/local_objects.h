// What object transfer needs of the node's own object store: a buffer in
// the arena to receive a copy into, sealing or aborting it, and pinning a
// sealed object while it is sent. The raylet gives the ObjectManager one of
// these; ObjectTableObjects is the one over the ObjectTable and its arena.
//
// Thread rules: every method is called on the raylet's event loop only. The
// memory they hand out may be read (PinForSend) or written (CreateForPull)
// on other threads until the matching Unpin / Seal / Abort.
#ifndef FLARE_OBJECT_MANAGER_LOCAL_OBJECTS_H_
#define FLARE_OBJECT_MANAGER_LOCAL_OBJECTS_H_

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/ids.h"
#include "object_store/object_table.h"

namespace flare {

class LocalObjects {
 public:
  virtual ~LocalObjects() = default;

  // Receiving. Reserves `size` bytes in the arena for a copy of `id`.
  // ResourceExhausted when there is no room now (the pull waits for space);
  // any other error fails the pull (OutOfRange: larger than the arena).
  virtual absl::StatusOr<uint8_t*> CreateForPull(const ObjectId& id, uint64_t size) = 0;
  // REQUIRES: CreateForPull(id) succeeded and every byte has been written.
  virtual absl::Status SealPulled(const ObjectId& id) = 0;
  // REQUIRES: CreateForPull(id) succeeded; nothing writes the buffer any more.
  virtual void AbortPulled(const ObjectId& id) = 0;

  // Sending. Runs `ready` on the loop once `id` may be pinned: at once
  // (maybe inside this call), or once its bytes are back from disk.
  virtual void WhenSendable(const ObjectId& id, std::function<void()> ready) {
    (void)id;
    ready();
  }
  // The bytes of sealed object `id`, kept in place until
  // UnpinSent(id); NotFound when it is not in this node's arena.
  struct Pinned {
    const uint8_t* data = nullptr;
    uint64_t size = 0;
  };
  virtual absl::StatusOr<Pinned> PinForSend(const ObjectId& id) = 0;
  virtual void UnpinSent(const ObjectId& id) = 0;
};

// LocalObjects over the raylet's ObjectTable. Pulled copies are created and
// pinned under the client id `self` (one the raylet gives no process), so a
// sealed copy stays referenced by `self` until the raylet removes that
// reference (ObjectTable::RemoveRef(self, id)) when the object is freed.
// Local clients that subscribed to the object are handed to `on_sealed`,
// which the raylet uses to answer them. Borrows `table`; `arena_base` maps
// its offsets.
class ObjectTableObjects : public LocalObjects {
 public:
  using SealListener = std::function<void(const ObjectId&, std::vector<ClientId> waiting)>;
  ObjectTableObjects(ObjectTable& table, uint8_t* arena_base, ClientId self,
                     SealListener on_sealed = nullptr)
      : table_(table), arena_base_(arena_base), self_(self), on_sealed_(std::move(on_sealed)) {}

  absl::StatusOr<uint8_t*> CreateForPull(const ObjectId& id, uint64_t size) override;
  absl::Status SealPulled(const ObjectId& id) override;
  void AbortPulled(const ObjectId& id) override;
  absl::StatusOr<Pinned> PinForSend(const ObjectId& id) override;
  void UnpinSent(const ObjectId& id) override;

 private:
  ObjectTable& table_;
  uint8_t* arena_base_;
  const ClientId self_;
  SealListener on_sealed_;
};

}  // namespace flare

#endif  // FLARE_OBJECT_MANAGER_LOCAL_OBJECTS_H_
