// Specification of the GCS job table: ids handed out in order, start and
// end times as given, finished jobs stay, and every change kept in the
// store so that a new table over it loads the same jobs and goes on with
// the next id. No I/O involved.
#include "gcs/job_table.h"

#include <gtest/gtest.h>

#include "gcs/memory_store.h"
#include "gcs_test_store.h"

namespace flare {
namespace {

rpc::JobInfo Driver(int pid, const std::string& name_space) {
  rpc::JobInfo job;
  job.set_driver_pid(pid);
  job.set_namespace_(name_space);
  job.set_config("config");
  return job;
}

class JobTableTest : public ::testing::Test {
 protected:
  JobId Add(const rpc::JobInfo& job, int64_t start_ms) {
    absl::StatusOr<JobId> id = table_.Add(job, start_ms);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.value_or(JobId());
  }

  MemoryStore store_;
  JobTable table_{store_};
};

TEST_F(JobTableTest, JobsGetIncreasingIdsAndKeepTheirDescription) {
  const JobId first = Add(Driver(100, "a"), 1000);
  const JobId second = Add(Driver(200, "b"), 2000);
  EXPECT_EQ(first.Hex(), "00000001");
  EXPECT_EQ(second.Hex(), "00000002");
  const rpc::JobInfo* job = table_.Find(second);
  ASSERT_NE(job, nullptr);
  EXPECT_EQ(job->job_id(), second.Binary());
  EXPECT_EQ(job->driver_pid(), 200);
  EXPECT_EQ(job->namespace_(), "b");
  EXPECT_EQ(job->config(), "config");
  EXPECT_EQ(job->start_time_ms(), 2000);
  EXPECT_EQ(job->end_time_ms(), 0);
  EXPECT_FALSE(job->is_dead());
}

TEST_F(JobTableTest, CallerCannotChooseIdOrEndState) {
  rpc::JobInfo job = Driver(1, "");
  job.set_job_id("xxxx");
  job.set_is_dead(true);
  job.set_end_time_ms(5);
  const JobId id = Add(job, 7);
  EXPECT_EQ(table_.Find(id)->job_id(), id.Binary());
  EXPECT_FALSE(table_.Find(id)->is_dead());
  EXPECT_EQ(table_.Find(id)->end_time_ms(), 0);
}

TEST_F(JobTableTest, FinishedJobRecordsItsEndOnce) {
  const JobId id = Add(Driver(1, ""), 10);
  ASSERT_TRUE(table_.MarkFinished(id, 20).ok());
  ASSERT_TRUE(table_.MarkFinished(id, 30).ok());  // the first end stays
  ASSERT_NE(table_.Find(id), nullptr) << "finished jobs stay in the table";
  EXPECT_TRUE(table_.Find(id)->is_dead());
  EXPECT_EQ(table_.Find(id)->end_time_ms(), 20);
  EXPECT_TRUE(table_.MarkFinished(JobId(), 40).ok());  // unknown: ignored
  EXPECT_EQ(table_.All().size(), 1u);
}

TEST_F(JobTableTest, AllListsJobsInTheOrderTheyCame) {
  const JobId a = Add(Driver(1, ""), 1);
  const JobId b = Add(Driver(2, ""), 2);
  auto all = table_.All();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]->job_id(), a.Binary());
  EXPECT_EQ(all[1]->job_id(), b.Binary());
}

TEST_F(JobTableTest, ANewTableOverTheStoreLoadsTheJobsAndGoesOnWithTheNextId) {
  const JobId first = Add(Driver(1, "a"), 1);
  const JobId second = Add(Driver(2, "b"), 2);
  ASSERT_TRUE(table_.MarkFinished(first, 3).ok());

  JobTable reloaded(store_);
  ASSERT_TRUE(reloaded.Load().ok());
  auto all = reloaded.All();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]->job_id(), first.Binary()) << "in the order they came";
  EXPECT_TRUE(all[0]->is_dead());
  EXPECT_EQ(all[0]->end_time_ms(), 3);
  EXPECT_EQ(all[1]->job_id(), second.Binary());
  EXPECT_EQ(all[1]->namespace_(), "b");
  EXPECT_EQ(all[1]->config(), "config");
  absl::StatusOr<JobId> third = reloaded.Add(Driver(3, ""), 4);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->Hex(), "00000003") << "no id is handed out twice";
}

TEST(JobTableStoreTest, AFailedWriteChangesNothing) {
  MemoryStore backing;
  bool broken = false;
  testing::TestStore store(backing, &broken);
  JobTable table(store);
  absl::StatusOr<JobId> first = table.Add(Driver(1, ""), 1);
  ASSERT_TRUE(first.ok());
  broken = true;
  absl::StatusOr<JobId> lost = table.Add(Driver(2, ""), 2);
  EXPECT_TRUE(absl::IsUnavailable(lost.status())) << lost.status();
  EXPECT_TRUE(absl::IsUnavailable(table.MarkFinished(*first, 3)));
  broken = false;
  EXPECT_EQ(table.All().size(), 1u) << "the job whose write failed was not added";
  EXPECT_FALSE(table.Find(*first)->is_dead()) << "nor was the first marked finished";
  absl::StatusOr<JobId> next = table.Add(Driver(3, ""), 4);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->Hex(), "00000002") << "the failed add used no id";
}

}  // namespace
}  // namespace flare
