#include "gcs/kv_store.h"

namespace flare {

bool KvStore::Put(const std::string& key, std::string value, bool overwrite) {
  auto [it, inserted] = entries_.try_emplace(key);
  if (!inserted && !overwrite) return false;
  it->second = std::move(value);
  return true;
}

std::optional<std::string> KvStore::Get(const std::string& key) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

bool KvStore::Delete(const std::string& key) { return entries_.erase(key) > 0; }

}  // namespace flare
