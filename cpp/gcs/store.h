// Where the GCS keeps its durable state: named tables of string keys to
// string values. Every GCS table writes each change through to a Store, so
// that a GCS built over the same store after a restart (Gcs::Recover) finds
// the same state. Kinds: SqliteStore (on the head's disk, the default),
// RedisStore and MemoryStore; storage_spec.h picks one.
//
// Thread-compatible: the GCS's owner is its only user.
#ifndef FLARE_GCS_STORE_H_
#define FLARE_GCS_STORE_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace flare {

class Store {
 public:
  using Entry = std::pair<std::string, std::string>;  // (key, value)

  virtual ~Store() = default;

  // Stores `value` under `key` of `table`. Without `overwrite` an existing
  // value stays. Returns whether the value was written; an error when the
  // store could not write.
  virtual absl::StatusOr<bool> Put(const std::string& table, const std::string& key,
                                   std::string value, bool overwrite) = 0;
  // The value, or nullopt when the key is absent.
  virtual absl::StatusOr<std::optional<std::string>> Get(const std::string& table,
                                                         const std::string& key) const = 0;
  // Returns whether the key existed.
  virtual absl::StatusOr<bool> Delete(const std::string& table, const std::string& key) = 0;
  // Every entry of `table` (none when the table was never written), in no
  // particular order.
  virtual absl::StatusOr<std::vector<Entry>> Scan(const std::string& table) const = 0;
};

}  // namespace flare

#endif  // FLARE_GCS_STORE_H_
