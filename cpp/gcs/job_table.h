// The GCS job table: one record per driver that connected (its job id,
// driver pid, namespace, config, start and end times), the one place a
// job's config is kept. Job ids are handed out here, in order, so that they
// are unique across the cluster. Each change is written through to the
// store (table kTable, keyed by job id); Load reads the table back after a
// restart and hands out ids after the highest one it finds.
//
// No clock: callers pass times in. Borrows the store, which must outlive
// it. Thread-compatible: the GCS's owner is its only user.
#ifndef FLARE_GCS_JOB_TABLE_H_
#define FLARE_GCS_JOB_TABLE_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/ids.h"
#include "flare.pb.h"
#include "gcs/record_table.h"

namespace flare {

class JobTable {
 public:
  static constexpr char kTable[] = "jobs";

  explicit JobTable(Store& store) : jobs_(store, kTable) {}

  // Loads every job the store holds, as it was recorded.
  // REQUIRES: the table is empty (nothing was recorded since construction).
  absl::Status Load();

  // Gives `job` the next job id and records it as running since
  // `start_time_ms` (`job.job_id`, times and `is_dead` are overwritten).
  absl::StatusOr<JobId> Add(rpc::JobInfo job, int64_t start_time_ms);
  // The job's driver is gone. Ignores unknown and finished jobs.
  absl::Status MarkFinished(const JobId& id, int64_t end_time_ms);

  const rpc::JobInfo* Find(const JobId& id) const;
  // Every job, in the order they were added.
  std::vector<const rpc::JobInfo*> All() const;

 private:
  RecordTable<JobId, rpc::JobInfo> jobs_;
  uint32_t next_job_ = 1;
  std::vector<JobId> order_;  // ids are handed out in order: also id order
};

}  // namespace flare

#endif  // FLARE_GCS_JOB_TABLE_H_
