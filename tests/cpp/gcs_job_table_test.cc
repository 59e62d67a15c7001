// Specification of the GCS job table: ids handed out in order, start and
// end times as given, finished jobs stay. No I/O involved.
#include "gcs/job_table.h"

#include <gtest/gtest.h>

namespace flare {
namespace {

rpc::JobInfo Driver(int pid, const std::string& name_space) {
  rpc::JobInfo job;
  job.set_driver_pid(pid);
  job.set_namespace_(name_space);
  job.set_config("config");
  return job;
}

TEST(JobTableTest, JobsGetIncreasingIdsAndKeepTheirDescription) {
  JobTable table;
  const JobId first = table.Add(Driver(100, "a"), 1000);
  const JobId second = table.Add(Driver(200, "b"), 2000);
  EXPECT_EQ(first.Hex(), "00000001");
  EXPECT_EQ(second.Hex(), "00000002");
  const rpc::JobInfo* job = table.Find(second);
  ASSERT_NE(job, nullptr);
  EXPECT_EQ(job->job_id(), second.Binary());
  EXPECT_EQ(job->driver_pid(), 200);
  EXPECT_EQ(job->namespace_(), "b");
  EXPECT_EQ(job->config(), "config");
  EXPECT_EQ(job->start_time_ms(), 2000);
  EXPECT_EQ(job->end_time_ms(), 0);
  EXPECT_FALSE(job->is_dead());
}

TEST(JobTableTest, CallerCannotChooseIdOrEndState) {
  JobTable table;
  rpc::JobInfo job = Driver(1, "");
  job.set_job_id("xxxx");
  job.set_is_dead(true);
  job.set_end_time_ms(5);
  const JobId id = table.Add(job, 7);
  EXPECT_EQ(table.Find(id)->job_id(), id.Binary());
  EXPECT_FALSE(table.Find(id)->is_dead());
  EXPECT_EQ(table.Find(id)->end_time_ms(), 0);
}

TEST(JobTableTest, FinishedJobRecordsItsEndOnce) {
  JobTable table;
  const JobId id = table.Add(Driver(1, ""), 10);
  table.MarkFinished(id, 20);
  table.MarkFinished(id, 30);  // the first end stays
  ASSERT_NE(table.Find(id), nullptr) << "finished jobs stay in the table";
  EXPECT_TRUE(table.Find(id)->is_dead());
  EXPECT_EQ(table.Find(id)->end_time_ms(), 20);
  table.MarkFinished(JobId(), 40);  // unknown: ignored
  EXPECT_EQ(table.All().size(), 1u);
}

TEST(JobTableTest, AllListsJobsInTheOrderTheyCame) {
  JobTable table;
  const JobId a = table.Add(Driver(1, ""), 1);
  const JobId b = table.Add(Driver(2, ""), 2);
  auto all = table.All();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]->job_id(), a.Binary());
  EXPECT_EQ(all[1]->job_id(), b.Binary());
}

}  // namespace
}  // namespace flare
