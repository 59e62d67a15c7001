// A Store in process memory: everything is lost when the process ends (a
// Gcs rebuilt over the same MemoryStore object finds it all).
//
// Thread-compatible.
#ifndef FLARE_GCS_MEMORY_STORE_H_
#define FLARE_GCS_MEMORY_STORE_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "gcs/store.h"

namespace flare {

class MemoryStore : public Store {
 public:
  absl::StatusOr<bool> Put(const std::string& table, const std::string& key, std::string value,
                           bool overwrite) override;
  absl::StatusOr<std::optional<std::string>> Get(const std::string& table,
                                                 const std::string& key) const override;
  absl::StatusOr<bool> Delete(const std::string& table, const std::string& key) override;
  absl::StatusOr<std::vector<Entry>> Scan(const std::string& table) const override;

 private:
  using Table = absl::flat_hash_map<std::string, std::string>;
  absl::flat_hash_map<std::string, Table> tables_;
};

}  // namespace flare

#endif  // FLARE_GCS_MEMORY_STORE_H_
