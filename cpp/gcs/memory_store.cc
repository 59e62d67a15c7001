#include "gcs/memory_store.h"

#include <utility>

namespace flare {

absl::StatusOr<bool> MemoryStore::Put(const std::string& table, const std::string& key,
                                      std::string value, bool overwrite) {
  auto [it, inserted] = tables_[table].try_emplace(key);
  if (!inserted && !overwrite) return false;
  it->second = std::move(value);
  return true;
}

absl::StatusOr<std::optional<std::string>> MemoryStore::Get(const std::string& table,
                                                            const std::string& key) const {
  auto found = tables_.find(table);
  if (found == tables_.end()) return std::optional<std::string>();
  auto it = found->second.find(key);
  if (it == found->second.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

absl::StatusOr<bool> MemoryStore::Delete(const std::string& table, const std::string& key) {
  auto found = tables_.find(table);
  return found != tables_.end() && found->second.erase(key) > 0;
}

absl::StatusOr<std::vector<Store::Entry>> MemoryStore::Scan(const std::string& table) const {
  std::vector<Entry> entries;
  auto found = tables_.find(table);
  if (found == tables_.end()) return entries;
  entries.assign(found->second.begin(), found->second.end());
  return entries;
}

}  // namespace flare
