#include "gcs/gcs_read_cache.h"

namespace flare {

bool GcsReadCache::Immutable(const std::string& key) const {
  for (const std::string& prefix : prefixes_) {
    if (key.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

void GcsReadCache::OnKv(const std::string& key, const std::string& value) {
  if (!Immutable(key) || value.size() > max_bytes_ || values_.contains(key)) return;
  values_.emplace(key, value);
  value_order_.push_back(key);
  bytes_ += value.size();
  while (bytes_ > max_bytes_) {
    auto oldest = values_.find(value_order_.front());
    bytes_ -= oldest->second.size();
    values_.erase(oldest);
    value_order_.pop_front();
  }
}

const std::string* GcsReadCache::Kv(const std::string& key) const {
  auto it = values_.find(key);
  return it == values_.end() ? nullptr : &it->second;
}

void GcsReadCache::OnJob(const rpc::JobInfo& job) {
  if (job.job_id().size() != JobId::kSize) return;
  const JobId id = JobId::FromBinary(job.job_id());
  auto [it, inserted] = jobs_.insert_or_assign(id, job);
  if (!inserted) return;
  job_order_.push_back(id);
  while (job_order_.size() > max_jobs_) {
    jobs_.erase(job_order_.front());
    job_order_.pop_front();
  }
}

const rpc::JobInfo* GcsReadCache::Job(const JobId& job) const {
  auto it = jobs_.find(job);
  return it == jobs_.end() ? nullptr : &it->second;
}

}  // namespace flare
