#include "raylet/borrowed_objects.h"

#include <string>
#include <utility>

namespace flare {

void BorrowedObjects::Start(const NodeId& node, const ObjectId& id) {
  objects_.AddPending(kBorrowHolder, id);
  borrowed_[id] = node;
  // Hold it there for us, then send it when ready (in this order, on one
  // link: it cannot go in between).
  rpc::Message hold;
  hold.mutable_ref_update()->add_add(id.Binary());
  rpc::Message subscribe;
  subscribe.mutable_subscribe()->add_object_ids(id.Binary());
  if (!peers_.Send(node, hold) || !peers_.Send(node, subscribe)) {
    borrowed_.erase(id);
    returns_.StoreError(id, rpc::OBJECT_LOST,
                        "object " + id.Hex() + " is held by node " + node.Hex() +
                            ", which cannot be reached");
  }
}

void BorrowedObjects::HoldContained(const NodeId& node, const ObjectId& container,
                                    const std::vector<ObjectId>& ids) {
  if (ids.empty() || contained_.contains(container)) return;
  for (const ObjectId& id : ids) {
    if (objects_.Contains(id)) {
      objects_.AddRef(kBorrowHolder, id);
    } else {
      Start(node, id);
    }
  }
  contained_[container] = ids;
}

bool BorrowedObjects::Borrow(const NodeId& node, const ObjectId& id) {
  if (objects_.Contains(id)) return false;
  Start(node, id);
  return true;
}

bool BorrowedObjects::OnObject(const NodeId& node, const rpc::ObjectData& data) {
  const ObjectId id = ObjectId::FromBinary(data.object_id());
  auto it = borrowed_.find(id);
  if (it == borrowed_.end() || it->second != node || objects_.IsReady(id)) return false;
  // On a third node (data.elsewhere): stored as such, and pulled from
  // there when read here.
  std::vector<NodeId> copies;
  for (const std::string& other : data.copy_node_ids()) copies.push_back(NodeId::FromBinary(other));
  if (data.in_store() && data.error() == rpc::ERROR_NONE) {
    // Pinned there for us until our copy is sealed; the copies its owner
    // knows serve if it cannot.
    std::vector<NodeId> holders{node};
    holders.insert(holders.end(), copies.begin(), copies.end());
    puller_.PullFromAny(id, data.size(), holders, [this, id, node](const absl::Status& status) {
      if (status.ok() && pulled_) pulled_(id, node);
      if (!status.ok()) {
        returns_.StoreError(id, rpc::OBJECT_LOST,
                            "object " + id.Hex() + " could not be fetched from node " +
                                node.Hex() + ": " + std::string(status.message()));
      }
      rpc::Message unpin;
      unpin.mutable_release_pins()->add_object_ids(id.Binary());
      peers_.Send(node, unpin);
    });
    return true;
  }
  rpc::ReturnObject ret;
  *ret.mutable_data() = data;
  ret.mutable_data()->clear_contained_refs();
  std::vector<ObjectId> nested;
  for (const auto& binary : data.contained_refs()) nested.push_back(ObjectId::FromBinary(binary));
  HoldContained(node, id, nested);
  returns_.Store(ret);
  // On a third node: the copies its owner named serve a later pull too.
  if (data.elsewhere() && !copies.empty() && named_) named_(id, std::move(copies));
  return true;
}

void BorrowedObjects::OnFreed(const ObjectId& id) {
  if (auto held = contained_.find(id); held != contained_.end()) {
    const std::vector<ObjectId> ids = std::move(held->second);
    contained_.erase(held);
    for (const ObjectId& nested : ids) objects_.RemoveRef(kBorrowHolder, nested);
  }
  auto it = borrowed_.find(id);
  if (it == borrowed_.end()) return;
  rpc::Message release;
  release.mutable_ref_update()->add_remove(id.Binary());
  peers_.Send(it->second, release);
  borrowed_.erase(it);
}

void BorrowedObjects::OnNodeGone(const NodeId& node) {
  std::vector<ObjectId> pending;
  std::vector<ObjectId> elsewhere;  // ready, its bytes on a node that held it for that one
  for (const auto& [id, from] : borrowed_) {
    if (from != node) continue;
    if (!objects_.IsReady(id)) {
      pending.push_back(id);
    } else if (objects_.NeedsFetch(id)) {
      elsewhere.push_back(id);
    }
  }
  auto why = [&](const ObjectId& id) {
    return "object " + id.Hex() + " was borrowed from node " + node.Hex() +
           " (its owner's, or the one it came through), which died or left the cluster";
  };
  for (const ObjectId& id : pending) returns_.StoreError(id, rpc::OWNER_DIED, why(id));
  for (const ObjectId& id : elsewhere) objects_.MarkLost(id, why(id), rpc::OWNER_DIED);
}

}  // namespace flare
