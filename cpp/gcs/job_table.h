// The GCS job table: one record per driver that connected (its job id,
// driver pid, namespace, config, start and end times). Job ids are handed
// out here, in order, so that they are unique across the cluster.
//
// No I/O, no clock: callers pass times in. Thread-compatible: the GCS's
// owner is its only user.
#ifndef FLARE_GCS_JOB_TABLE_H_
#define FLARE_GCS_JOB_TABLE_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/ids.h"
#include "flare.pb.h"

namespace flare {

class JobTable {
 public:
  // Gives `job` the next job id and records it as running since
  // `start_time_ms` (`job.job_id`, times and `is_dead` are overwritten).
  JobId Add(rpc::JobInfo job, int64_t start_time_ms);
  // The job's driver is gone. Ignores unknown and finished jobs.
  void MarkFinished(const JobId& id, int64_t end_time_ms);

  const rpc::JobInfo* Find(const JobId& id) const;
  // Every job, in the order they were added.
  std::vector<const rpc::JobInfo*> All() const;

 private:
  uint32_t next_job_ = 1;
  absl::flat_hash_map<JobId, rpc::JobInfo, IdHash> jobs_;
  std::vector<JobId> order_;
};

}  // namespace flare

#endif  // FLARE_GCS_JOB_TABLE_H_
