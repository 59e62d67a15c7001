// The node manager's side of the cluster: the other nodes' resources as the
// GCS reports them, what other raylets answer on the links this node
// opened, and the objects they say where to pull (and which copies they
// hold). The rest of the node manager is node_manager.cc.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "common/placement_group_resources.h"
#include "raylet/message_checks.h"
#include "raylet/node_manager.h"

namespace flare {

void NodeManager::OnClusterView(const std::vector<rpc::NodeInfo>& nodes) {
  absl::flat_hash_set<NodeId, IdHash> live;
  for (const rpc::NodeInfo& node : nodes) {
    const NodeId id = NodeId::FromBinary(node.node_id());
    if (id == node_id_ || !node.alive()) continue;
    live.insert(id);
    ClusterResourceView::Node view;
    view.total = ResourceSet::FromProto(node.total());
    view.available = ResourceSet::FromProto(node.available());
    // A node reports only what is free of its placement groups' bundles;
    // they count as its own (a task in one may go there).
    for (const auto& [name, amount] : view.available.ToMap()) {
      if (GroupOfResource(name) && amount > view.total.Get(name)) view.total.Set(name, amount);
    }
    // The report may predate tasks just sent there: they count as taken.
    ResourceSet unsent = view.total;
    unsent.Subtract(remote_.DemandOn(id));
    for (const auto& [name, amount] : view.available.ToMap()) {
      view.available.Set(name, std::min(amount, unsent.Get(name)));
    }
    cluster_.UpdateNode(id, std::move(view));
  }
  for (const NodeId& id : live_nodes_) {
    if (live.contains(id)) continue;
    cluster_.RemoveNode(id);
    tasks_.OnNodeGone(id, "died or left the cluster");
  }
  live_nodes_ = std::move(live);
  groups_.OnViewChanged();
  tasks_.OnViewChanged();
  tasks_.Dispatch();
  tasks_.Rebalance();
}

void NodeManager::OnPeerMessage(const NodeId& node, rpc::Message& message) {
  if (absl::Status valid = CheckPeerAnswer(message); !valid.ok()) {
    std::cerr << "flare-raylet: ignoring a message from node " << node.Hex() << ": "
              << valid.message() << "\n";
    return;
  }
  if (message.body_case() == rpc::Message::kObjectReady) {
    tasks_.OnPeerObject(node, message.object_ready());
  } else if (message.body_case() == rpc::Message::kBundlesPrepared) {
    groups_.OnPrepareReply(node, message.bundles_prepared());
    tasks_.Dispatch();
  } else if (message.body_case() == rpc::Message::kTaskSpilledBack) {
    tasks_.OnSpilledBack(node, message.task_spilled_back());
  } else if (message.body_case() == rpc::Message::kActorDied) {
    tasks_.OnActorDied(node, message.actor_died());
  } else if (message.body_case() == rpc::Message::kActorLocation) {
    tasks_.OnActorLocation(node, message.actor_location());
  } else if (message.body_case() == rpc::Message::kLogLines) {
    SendToDrivers(clients_, message.log_lines());
  } else if (message.body_case() == rpc::Message::kRegisterReply &&
             !message.register_reply().error().empty()) {
    OnPeerLost(node, "it refused this node: " + message.register_reply().error());
  }
}

void NodeManager::OnPeerLost(const NodeId& node, const std::string& why) {
  // Out of the view until the GCS reports it alive again.
  cluster_.RemoveNode(node);
  live_nodes_.erase(node);
  tasks_.OnNodeGone(node, "could not be reached (" + why + ")");
}

void NodeManager::OnObjectCopies(const ClientInfo& client, const rpc::ObjectCopies& copies) {
  if (client.kind == rpc::PEER) remote_.OnCopies(client.node_id, copies);
}

void NodeManager::OnObjectLocation(const ClientInfo& client,
                                   const rpc::ObjectLocation& location) {
  const ObjectId id = ObjectId::FromBinary(location.object_id());
  if (client.kind != rpc::PEER) return;
  if (objects_.Contains(id)) {
    // Here already (e.g. made here for that node) or on its way: the node
    // holds it as an argument all the same, and lets go of it once its
    // task holds it.
    objects_.AddRef(client.id, id);
    return;
  }
  objects_.AddPending(client.id, id);
  const NodeId from = NodeId::FromBinary(location.node_id());
  // Every node known to hold it, starting at one that depends on this node
  // (readers on several nodes spread over the copies), the others after it.
  std::vector<NodeId> holders{from};
  for (const std::string& other : location.other_node_ids()) {
    holders.push_back(NodeId::FromBinary(other));
  }
  const size_t first = (node_id_.Hash() ^ (id.Hash() * 0x9e3779b97f4a7c15ULL)) % holders.size();
  std::rotate(holders.begin(), holders.begin() + first, holders.end());
  const NodeId owner = client.node_id;
  (node_io_.puller ? *node_io_.puller : static_cast<ObjectPuller&>(no_peers_))
      .PullFromAny(id, location.size(), holders, [this, id, from, owner](const absl::Status& status) {
        if (status.ok()) {
          remote_.OnCopyMade(id, owner);  // later readers may pull it from here
          return;
        }
        tasks_.OnArgumentNotFetched(id);  // its tasks go back to their owner
        StoreError(id, rpc::OBJECT_LOST,
                   "an argument could not be fetched from node " + from.Hex() + ": " +
                       std::string(status.message()));
      });
}

}  // namespace flare
