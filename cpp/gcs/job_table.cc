#include "gcs/job_table.h"

#include <utility>

namespace flare {

JobId JobTable::Add(rpc::JobInfo job, int64_t start_time_ms) {
  const uint32_t number = next_job_++;
  JobId id;
  for (size_t i = 0; i < JobId::kSize; ++i) {
    id.MutableData()[i] = static_cast<uint8_t>(number >> (8 * (JobId::kSize - 1 - i)));
  }
  job.set_job_id(id.Binary());
  job.set_start_time_ms(start_time_ms);
  job.set_end_time_ms(0);
  job.set_is_dead(false);
  jobs_.emplace(id, std::move(job));
  order_.push_back(id);
  return id;
}

void JobTable::MarkFinished(const JobId& id, int64_t end_time_ms) {
  auto it = jobs_.find(id);
  if (it == jobs_.end() || it->second.is_dead()) return;
  it->second.set_is_dead(true);
  it->second.set_end_time_ms(end_time_ms);
}

const rpc::JobInfo* JobTable::Find(const JobId& id) const {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second;
}

std::vector<const rpc::JobInfo*> JobTable::All() const {
  std::vector<const rpc::JobInfo*> all;
  all.reserve(order_.size());
  for (const JobId& id : order_) all.push_back(&jobs_.at(id));
  return all;
}

}  // namespace flare
