#include "gcs/job_table.h"

#include <algorithm>
#include <utility>

namespace flare {

namespace {

// Job ids are their number, big-endian, so that their bytes sort like it.
JobId JobIdOf(uint32_t number) {
  JobId id;
  for (size_t i = 0; i < JobId::kSize; ++i) {
    id.MutableData()[i] = static_cast<uint8_t>(number >> (8 * (JobId::kSize - 1 - i)));
  }
  return id;
}

uint32_t NumberOf(const JobId& id) {
  uint32_t number = 0;
  for (size_t i = 0; i < JobId::kSize; ++i) {
    number = (number << 8) | static_cast<uint8_t>(id.Data()[i]);
  }
  return number;
}

}  // namespace

absl::Status JobTable::Load() {
  if (absl::Status status = jobs_.Load(nullptr); !status.ok()) return status;
  for (const auto& [id, job] : jobs_.records()) {
    next_job_ = std::max(next_job_, NumberOf(id) + 1);
    order_.push_back(id);
  }
  std::sort(order_.begin(), order_.end());
  return absl::OkStatus();
}

absl::StatusOr<JobId> JobTable::Add(rpc::JobInfo job, int64_t start_time_ms) {
  const JobId id = JobIdOf(next_job_);
  job.set_job_id(id.Binary());
  job.set_start_time_ms(start_time_ms);
  job.set_end_time_ms(0);
  job.set_is_dead(false);
  if (absl::Status status = jobs_.Put(id, std::move(job)); !status.ok()) return status;
  ++next_job_;
  order_.push_back(id);
  return id;
}

absl::Status JobTable::MarkFinished(const JobId& id, int64_t end_time_ms) {
  const rpc::JobInfo* job = jobs_.Find(id);
  if (job == nullptr || job->is_dead()) return absl::OkStatus();
  rpc::JobInfo finished = *job;
  finished.set_is_dead(true);
  finished.set_end_time_ms(end_time_ms);
  return jobs_.Put(id, std::move(finished));
}

const rpc::JobInfo* JobTable::Find(const JobId& id) const { return jobs_.Find(id); }

std::vector<const rpc::JobInfo*> JobTable::All() const {
  std::vector<const rpc::JobInfo*> all;
  all.reserve(order_.size());
  for (const JobId& id : order_) all.push_back(jobs_.Find(id));
  return all;
}

}  // namespace flare
