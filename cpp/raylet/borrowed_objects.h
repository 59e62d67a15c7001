// Objects this node borrows from other nodes. A ref reaches a node inside
// something another node sent: a value (a task's return holding refs) or a
// task (refs nested in its arguments). The node that sent it holds the
// object for us (as it would for any client that holds a ref: a PEER client
// there) until we say we are done, and pushes it here once it is ready
// there: a small value inline, an arena object by its location, pulled then
// into our arena. Borrowing from the sender rather than the owner works
// through chains: the sender may itself be borrowing it.
//
// A borrowed object's entry here is pending until it arrives; whoever holds
// it here (a client, a task, the value it came in) keeps it; when the entry
// is freed here, the sender is told to drop its hold. Refs that came inside
// a value are held by that value here until it is freed, as contained refs
// are.
//
// No I/O: messages go through PeerChannel, pulls through ObjectPuller.
// Thread-compatible: the raylet's event loop is its only user.
#ifndef FLARE_RAYLET_BORROWED_OBJECTS_H_
#define FLARE_RAYLET_BORROWED_OBJECTS_H_

#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/ids.h"
#include "flare.pb.h"
#include "object_store/object_table.h"
#include "raylet/node_io.h"
#include "raylet/return_store.h"

namespace flare {

// Holds borrowed objects for the values or tasks they came in (no process
// has this id).
constexpr ClientId kBorrowHolder = ~ClientId{1};

class BorrowedObjects {
 public:
  // Borrows all; they must outlive this.
  BorrowedObjects(ObjectTable& objects, ReturnStore& returns, PeerChannel& peers,
                  ObjectPuller& puller)
      : objects_(objects), returns_(returns), peers_(peers), puller_(puller) {}

  // `ids` came inside `container`, which `node` sent: each is held here
  // until `container` is freed (OnFreed), and those not known here are
  // borrowed from `node`.
  void HoldContained(const NodeId& node, const ObjectId& container,
                     const std::vector<ObjectId>& ids);
  // `id` came in a task `node` placed here: borrowed from `node` unless
  // known here. Returns whether it was; the caller then takes its own hold
  // and calls EndHold(id).
  bool Borrow(const NodeId& node, const ObjectId& id);
  // Drops the hold Borrow took.
  void EndHold(const ObjectId& id) { objects_.RemoveRef(kBorrowHolder, id); }
  // `node` sent an object. False when it is not one borrowed from it (the
  // caller's, e.g. a task's return); else it is stored here (an arena
  // object is pulled first).
  bool OnObject(const NodeId& node, const rpc::ObjectData& data);
  // `id` was freed here: what it held is released, and if it was borrowed
  // its node drops its hold. Must be called after the table's free event
  // (the table may not be re-entered from its free listener).
  void OnFreed(const ObjectId& id);
  // `node` is gone: what was borrowed from it and has not arrived, or is not
  // here but on a node that held it for `node`, is lost (OWNER_DIED).
  void OnNodeGone(const NodeId& node);

  // Whether freeing `id` concerns this (OnFreed has work to do).
  bool Tracks(const ObjectId& id) const {
    return (!contained_.empty() && contained_.contains(id)) ||
           (!borrowed_.empty() && borrowed_.contains(id));
  }
  size_t size() const { return borrowed_.size(); }
  // The node `id` is borrowed from, if it is.
  const NodeId* OwnerOf(const ObjectId& id) const {
    auto it = borrowed_.find(id);
    return it == borrowed_.end() ? nullptr : &it->second;
  }
  // Told of each copy pulled here of a borrowed object (and from whom it
  // is borrowed), and of the copies elsewhere its owner named.
  void SetCopyListeners(std::function<void(const ObjectId&, const NodeId&)> pulled,
                        std::function<void(const ObjectId&, std::vector<NodeId>)> named) {
    pulled_ = std::move(pulled);
    named_ = std::move(named);
  }

 private:
  // Creates the pending entry (held by kBorrowHolder) and asks `node` for it.
  void Start(const NodeId& node, const ObjectId& id);

  ObjectTable& objects_;
  ReturnStore& returns_;
  PeerChannel& peers_;
  ObjectPuller& puller_;
  absl::flat_hash_map<ObjectId, NodeId, IdHash> borrowed_;  // id -> the node holding it for us
  absl::flat_hash_map<ObjectId, std::vector<ObjectId>, IdHash> contained_;  // value -> refs it holds
  std::function<void(const ObjectId&, const NodeId&)> pulled_;
  std::function<void(const ObjectId&, std::vector<NodeId>)> named_;
};

}  // namespace flare

#endif  // FLARE_RAYLET_BORROWED_OBJECTS_H_
