#include "raylet/remote_tasks.h"

#include <algorithm>
#include <utility>

#include "raylet/task_args.h"

namespace flare {

namespace {

rpc::Message ReleaseMessage(const std::vector<ObjectId>& ids) {
  rpc::Message message;
  for (const ObjectId& id : ids) message.mutable_ref_update()->add_remove(id.Binary());
  return message;
}

// The other node pinned each return it told us about (as for any client it
// sends an object to).
void Unpin(PeerChannel& peers, const NodeId& node, const std::vector<ObjectId>& ids) {
  rpc::Message unpin;
  for (const ObjectId& id : ids) unpin.mutable_release_pins()->add_object_ids(id.Binary());
  peers.Send(node, unpin);
}

// Unpins, then drops our reference, so it can go.
void ReleaseReturns(PeerChannel& peers, const NodeId& node, const std::vector<ObjectId>& ids) {
  Unpin(peers, node, ids);
  peers.Send(node, ReleaseMessage(ids));
}

}  // namespace

absl::Status RemoteTasks::Send(const NodeId& node, const TaskId& task_id,
                               const rpc::TaskSpec& spec, const ResourceSet& demand) {
  std::vector<rpc::Message> messages;
  const std::vector<ObjectId> args = ArgumentIds(spec);
  for (const ObjectId& id : args) {
    const ObjectEntry* entry = objects_.Find(id);
    if (entry == nullptr || entry->state != ObjectState::kReady) {
      return absl::FailedPreconditionError("argument " + id.Hex() + " of task " +
                                           spec.function_name() + " is not on this node");
    }
    rpc::Message message;
    if (objects_.NeedsFetch(id)) {
      // Pulled from the node that made it (on that node, it is there).
      auto* location = message.mutable_object_location();
      location->set_object_id(id.Binary());
      location->set_size(entry->size);
      location->set_node_id(entry->elsewhere.Binary());
      for (const NodeId& other : CopiesOf(id, node)) location->add_other_node_ids(other.Binary());
    } else if ((entry->in_store || entry->spilled) && entry->error == rpc::ERROR_NONE) {
      // An arena object is pulled from here; so is one spilled to disk here,
      // whose value is not in memory to send (it comes back when read).
      auto* location = message.mutable_object_location();
      location->set_object_id(id.Binary());
      location->set_size(entry->size);
      location->set_node_id(self_.Binary());
      for (const NodeId& other : CopiesOf(id, node)) location->add_other_node_ids(other.Binary());
    } else {
      auto* data = message.mutable_put_inline()->mutable_data();
      data->set_object_id(id.Binary());
      data->set_inline_data(entry->inline_data);  // an error's payload, or the value
      data->set_error(entry->error);
      data->set_error_message(entry->error_message);
    }
    messages.push_back(std::move(message));
  }
  rpc::Message submit;
  *submit.mutable_submit_task()->mutable_spec() = spec;
  if (const size_t bytes = submit.ByteSizeLong(); bytes > kMaxPeerMessageBytes) {
    return absl::FailedPreconditionError(
        "task " + spec.function_name() + " is " + std::to_string(bytes) +
        " bytes as a message, more than the " + std::to_string(kMaxPeerMessageBytes) +
        " one message between nodes may carry (pass large values as ObjectRefs)");
  }
  messages.push_back(std::move(submit));
  // The task holds its arguments there from now on; we need not.
  if (!args.empty()) messages.push_back(ReleaseMessage(args));
  for (const rpc::Message& message : messages) {
    if (!peers_.Send(node, message)) {
      return absl::UnavailableError("cannot reach node " + node.Hex());
    }
  }
  Sent& sent = tasks_[task_id];
  sent.node = node;
  sent.demand = demand;
  sent.returns_left = spec.num_returns();
  sent.streaming = spec.streaming();
  for (uint32_t i = 1; i <= spec.num_returns(); ++i) {
    sent.held_there.push_back(ObjectIdFor(task_id, i));
  }
  return absl::OkStatus();
}

std::optional<TaskId> RemoteTasks::OnObject(const NodeId& node, const rpc::ObjectData& data) {
  const ObjectId id = ObjectId::FromBinary(data.object_id());
  const TaskId task_id = TaskOfObject(id);
  // The node pinned an arena copy for us as it sent it: one we do not take
  // (the task was forgotten, sent elsewhere, or this return is here
  // already) is let go of there at once, or it would stay there for good.
  auto ignore = [&]() -> std::optional<TaskId> {
    if (data.in_store() && data.error() == rpc::ERROR_NONE) ReleaseReturns(peers_, node, {id});
    return std::nullopt;
  };
  auto it = tasks_.find(task_id);
  if (it == tasks_.end() || it->second.node != node) return ignore();  // forgotten
  Sent& sent = it->second;
  auto held = std::find(sent.held_there.begin(), sent.held_there.end(), id);
  if (held == sent.held_there.end()) return ignore();  // already had it
  sent.held_there.erase(held);
  const bool last = --sent.returns_left == 0;
  if (last) tasks_.erase(it);
  // Last: storing it may wake tasks that are sent elsewhere at once.
  Receive(node, data);
  if (!last) return std::nullopt;
  return task_id;
}

void RemoteTasks::Receive(const NodeId& node, const rpc::ObjectData& data) {
  const ObjectId id = ObjectId::FromBinary(data.object_id());
  // The refs it holds stay held there (for us) before its copy there goes.
  std::vector<ObjectId> nested;
  for (const auto& binary : data.contained_refs()) nested.push_back(ObjectId::FromBinary(binary));
  borrowed_.HoldContained(node, id, nested);
  rpc::ReturnObject ret;
  *ret.mutable_data() = data;
  ret.mutable_data()->clear_contained_refs();
  const bool stays_there = data.in_store() && data.error() == rpc::ERROR_NONE;
  if (stays_there) {
    // Its bytes stay in that node's arena, pinned and held there for us,
    // until it is freed here; it is pulled here only if read here.
    ret.mutable_data()->set_in_store(false);
    ret.mutable_data()->clear_offset();
    ret.mutable_data()->set_elsewhere(true);
    ret.mutable_data()->set_node_id(node.Binary());
  }
  returns_.Store(ret);
  const ObjectEntry* entry = objects_.Find(id);
  if (stays_there && entry != nullptr && entry->elsewhere == node) {
    // Held there, not pinned: that node may spill it (and brings it back
    // when it is pulled).
    held_elsewhere_[id] = node;
    Unpin(peers_, node, {id});
  } else {
    // Not taken as stored there (it is here already, or nobody here
    // wants it any more): let go of it there.
    ReleaseReturns(peers_, node, {id});
  }
}

void RemoteTasks::Fetch(const ObjectId& id) {
  const ObjectEntry* entry = objects_.Find(id);
  if (entry == nullptr || !objects_.NeedsFetch(id) || !fetching_.insert(id).second) return;
  const NodeId from = entry->elsewhere;
  // Its node first, then the copies other nodes reported.
  std::vector<NodeId> holders{from};
  for (const NodeId& copy : CopiesOf(id, self_)) holders.push_back(copy);
  puller_.PullFromAny(id, entry->size, holders, [this, id, from](const absl::Status& status) {
    fetching_.erase(id);
    if (status.ok()) {
      // A borrowed object's owner hears of the copy here.
      if (const NodeId* owner = borrowed_.OwnerOf(id)) OnCopyMade(id, *owner);
    }
    if (!fetched_) return;
    if (status.ok()) {
      fetched_(id, status);
    } else {
      fetched_(id, absl::Status(status.code(), "its value could not be fetched from node " +
                                                   from.Hex() + ": " +
                                                   std::string(status.message())));
    }
  });
}

void RemoteTasks::OnFreed(const ObjectId& id) {
  copies_.erase(id);
  if (auto owner = copy_owners_.find(id); owner != copy_owners_.end()) {
    rpc::Message gone;
    gone.mutable_object_copies()->add_removed(id.Binary());
    peers_.Send(owner->second, gone);
    copy_owners_.erase(owner);
  }
  auto it = held_elsewhere_.find(id);
  if (it == held_elsewhere_.end()) return;
  peers_.Send(it->second, ReleaseMessage({id}));  // unpinned when it came
  held_elsewhere_.erase(it);
}

std::vector<ObjectId> RemoteTasks::OnlyOn(const NodeId& node) {
  for (auto it = copies_.begin(); it != copies_.end();) {
    std::vector<NodeId>& holders = it->second;
    holders.erase(std::remove(holders.begin(), holders.end(), node), holders.end());
    if (holders.empty()) {
      copies_.erase(it++);
    } else {
      ++it;
    }
  }
  std::vector<ObjectId> lost;
  for (auto it = held_elsewhere_.begin(); it != held_elsewhere_.end();) {
    if (it->second != node) {
      ++it;
      continue;
    }
    const ObjectId id = it->first;
    auto copy = copies_.find(id);
    if (copy != copies_.end() && objects_.NeedsFetch(id)) {
      // Another node pulled a copy: held there for us from now on (the
      // newest, the likeliest still there; if it went meanwhile, readers
      // fail to fetch it and it is made again then).
      const NodeId holder = copy->second.back();
      copy->second.pop_back();
      if (copy->second.empty()) copies_.erase(copy);
      rpc::Message hold;
      hold.mutable_ref_update()->add_add(id.Binary());
      if (peers_.Send(holder, hold)) {
        objects_.MoveElsewhere(id, holder);
        it->second = holder;
        ++it;
        continue;
      }
    }
    if (objects_.NeedsFetch(id)) lost.push_back(id);
    held_elsewhere_.erase(it++);
  }
  return lost;
}

void RemoteTasks::OnCopies(const NodeId& node, const rpc::ObjectCopies& copies) {
  for (const std::string& binary : copies.added()) {
    const ObjectId id = ObjectId::FromBinary(binary);
    if (node == self_ || !objects_.Contains(id)) continue;
    std::vector<NodeId>& holders = copies_[id];
    holders.erase(std::remove(holders.begin(), holders.end(), node), holders.end());
    if (holders.size() == kMaxCopies) holders.erase(holders.begin());
    holders.push_back(node);
  }
  for (const std::string& binary : copies.removed()) {
    auto it = copies_.find(ObjectId::FromBinary(binary));
    if (it == copies_.end()) continue;
    std::vector<NodeId>& holders = it->second;
    holders.erase(std::remove(holders.begin(), holders.end(), node), holders.end());
    if (holders.empty()) copies_.erase(it);
  }
}

std::vector<NodeId> RemoteTasks::CopiesOf(const ObjectId& id, const NodeId& reader) const {
  std::vector<NodeId> others;
  auto it = copies_.find(id);
  if (it == copies_.end()) return others;
  for (const NodeId& node : it->second) {
    if (node != reader) others.push_back(node);
  }
  return others;
}

void RemoteTasks::OnCopyMade(const ObjectId& id, const NodeId& owner) {
  if (owner.IsNil() || owner == self_ || !objects_.Contains(id)) return;
  if (!copy_owners_.emplace(id, owner).second) return;
  rpc::Message made;
  made.mutable_object_copies()->add_added(id.Binary());
  peers_.Send(owner, made);
}

void RemoteTasks::OnItem(const NodeId& node, const rpc::ObjectData& data, bool wanted) {
  if (wanted) {
    Receive(node, data);
    return;
  }
  const ObjectId id = ObjectId::FromBinary(data.object_id());
  ReleaseReturns(peers_, node, {id});
  if (objects_.Contains(id) && !objects_.IsReady(id)) {
    // Pending here for a caller that let go: it ends, and goes.
    returns_.StoreError(id, rpc::OBJECT_LOST, "the generator's caller let go of this item");
    objects_.AddRef(kTaskArgHolder, id);
    objects_.RemoveRef(kTaskArgHolder, id);
  }
}

void RemoteTasks::Cancel(const TaskId& task_id, bool force) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return;
  rpc::Message cancel;
  cancel.mutable_cancel_task()->set_task_id(task_id.Binary());
  cancel.mutable_cancel_task()->set_force(force);
  peers_.Send(it->second.node, cancel);
}

void RemoteTasks::Forget(const TaskId& task_id) {
  auto it = tasks_.find(task_id);
  if (it != tasks_.end()) Release(it);
}

void RemoteTasks::Release(absl::flat_hash_map<TaskId, Sent, IdHash>::iterator it) {
  if (!it->second.held_there.empty()) {
    peers_.Send(it->second.node, ReleaseMessage(it->second.held_there));
  }
  tasks_.erase(it);
}

std::vector<TaskId> RemoteTasks::OnNodeGone(const NodeId& node) {
  std::vector<TaskId> gone;
  for (auto it = tasks_.begin(); it != tasks_.end();) {
    if (it->second.node == node) {
      gone.push_back(it->first);
      tasks_.erase(it++);
    } else {
      ++it;
    }
  }
  return gone;
}

ResourceSet RemoteTasks::DemandOn(const NodeId& node) const {
  ResourceSet total;
  for (const auto& [task_id, sent] : tasks_) {
    if (sent.node == node) total.Add(sent.demand);
  }
  return total;
}

}  // namespace flare
