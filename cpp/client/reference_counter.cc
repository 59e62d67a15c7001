#include "client/reference_counter.h"

namespace flare {

bool ReferenceCounter::AddRef(const ObjectId& id,
                              const std::shared_ptr<const OwnerAddress>& owner) {
  auto [it, inserted] = entries_.try_emplace(id);
  if (inserted) it->second.owner = owner;
  return it->second.refs++ == 0;
}

bool ReferenceCounter::RemoveRef(const ObjectId& id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return false;
  if (--it->second.refs > 0) return false;
  entries_.erase(it);
  return true;
}

int64_t ReferenceCounter::RefCount(const ObjectId& id) const {
  auto it = entries_.find(id);
  return it == entries_.end() ? 0 : it->second.refs;
}

const OwnerAddress* ReferenceCounter::OwnerOf(const ObjectId& id) const {
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : it->second.owner.get();
}

}  // namespace flare
