#include "object_store/object_table.h"

#include <algorithm>
#include <utility>

#include "common/compact.h"

namespace flare {

ObjectTable::ObjectTable(uint64_t arena_capacity) : allocator_(arena_capacity) {}

void ObjectTable::AddPending(ClientId holder, const ObjectId& id) {
  auto [it, inserted] = objects_.try_emplace(id);
  if (inserted) {
    it->second.refs++;
    it->second.holders[holder]++;
    Index(it->second, id, holder);
  }
}

void ObjectTable::AddRef(ClientId holder, const ObjectId& id) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return;  // already gone: nothing to keep alive
  it->second.refs++;
  it->second.holders[holder]++;
  Index(it->second, id, holder);
}

void ObjectTable::RemoveRef(ClientId holder, const ObjectId& id) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return;
  auto held = it->second.holders.find(holder);
  if (held == it->second.holders.end()) return;
  if (--held->second == 0) it->second.holders.erase(held);
  it->second.refs--;
  MaybeFree(id);
}

absl::StatusOr<uint64_t> ObjectTable::Create(ClientId creator, const ObjectId& id,
                                             uint64_t size) {
  auto [it, inserted] = objects_.try_emplace(id);
  ObjectEntry& entry = it->second;
  // A new object is a put: its creator holds the first reference. An
  // existing pending one is a task return, held by the task's caller.
  if (NeedsFetch(id) && !entry.fetching) {
    auto offset = allocator_.Allocate(size);
    if (!offset) return StoreFull(size);
    entry.fetching = true;
    entry.offset = *offset;
    entry.creator = creator;
    Index(entry, id, creator);
    return *offset;
  }
  if (entry.state != ObjectState::kPending) {
    return absl::AlreadyExistsError("object " + id.Hex() + " already exists");
  }
  auto offset = allocator_.Allocate(size);
  if (!offset) {
    if (inserted) objects_.erase(it);
    return StoreFull(size);
  }
  entry.state = ObjectState::kCreating;
  entry.in_store = true;
  entry.offset = *offset;
  entry.size = size;
  entry.creator = creator;
  Index(entry, id, creator);
  if (inserted) {
    entry.is_put = true;
    entry.refs++;
    entry.holders[creator]++;
  }
  return *offset;
}

absl::Status ObjectTable::StoreFull(uint64_t size) const {
  return absl::ResourceExhaustedError(
      "object store is full: cannot allocate " + std::to_string(size) + " bytes (capacity " +
      std::to_string(allocator_.capacity()) + ", in use " + std::to_string(allocator_.used()) +
      ")");
}

absl::StatusOr<std::vector<ClientId>> ObjectTable::Seal(
    const ObjectId& id, std::vector<ObjectId> contained) {
  auto it = objects_.find(id);
  if (it != objects_.end() && it->second.fetching) {
    // A copy of an object made elsewhere is here now (unless it failed
    // meanwhile): it was ready all along, so nobody is waiting in the table.
    ObjectEntry& entry = it->second;
    entry.fetching = false;
    if (entry.error == rpc::ERROR_NONE) {
      entry.in_store = true;
    } else {
      allocator_.Free(entry.offset);
    }
    MaybeFree(id);
    return std::vector<ClientId>();
  }
  if (it != objects_.end() && it->second.abandoned) {
    ReleaseAbandoned(id, it->second);
    return absl::FailedPreconditionError("object " + id.Hex() +
                                         " failed while it was being written");
  }
  if (it == objects_.end() || it->second.state != ObjectState::kCreating) {
    return absl::FailedPreconditionError("seal of object " + id.Hex() +
                                         " that is not being created");
  }
  for (const ObjectId& inner : contained) {
    auto found = objects_.find(inner);
    if (found != objects_.end()) found->second.refs++;
  }
  it->second.contained = std::move(contained);
  auto waiting = MarkReady(it->second, id);
  MaybeFree(id);
  return waiting;
}

void ObjectTable::Abort(const ObjectId& id) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return;
  if (it->second.fetching) {
    allocator_.Free(it->second.offset);
    it->second.fetching = false;
    MaybeFree(id);
  } else if (it->second.abandoned) {
    ReleaseAbandoned(id, it->second);
  } else if (it->second.state == ObjectState::kCreating) {
    Unwrite(id, it->second);
  }
}

void ObjectTable::ReleaseAbandoned(const ObjectId& id, ObjectEntry& entry) {
  allocator_.Free(entry.offset);
  entry.abandoned = false;
  MaybeFree(id);
}

void ObjectTable::Unwrite(const ObjectId& id, ObjectEntry& entry) {
  allocator_.Free(entry.offset);
  entry.in_store = false;
  entry.state = ObjectState::kPending;
  if (entry.is_put && entry.subscribers.empty()) {
    Unindex(entry, id);
    objects_.erase(id);
  }
}

std::vector<ClientId> ObjectTable::PutInline(ClientId holder, const ObjectId& id,
                                             std::string data,
                                             std::vector<ObjectId> contained) {
  auto [it, inserted] = objects_.try_emplace(id);
  ObjectEntry& entry = it->second;
  if (entry.state != ObjectState::kPending) return {};
  if (inserted && holder != kTaskArgHolder) {
    entry.refs++;
    entry.holders[holder]++;
    Index(entry, id, holder);
  }
  for (const ObjectId& inner : contained) {
    auto found = objects_.find(inner);
    if (found != objects_.end()) found->second.refs++;
  }
  entry.contained = std::move(contained);
  entry.inline_data = std::move(data);
  num_inline_++;
  auto waiting = MarkReady(entry, id);
  MaybeFree(id);
  return waiting;
}

std::vector<ClientId> ObjectTable::SetElsewhere(const ObjectId& id, uint64_t size,
                                                const NodeId& node) {
  auto it = objects_.find(id);
  if (it == objects_.end() || it->second.state != ObjectState::kPending) return {};
  ObjectEntry& entry = it->second;
  entry.size = size;
  entry.elsewhere = node;
  auto waiting = MarkReady(entry, id);
  MaybeFree(id);
  return waiting;
}

void ObjectTable::MoveElsewhere(const ObjectId& id, const NodeId& node) {
  if (!NeedsFetch(id)) return;
  objects_.at(id).elsewhere = node;
}

bool ObjectTable::NeedsFetch(const ObjectId& id) const {
  auto it = objects_.find(id);
  if (it == objects_.end()) return false;
  const ObjectEntry& entry = it->second;
  return entry.state == ObjectState::kReady && !entry.elsewhere.IsNil() && !entry.in_store &&
         !entry.spilled && entry.error == rpc::ERROR_NONE;
}

std::vector<ClientId> ObjectTable::SetError(const ObjectId& id, rpc::ErrorCode code,
                                            std::string message, std::string payload,
                                            std::vector<ObjectId> contained) {
  auto& entry = objects_[id];
  if (entry.state == ObjectState::kReady) return {};
  if (entry.state == ObjectState::kCreating) {
    entry.abandoned = true;  // the writer may still be copying into it
    entry.in_store = false;
  }
  entry.error = code;
  entry.error_message = std::move(message);
  entry.inline_data = std::move(payload);
  for (const ObjectId& inner : contained) {
    auto found = objects_.find(inner);
    if (found != objects_.end()) found->second.refs++;
  }
  entry.contained = std::move(contained);
  auto waiting = MarkReady(entry, id);
  MaybeFree(id);
  return waiting;
}

std::vector<ClientId> ObjectTable::MarkReady(ObjectEntry& entry, const ObjectId& id) {
  (void)id;
  entry.state = ObjectState::kReady;
  return std::exchange(entry.subscribers, {});
}

bool ObjectTable::Subscribe(ClientId client, const ObjectId& id) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return true;  // DescribeAndPin reports it lost
  if (it->second.state == ObjectState::kReady) return true;
  it->second.subscribers.push_back(client);
  Index(it->second, id, client);
  return false;
}

void ObjectTable::Unsubscribe(ClientId client, const ObjectId& id) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return;
  std::vector<ClientId>& subscribers = it->second.subscribers;
  subscribers.erase(std::remove(subscribers.begin(), subscribers.end(), client),
                    subscribers.end());
}

void ObjectTable::DescribeAndPin(ClientId client, const ObjectId& id,
                                 rpc::ObjectData* out) {
  out->set_object_id(id.Data(), ObjectId::kSize);
  auto it = objects_.find(id);
  if (it == objects_.end()) {
    out->set_error(rpc::OBJECT_LOST);
    out->set_error_message("object " + id.Hex() +
                           " was freed or never existed on this node");
    return;
  }
  ObjectEntry& entry = it->second;
  if (entry.error != rpc::ERROR_NONE) {
    out->set_error(entry.error);
    out->set_error_message(entry.error_message);
    if (!entry.inline_data.empty()) out->set_inline_data(entry.inline_data);
    return;
  }
  if (entry.spilled) {  // the raylet restores before describing; it could not
    out->set_error(rpc::OBJECT_STORE_FULL);
    out->set_error_message("object " + id.Hex() + " is spilled to disk and the object store "
                           "has no room to bring it back");
    return;
  }
  if (entry.in_store) {
    out->set_in_store(true);
    out->set_offset(entry.offset);
    out->set_size(entry.size);
    entry.pins[client]++;
    Index(entry, id, client);
  } else if (!entry.elsewhere.IsNil()) {
    out->set_elsewhere(true);
    out->set_node_id(entry.elsewhere.Binary());
    out->set_size(entry.size);
  } else {
    out->set_inline_data(entry.inline_data);
  }
}

void ObjectTable::Unpin(ClientId client, const ObjectId& id) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return;
  auto pinned = it->second.pins.find(client);
  if (pinned == it->second.pins.end()) return;
  if (--pinned->second == 0) it->second.pins.erase(pinned);
  MaybeFree(id);
}

void ObjectTable::Index(ObjectEntry& entry, const ObjectId& id, ClientId client) {
  // The raylet's own holders never disconnect: not indexed.
  if (client == kTaskArgHolder || client >= kFirstInternalClient) return;
  if (std::find(entry.indexed_by.begin(), entry.indexed_by.end(), client) !=
      entry.indexed_by.end()) {
    return;
  }
  entry.indexed_by.push_back(client);
  by_client_[client].insert(id);
}

void ObjectTable::Unindex(ObjectEntry& entry, const ObjectId& id) {
  for (ClientId client : entry.indexed_by) {
    auto it = by_client_.find(client);
    if (it == by_client_.end()) continue;
    it->second.erase(id);
    if (it->second.empty()) by_client_.erase(it);
  }
  entry.indexed_by.clear();
}

void ObjectTable::DropClient(ClientId client) {
  // Only what the client touched: its cost is what it held, not the table.
  auto indexed = by_client_.extract(client);
  if (indexed.empty()) return;
  std::vector<ObjectId> touched;
  std::vector<ObjectId> unwritten;  // handled after the scan, which Unwrite may erase from
  for (const ObjectId& id : indexed.mapped()) {
    auto found = objects_.find(id);
    if (found == objects_.end()) continue;
    ObjectEntry& entry = found->second;
    auto& by = entry.indexed_by;
    by.erase(std::remove(by.begin(), by.end(), client), by.end());
    bool changed = false;
    if (auto held = entry.holders.find(client); held != entry.holders.end()) {
      entry.refs -= held->second;
      entry.holders.erase(held);
      changed = true;
    }
    if (entry.pins.erase(client) > 0) changed = true;
    if ((entry.state == ObjectState::kCreating || entry.abandoned) && entry.creator == client) {
      unwritten.push_back(id);
      changed = true;
    }
    auto& subs = entry.subscribers;
    subs.erase(std::remove(subs.begin(), subs.end(), client), subs.end());
    if (changed) touched.push_back(id);
  }
  for (const ObjectId& id : unwritten) Abort(id);
  for (const ObjectId& id : touched) MaybeFree(id);
}

bool ObjectTable::IsReady(const ObjectId& id) const {
  auto it = objects_.find(id);
  return it != objects_.end() && it->second.state == ObjectState::kReady;
}

bool ObjectTable::IsError(const ObjectId& id) const {
  auto it = objects_.find(id);
  return it != objects_.end() && it->second.error != rpc::ERROR_NONE;
}

const ObjectEntry* ObjectTable::Find(const ObjectId& id) const {
  auto it = objects_.find(id);
  return it == objects_.end() ? nullptr : &it->second;
}

void ObjectTable::MaybeFree(const ObjectId& id) {
  // Iterative, because freeing an object releases the objects it contains.
  std::vector<ObjectId> work{id};
  while (!work.empty()) {
    ObjectId current = work.back();
    work.pop_back();
    auto it = objects_.find(current);
    if (it == objects_.end()) continue;
    ObjectEntry& entry = it->second;
    if (entry.refs > 0 || !entry.pins.empty() || entry.state != ObjectState::kReady ||
        !entry.subscribers.empty() || entry.abandoned || entry.fetching || entry.spilling ||
        entry.restoring) {
      continue;
    }
    if (entry.in_store) allocator_.Free(entry.offset);
    if (!entry.in_store && !entry.spilled && entry.elsewhere.IsNil() &&
        entry.error == rpc::ERROR_NONE) {
      num_inline_--;
    }
    std::vector<ObjectId> contained = std::move(entry.contained);
    Unindex(entry, current);
    objects_.erase(it);
    if (free_listener_) free_listener_(current);
    for (const ObjectId& inner : contained) {
      auto found = objects_.find(inner);
      if (found == objects_.end()) continue;
      found->second.refs--;
      work.push_back(inner);
    }
  }
}

StoreStats ObjectTable::Stats() const {
  StoreStats stats;
  stats.capacity = allocator_.capacity();
  stats.used = allocator_.used();
  stats.num_objects = objects_.size();
  stats.num_inline = num_inline_;
  return stats;
}

namespace {

std::vector<ObjectId> LargestFirst(std::vector<std::pair<uint64_t, ObjectId>> sized) {
  std::sort(sized.begin(), sized.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<ObjectId> ids;
  ids.reserve(sized.size());
  for (const auto& [size, id] : sized) ids.push_back(id);
  return ids;
}

}  // namespace

std::vector<ObjectId> ObjectTable::SpillCandidates() const {
  std::vector<std::pair<uint64_t, ObjectId>> sized;
  for (const auto& [id, entry] : objects_) {
    if (entry.state == ObjectState::kReady && entry.in_store && entry.pins.empty() &&
        !entry.abandoned && !entry.spilling && entry.elsewhere.IsNil() &&
        entry.error == rpc::ERROR_NONE) {
      sized.emplace_back(entry.size, id);
    }
  }
  return LargestFirst(std::move(sized));
}

void ObjectTable::BeginSpill(const ObjectId& id) {
  auto it = objects_.find(id);
  if (it != objects_.end()) it->second.spilling = true;
}

bool ObjectTable::EndSpill(const ObjectId& id, bool written) {
  auto it = objects_.find(id);
  if (it == objects_.end() || !it->second.spilling) return false;
  it->second.spilling = false;
  MaybeFree(id);  // freed while it was being written
  it = objects_.find(id);
  if (it == objects_.end()) return false;
  ObjectEntry& entry = it->second;
  if (!written || !entry.in_store || !entry.pins.empty()) return false;
  allocator_.Free(entry.offset);
  entry.in_store = false;
  entry.spilled = true;
  return true;
}

absl::StatusOr<uint64_t> ObjectTable::Unspill(const ObjectId& id) {
  auto it = objects_.find(id);
  if (it == objects_.end() || !it->second.spilled || it->second.restoring) {
    return absl::NotFoundError("not spilled");
  }
  auto offset = allocator_.Allocate(it->second.size);
  if (!offset) return absl::ResourceExhaustedError("no room to restore " + id.Hex());
  it->second.offset = *offset;
  it->second.restoring = true;
  return *offset;
}

void ObjectTable::EndUnspill(const ObjectId& id, const absl::Status& read) {
  auto it = objects_.find(id);
  if (it == objects_.end() || !it->second.restoring) return;
  ObjectEntry& entry = it->second;
  entry.restoring = false;
  entry.spilled = false;
  if (read.ok()) {
    entry.in_store = true;
  } else {
    allocator_.Free(entry.offset);
    // Garbage must not be served as the value: the object is lost.
    MarkLost(id, "object " + id.Hex() + " was spilled to disk and could not be read back: " +
                     std::string(read.message()));
  }
  MaybeFree(id);
}

std::vector<ObjectId> ObjectTable::EvictCandidates() const {
  std::vector<std::pair<uint64_t, ObjectId>> sized;
  for (const auto& [id, entry] : objects_) {
    // Not an argument of a task here: it was pulled for that task, which
    // reads it from this arena once it reaches a worker.
    if (entry.state == ObjectState::kReady && entry.in_store && !entry.elsewhere.IsNil() &&
        entry.pins.empty() && !entry.fetching && !entry.spilling &&
        entry.error == rpc::ERROR_NONE && !entry.holders.contains(kTaskArgHolder)) {
      sized.emplace_back(entry.size, id);
    }
  }
  return LargestFirst(std::move(sized));
}

bool ObjectTable::AnyMappedCopy() const {
  for (const auto& [id, entry] : objects_) {
    if (entry.state == ObjectState::kReady && entry.in_store && !entry.elsewhere.IsNil() &&
        !entry.pins.empty() && !entry.fetching) {
      return true;
    }
  }
  return false;
}

void ObjectTable::Evict(const ObjectId& id) {
  auto it = objects_.find(id);
  if (it == objects_.end() || !it->second.in_store || it->second.elsewhere.IsNil()) return;
  allocator_.Free(it->second.offset);
  it->second.in_store = false;
}

void ObjectTable::MarkLost(const ObjectId& id, std::string message, rpc::ErrorCode code) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return;
  ObjectEntry& entry = it->second;
  // (The block a pull still writes into goes when the pull ends.)
  if (entry.in_store) allocator_.Free(entry.offset);
  entry.in_store = false;
  entry.spilled = false;
  entry.inline_data.clear();
  entry.error = code;
  entry.error_message = std::move(message);
}

bool ObjectTable::Reopen(const ObjectId& id) {
  auto it = objects_.find(id);
  if (it == objects_.end() || !NeedsFetch(id) || it->second.fetching) return false;
  ObjectEntry& entry = it->second;
  entry.state = ObjectState::kPending;
  entry.elsewhere = NodeId();
  entry.size = 0;
  return true;
}

bool ObjectTable::IsSpilled(const ObjectId& id) const {
  auto it = objects_.find(id);
  return it != objects_.end() && it->second.spilled;
}

void ObjectTable::Compact() {
  ShrinkIfSparse(objects_);
  for (auto& [client, ids] : by_client_) ShrinkIfSparse(ids);
  ShrinkIfSparse(by_client_);
}

}  // namespace flare
