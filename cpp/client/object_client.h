// ObjectClient: a process's reads and writes of objects — get, wait, puts
// (inline, or create → write → seal / abort) — and its references to them.
//
// It keeps the ReferenceCounter and the ObjectCache under the client's lock
// (the Waiter's), talks to the raylet through the RayletConnection, and blocks
// callers through the Waiter. Objects this process makes are owned by its
// node (`local_owner`); references taken from elsewhere name their owner.
//
// Thread-safe: called by any Python thread (without the GIL) and, for
// incoming objects, by the I/O thread.
#ifndef FLARE_CLIENT_OBJECT_CLIENT_H_
#define FLARE_CLIENT_OBJECT_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "client/raylet_connection.h"
#include "client/object_cache.h"
#include "client/object_value.h"
#include "client/owner_address.h"
#include "client/reference_counter.h"
#include "client/waiter.h"
#include "common/ids.h"
#include "flare.pb.h"
#include "object_store/arena.h"

namespace flare {

// Told when a caller starts and stops waiting for objects, so that a worker
// lends its task's CPU meanwhile.
class BlockingListener {
 public:
  virtual ~BlockingListener() = default;
  // Called without the client's lock.
  virtual void SetBlocked(bool blocked) = 0;
};

class ObjectClient {
 public:
  // Every reference is borrowed and must outlive the object client.
  ObjectClient(RayletConnection& connection, Waiter& waiter, std::shared_ptr<Arena> arena,
               std::shared_ptr<const OwnerAddress> local_owner, BlockingListener& blocking)
      : connection_(connection),
        waiter_(waiter),
        arena_(std::move(arena)),
        local_owner_(std::move(local_owner)),
        blocking_(blocking) {}

  const std::shared_ptr<const OwnerAddress>& local_owner() const { return local_owner_; }

  // ---- references ----
  // A reference to an object owned by this node; the raylet hears of the
  // first one.
  void AddRef(const ObjectId& id) { AddRef(id, local_owner_); }
  // A reference to an object owned by `owner` (a ref received from elsewhere).
  void AddRef(const ObjectId& id, const std::shared_ptr<const OwnerAddress>& owner);
  void RemoveRef(const ObjectId& id);
  // References the raylet already counts for this process (the next item
  // of a generator): counted here without telling it (ExpectObject), or
  // dropped without telling it (ForgetObject, for an item that never came).
  void ExpectObject(const ObjectId& id);
  void ForgetObject(const ObjectId& id);
  // A task was submitted: the caller holds one reference to each of its
  // `num_returns` returns, which the raylet pushes here when they exist.
  void ExpectReturns(const TaskId& task, uint32_t num_returns);
  // Objects this process references (for tests and leak checks).
  size_t NumLocalRefs() const;

  // ---- puts ----
  // Stores a small object; the caller holds one reference to it.
  absl::Status PutInline(const ObjectId& id, std::string data, const std::vector<ObjectId>& contained);
  // Reserves `size` bytes of the arena for `id` and returns where to write.
  // A full arena is retried for a while (it may free up).
  absl::StatusOr<uint8_t*> Create(const ObjectId& id, uint64_t size, int timeout_ms);
  // A put's creator holds its first reference; a task return's does not.
  absl::Status Seal(const ObjectId& id, const std::vector<ObjectId>& contained);
  void Abort(const ObjectId& id);

  // ---- reads ----
  // Waits until every object is ready. DeadlineExceeded on timeout
  // (timeout_ms < 0: none), Cancelled when `interrupted` said so.
  absl::StatusOr<std::vector<ObjectValue>> Get(const std::vector<ObjectId>& ids, int64_t timeout_ms,
                                               const InterruptCheck& interrupted);
  // Waits until `num_returns` of `ids` are ready or the timeout passes;
  // returns which are ready. `lend_cpu`: tell the BlockingListener.
  // `fetch_local`: ready means here (one made on another node is pulled
  // first); otherwise ready anywhere, and nothing is pulled.
  absl::StatusOr<std::vector<bool>> Wait(const std::vector<ObjectId>& ids, size_t num_returns,
                                         int64_t timeout_ms, const InterruptCheck& interrupted,
                                         bool lend_cpu, bool fetch_local = true);
  // Turns ObjectData received from the raylet into a value (pinning arena spans).
  ObjectValue MakeValue(const rpc::ObjectData& data) const {
    return MakeObjectValue(data, arena_, connection_.pin_releaser());
  }

  // ---- I/O thread ----
  // An object this process asked for (or is owed) exists.
  void OnObjectReady(const rpc::ObjectData& data);
  // The raylet is short of arena space: drop cached values no reader holds.
  void DropUnreadValues();

 private:
  // REQUIRES: the client's lock. Adds a Subscribe for the ids not asked for yet.
  void SubscribeLocked(const std::vector<ObjectId>& ids, ObjectCache::Need need,
                       rpc::Message* subscribe);

  RayletConnection& connection_;
  Waiter& waiter_;
  const std::shared_ptr<Arena> arena_;
  const std::shared_ptr<const OwnerAddress> local_owner_;
  BlockingListener& blocking_;
  ReferenceCounter refs_;  // guarded by waiter_.mutex()
  ObjectCache cache_;      // guarded by waiter_.mutex()
};

}  // namespace flare

#endif  // FLARE_CLIENT_OBJECT_CLIENT_H_
