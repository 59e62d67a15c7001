// Specification of a GCS restart: everything the GCS records goes through
// its Store, so a second Gcs built over the same store finds, after
// Recover, the named actors, placement groups, jobs and KV the first one
// recorded, and the nodes, which must register again. No I/O: the store
// is a MemoryStore the test keeps across the two.
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "gcs/gcs.h"
#include "gcs/memory_store.h"
#include "gcs_test_store.h"

namespace flare {
namespace {

class GcsRecoverTest : public ::testing::Test {
 protected:
  // A GCS over the store this test keeps: a new one is a restarted head.
  std::unique_ptr<Gcs> Start() {
    return std::make_unique<Gcs>(std::make_unique<testing::TestStore>(store_));
  }

  MemoryStore store_;
};

TEST_F(GcsRecoverTest, ARestartedGcsFindsWhatTheFirstRecorded) {
  const NodeId node = NodeId::FromRandom();
  const ActorId actor = ActorId::FromRandom();
  const ActorId dead_actor = ActorId::FromRandom();
  const PlacementGroupId group = PlacementGroupId::FromRandom();
  const PlacementGroupId removed_group = PlacementGroupId::FromRandom();
  JobId finished_job;
  JobId running_job;
  {
    std::unique_ptr<Gcs> first = Start();
    rpc::NodeInfo info;
    info.set_node_id(node.Binary());
    info.set_address("10.0.0.1:6380");
    info.set_alive(true);
    ASSERT_TRUE(first->RegisterNode(info).ok());

    ASSERT_TRUE(first->KvPut("fn:1", "pickled function", true).ok());

    rpc::JobInfo job;
    job.set_namespace_("ns");
    job.set_config("job config");
    finished_job = first->AddJob(job).value();
    running_job = first->AddJob(job).value();
    ASSERT_TRUE(first->MarkJobFinished(finished_job).ok());

    rpc::ActorInfo named;
    named.set_actor_id(actor.Binary());
    named.set_namespace_("ns");
    named.set_name("counter");
    named.set_methods("method table");
    ASSERT_TRUE(first->RegisterActor(named).ok());
    ASSERT_TRUE(first->ReportActorState(actor, rpc::ACTOR_ALIVE).ok());
    named.set_actor_id(dead_actor.Binary());
    named.set_name("gone");
    ASSERT_TRUE(first->RegisterActor(named).ok());
    ASSERT_TRUE(first->ReportActorState(dead_actor, rpc::ACTOR_DEAD).ok());

    rpc::PlacementGroupInfo pg;
    pg.set_pg_id(group.Binary());
    pg.set_namespace_("ns");
    pg.set_name("workers");
    pg.set_strategy("PACK");
    pg.add_bundles();
    ASSERT_TRUE(first->AddPlacementGroup(pg).ok());
    ASSERT_TRUE(first->PlacementGroupCreated(group, {node}).ok());
    pg.set_pg_id(removed_group.Binary());
    pg.set_name("");
    ASSERT_TRUE(first->AddPlacementGroup(pg).ok());
    ASSERT_TRUE(first->PlacementGroupRemoved(removed_group).ok());
  }

  std::unique_ptr<Gcs> second = Start();
  ASSERT_TRUE(second->Recover().ok());

  auto nodes = second->GetAllNodes();
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].address(), "10.0.0.1:6380");
  EXPECT_FALSE(nodes[0].alive()) << "a node counts again once it registers again";

  EXPECT_EQ(second->KvGet("fn:1").value(), "pickled function");

  auto jobs = second->GetAllJobs();
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].job_id(), finished_job.Binary());
  EXPECT_TRUE(jobs[0].is_dead());
  EXPECT_EQ(second->GetJob(running_job)->config(), "job config");
  EXPECT_FALSE(second->GetJob(running_job)->is_dead());
  JobId next = second->AddJob(rpc::JobInfo()).value();
  EXPECT_NE(next, finished_job);
  EXPECT_NE(next, running_job) << "job ids are never handed out twice";

  std::optional<rpc::ActorInfo> found = second->LookupNamedActor("ns", "counter");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->actor_id(), actor.Binary());
  EXPECT_EQ(found->state(), rpc::ACTOR_ALIVE);
  EXPECT_EQ(found->methods(), "method table");
  EXPECT_FALSE(second->LookupNamedActor("ns", "gone").has_value());
  EXPECT_EQ(second->ListNamedActors(std::nullopt).size(), 1u);

  std::optional<rpc::PlacementGroupInfo> pg = second->LookupNamedPlacementGroup("ns", "workers");
  ASSERT_TRUE(pg.has_value());
  EXPECT_EQ(pg->pg_id(), group.Binary());
  EXPECT_EQ(pg->state(), rpc::PG_CREATED);
  ASSERT_EQ(second->GetPlacementGroups(removed_group).size(), 1u);
  EXPECT_EQ(second->GetPlacementGroups(removed_group)[0].state(), rpc::PG_REMOVED);
  EXPECT_EQ(second->GetPlacementGroups(std::nullopt).size(), 2u);
}

TEST_F(GcsRecoverTest, ARestartedGcsGoesOnFromTheRecoveredState) {
  const ActorId actor = ActorId::FromRandom();
  {
    std::unique_ptr<Gcs> first = Start();
    rpc::ActorInfo named;
    named.set_actor_id(actor.Binary());
    named.set_name("counter");
    ASSERT_TRUE(first->RegisterActor(named).ok());
  }
  std::unique_ptr<Gcs> second = Start();
  ASSERT_TRUE(second->Recover().ok());
  rpc::ActorInfo rival;
  rival.set_actor_id(ActorId::FromRandom().Binary());
  rival.set_name("counter");
  EXPECT_TRUE(absl::IsAlreadyExists(second->RegisterActor(rival))) << "the name is still held";
  ASSERT_TRUE(second->ReportActorState(actor, rpc::ACTOR_DEAD).ok());
  EXPECT_TRUE(second->RegisterActor(rival).ok()) << "its death freed the name";

  std::unique_ptr<Gcs> third = Start();
  ASSERT_TRUE(third->Recover().ok());
  EXPECT_EQ(third->LookupNamedActor("", "counter")->actor_id(), rival.actor_id())
      << "what the second GCS recorded survives the next restart";
}

TEST_F(GcsRecoverTest, AStoreThatCannotBeReadFailsTheRecovery) {
  const bool broken = true;
  Gcs gcs(std::make_unique<testing::TestStore>(store_, &broken));
  const absl::Status recovered = gcs.Recover();
  EXPECT_TRUE(absl::IsUnavailable(recovered)) << recovered;
}

TEST_F(GcsRecoverTest, ARecordThatDoesNotParseIsDataLoss) {
  ASSERT_TRUE(store_.Put(JobTable::kTable, JobId().Binary(), "not a record", true).ok());
  std::unique_ptr<Gcs> gcs = Start();
  const absl::Status recovered = gcs->Recover();
  EXPECT_TRUE(absl::IsDataLoss(recovered)) << recovered;
  EXPECT_NE(recovered.message().find("jobs"), std::string::npos) << recovered;
}

}  // namespace
}  // namespace flare
