// The GCS key-value store: exported functions ("fn:<hash>"), job configs and
// other small cluster-wide records. Lives in the head raylet.
//
// Thread-compatible: the raylet's event loop is its only user.
#ifndef FLARE_GCS_KV_STORE_H_
#define FLARE_GCS_KV_STORE_H_

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"

namespace flare {

class KvStore {
 public:
  // Stores `value` under `key`. Without `overwrite` an existing value stays.
  // Returns true when the value was written.
  bool Put(const std::string& key, std::string value, bool overwrite);
  std::optional<std::string> Get(const std::string& key) const;
  bool Delete(const std::string& key);
  size_t size() const { return entries_.size(); }

 private:
  absl::flat_hash_map<std::string, std::string> entries_;
};

}  // namespace flare

#endif  // FLARE_GCS_KV_STORE_H_
