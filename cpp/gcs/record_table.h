// The records of one GCS table (nodes, jobs, actors, placement groups):
// protobuf records by id, kept in memory for reading and written through
// to one table of the Store (keyed by the id's binary form) before each
// change is applied, so that a failed write changes nothing and a GCS
// built over the same store after a restart can load them back.
//
// Records that ended (dead actors, removed groups) are kept for asking
// after them, only the most recent `max_ended` of them: ending one more
// forgets the one that ended longest ago, in memory and in the store.
//
// Borrows the store, which must outlive it. Thread-compatible: the GCS's
// owner is its only user.
#ifndef FLARE_GCS_RECORD_TABLE_H_
#define FLARE_GCS_RECORD_TABLE_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/ids.h"
#include "gcs/store.h"

namespace flare {

template <typename Id, typename Record>
class RecordTable {
 public:
  using Map = absl::flat_hash_map<Id, Record, IdHash>;
  static constexpr size_t kUnbounded = std::numeric_limits<size_t>::max();

  RecordTable(Store& store, std::string table, size_t max_ended = kUnbounded)
      : store_(store), table_(std::move(table)), max_ended_(max_ended) {}

  // Loads every record the store holds; those `ended` says ended (none
  // when it is empty) count as ended, oldest first in the order the store
  // lists them. Entries whose key is not an Id are skipped; DataLoss when a
  // value is not a Record.
  // REQUIRES: nothing was recorded since construction.
  absl::Status Load(const std::function<bool(const Record&)>& ended) {
    absl::StatusOr<std::vector<Store::Entry>> entries = store_.Scan(table_);
    if (!entries.ok()) return entries.status();
    std::vector<Id> ended_ids;
    for (auto& [key, value] : *entries) {
      if (key.size() != Id::kSize) continue;
      Record record;
      if (!record.ParseFromString(value)) {
        return absl::DataLossError("GCS table '" + table_ + "' holds a record that does not parse");
      }
      const Id id = Id::FromBinary(key);
      if (ended && ended(record)) ended_ids.push_back(id);
      records_.insert_or_assign(id, std::move(record));
    }
    absl::Status result;
    for (const Id& id : ended_ids) result.Update(End(id));
    return result;
  }

  // Stores `record` as `id`'s, replacing what was there.
  absl::Status Put(const Id& id, Record record) {
    absl::StatusOr<bool> written =
        store_.Put(table_, id.Binary(), record.SerializeAsString(), /*overwrite=*/true);
    if (!written.ok()) return written.status();
    records_.insert_or_assign(id, std::move(record));
    return absl::OkStatus();
  }

  // `id`'s record (already put in its final form) ended; beyond max_ended
  // ended records, the oldest is forgotten. REQUIRES: `id` is kept and did
  // not end before.
  absl::Status End(const Id& id) {
    ended_.push_back(id);
    absl::Status result;
    while (ended_.size() > max_ended_) {
      const Id oldest = ended_.front();
      ended_.pop_front();
      result.Update(store_.Delete(table_, oldest.Binary()).status());
      records_.erase(oldest);
    }
    return result;
  }

  // `id`'s record, or nullptr when unknown (or forgotten).
  const Record* Find(const Id& id) const {
    auto it = records_.find(id);
    return it == records_.end() ? nullptr : &it->second;
  }
  // `id`'s record, to change fields that are soft state: kept in memory
  // only, they reach the store with the record's next Put. nullptr when
  // unknown.
  Record* FindSoft(const Id& id) {
    auto it = records_.find(id);
    return it == records_.end() ? nullptr : &it->second;
  }
  bool Contains(const Id& id) const { return records_.contains(id); }
  const Map& records() const { return records_; }
  size_t size() const { return records_.size(); }

 private:
  Store& store_;
  std::string table_;
  size_t max_ended_;
  Map records_;
  std::deque<Id> ended_;  // oldest first
};

}  // namespace flare

#endif  // FLARE_GCS_RECORD_TABLE_H_
