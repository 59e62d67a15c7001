// What a node answers without the head while the head is away (see
// RemoteGcsClient): the values of KV keys that never change once written
// (content-addressed exports of functions and classes: keys under the
// given prefixes) and job records (whose config, what workers read, never
// changes). Filled from what the GCS answered or accepted while it was
// there, so that a new worker on this node can still load a function it
// ran before, or enter a job it saw, while the head is down.
//
// Bounded: past `max_bytes` of values the oldest values go, past
// `max_jobs` the oldest jobs. No I/O. Thread-compatible.
#ifndef FLARE_GCS_GCS_READ_CACHE_H_
#define FLARE_GCS_GCS_READ_CACHE_H_

#include <cstddef>
#include <deque>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/ids.h"
#include "flare.pb.h"

namespace flare {

class GcsReadCache {
 public:
  GcsReadCache(std::vector<std::string> immutable_prefixes, size_t max_bytes, size_t max_jobs)
      : prefixes_(std::move(immutable_prefixes)), max_bytes_(max_bytes), max_jobs_(max_jobs) {}

  // Whether `key`'s value never changes once written (it is kept).
  bool Immutable(const std::string& key) const;
  // The GCS holds `value` under `key` (ignored unless Immutable).
  void OnKv(const std::string& key, const std::string& value);
  // The kept value, or nullptr.
  const std::string* Kv(const std::string& key) const;

  // The GCS holds this record (its job_id set).
  void OnJob(const rpc::JobInfo& job);
  const rpc::JobInfo* Job(const JobId& job) const;

  size_t bytes() const { return bytes_; }

 private:
  std::vector<std::string> prefixes_;
  size_t max_bytes_;
  size_t max_jobs_;
  absl::flat_hash_map<std::string, std::string> values_;
  std::deque<std::string> value_order_;  // oldest first
  size_t bytes_ = 0;
  absl::flat_hash_map<JobId, rpc::JobInfo, IdHash> jobs_;
  std::deque<JobId> job_order_;  // oldest first
};

}  // namespace flare

#endif  // FLARE_GCS_GCS_READ_CACHE_H_
