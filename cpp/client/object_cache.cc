#include "client/object_cache.h"

#include <utility>

namespace flare {

bool ObjectCache::Subscribe(const ObjectId& id, Need need) {
  Entry& entry = entries_[id];
  if (entry.subscribed) return false;
  if (entry.ready && need == Need::kExists) return false;
  if (entry.ready && need == Need::kHere && !entry.elsewhere) return false;
  entry.subscribed = true;
  return true;
}

void ObjectCache::MarkElsewhere(const ObjectId& id) {
  Entry& entry = entries_[id];
  if (entry.value) return;  // a copy is here already
  entry.ready = true;
  entry.elsewhere = true;
  entry.subscribed = false;
}

bool ObjectCache::MustAskAgain(const ObjectId& id, Need need) const {
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.subscribed || !it->second.ready) return false;
  const Entry& entry = it->second;
  if (need == Need::kValue) return !entry.value;
  return need == Need::kHere && entry.elsewhere;
}

void ObjectCache::ExpectPush(const ObjectId& id) { entries_[id].subscribed = true; }

bool ObjectCache::Contains(const ObjectId& id) const { return entries_.contains(id); }

void ObjectCache::Store(ObjectValue value) {
  Entry& entry = entries_[value.id];
  entry.value = std::move(value);
  entry.ready = true;
  entry.elsewhere = false;
  entry.handed_out = false;
}

const ObjectValue* ObjectCache::Find(const ObjectId& id) const {
  auto it = entries_.find(id);
  if (it == entries_.end() || !it->second.value) return nullptr;
  return &*it->second.value;
}

bool ObjectCache::IsReady(const ObjectId& id) const {
  auto it = entries_.find(id);
  return it != entries_.end() && it->second.ready;
}

bool ObjectCache::IsHere(const ObjectId& id) const {
  auto it = entries_.find(id);
  return it != entries_.end() && it->second.ready && !it->second.elsewhere;
}

void ObjectCache::MarkHandedOut(const ObjectId& id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  Entry& entry = it->second;
  entry.handed_out = true;
  if (entry.value && entry.value->error == rpc::OBJECT_STORE_FULL) {
    // Spilled, and no room to bring it back then: the next get asks again.
    entry.value.reset();
    entry.subscribed = false;
  }
}

std::vector<ObjectValue> ObjectCache::DropUnreadValues() {
  std::vector<ObjectValue> dropped;
  for (auto& [id, entry] : entries_) {
    // use_count 1: only this cache holds the pin, no value read from it is alive.
    if (entry.value && entry.handed_out && entry.value->pin && entry.value->pin.use_count() == 1) {
      dropped.push_back(std::move(*entry.value));
      entry.value.reset();
      entry.subscribed = false;  // fetched again (restored if spilled) when asked for
    }
  }
  return dropped;
}

std::optional<ObjectValue> ObjectCache::Erase(const ObjectId& id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  std::optional<ObjectValue> value = std::move(it->second.value);
  entries_.erase(it);
  return value;
}

}  // namespace flare
