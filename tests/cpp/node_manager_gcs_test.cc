// Specification of what the raylet keeps the GCS told about: its node,
// jobs as drivers come and go, named actors' states, and what local
// clients ask of it (cluster info). Played without sockets through
// node_manager_harness.h, with the head's GCS in process.
#include <gtest/gtest.h>

#include "node_manager_harness.h"

namespace flare {
namespace {

using testing::NodeManagerHarness;

class NodeManagerGcsTest : public ::testing::Test {
 protected:
  // Registers `actor_id` as a named actor, as actor.py does before
  // submitting its creation.
  void RegisterName(const TaskId& actor_id, const std::string& name) {
    rpc::ActorInfo actor;
    actor.set_actor_id(actor_id.Binary());
    actor.set_namespace_("ns");
    actor.set_name(name);
    ASSERT_TRUE(node_.gcs().RegisterActor(actor).ok());
  }

  rpc::ActorState StateOf(const TaskId& actor_id) {
    for (const rpc::ActorInfo& actor : node_.gcs().ListNamedActors(std::nullopt)) {
      if (actor.actor_id() == actor_id.Binary()) return actor.state();
    }
    return rpc::ACTOR_DEAD;  // no longer listed: dead
  }

  rpc::TaskSpec Creation(int max_restarts) {
    return testing::ActorCreationSpec(node_.clients().infos.at(driver_).job_id, max_restarts);
  }

  NodeManagerHarness node_;
  ClientId driver_ = node_.RegisterDriver(/*pid=*/50);
};

TEST_F(NodeManagerGcsTest, TheNodeRegistersItselfAndClusterInfoComesFromTheGcs) {
  auto nodes = node_.gcs().GetAllNodes();
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].node_id(), node_.manager().node_id().Binary());
  EXPECT_TRUE(nodes[0].alive());

  rpc::ClusterInfoRequest request;
  request.set_request_id(5);
  node_.manager().OnClusterInfo(node_.clients().infos.at(driver_), request);
  auto replies = node_.Take(driver_, rpc::Message::kClusterInfoReply);
  ASSERT_EQ(replies.size(), 1u);
  const auto& reply = replies[0].cluster_info_reply();
  EXPECT_EQ(reply.request_id(), 5u);
  ASSERT_EQ(reply.nodes_size(), 1);
  EXPECT_EQ(reply.nodes(0).available().amounts().at("CPU"), 1.0)
      << "this node's record carries what is available now";
}

TEST_F(NodeManagerGcsTest, EachDriverIsAJobThatEndsWhenItLeaves) {
  const ClientId second = node_.RegisterDriver(/*pid=*/60);
  auto jobs = node_.gcs().GetAllJobs();
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].driver_pid(), 50);
  EXPECT_EQ(jobs[1].driver_pid(), 60);
  EXPECT_EQ(jobs[1].job_id(), node_.clients().infos.at(second).job_id.Binary())
      << "the driver was given the GCS's job id";
  EXPECT_NE(jobs[0].job_id(), jobs[1].job_id());

  const ClientInfo info = node_.clients().infos.at(second);
  node_.clients().infos.erase(second);
  node_.manager().OnClientClosed(info);
  jobs = node_.gcs().GetAllJobs();
  EXPECT_FALSE(jobs[0].is_dead());
  EXPECT_TRUE(jobs[1].is_dead()) << "its driver left";
}

TEST_F(NodeManagerGcsTest, AJobsRecordIsReadFromTheJobTableOnly) {
  const JobId job = node_.clients().infos.at(driver_).job_id;
  auto in_kv = node_.gcs().KvGet("job:" + job.Hex());
  ASSERT_TRUE(in_kv.ok());
  EXPECT_FALSE(in_kv->has_value()) << "a job's config is kept in its job record only";
  const ClientId worker = node_.RegisterWorker();
  rpc::JobInfoRequest request;
  request.set_request_id(3);
  request.set_job_id(job.Binary());
  node_.manager().OnJobInfo(node_.clients().infos.at(worker), request);
  auto replies = node_.Take(worker, rpc::Message::kJobInfoReply);
  ASSERT_EQ(replies.size(), 1u);
  const auto& reply = replies[0].job_info_reply();
  EXPECT_EQ(reply.request_id(), 3u);
  ASSERT_TRUE(reply.found());
  EXPECT_EQ(reply.job().driver_pid(), 50);
}

TEST_F(NodeManagerGcsTest, ANamedActorsStateFollowsItAndDeathFreesItsName) {
  const ClientId worker = node_.RegisterWorker();
  rpc::TaskSpec creation = Creation(/*max_restarts=*/1);
  const TaskId actor = TaskId::FromBinary(creation.task_id());
  RegisterName(actor, "counter");
  node_.Submit(driver_, creation);
  EXPECT_EQ(StateOf(actor), rpc::ACTOR_PENDING_CREATION);
  node_.Finish(worker, actor, "handle");
  EXPECT_EQ(StateOf(actor), rpc::ACTOR_ALIVE);

  node_.WorkerDies(worker);
  EXPECT_EQ(StateOf(actor), rpc::ACTOR_RESTARTING) << "it has a restart left";
  ASSERT_TRUE(node_.gcs().LookupNamedActor("ns", "counter").has_value())
      << "a restarting actor keeps its name";
  const ClientId fresh = node_.RegisterWorker();
  node_.Executed(fresh);
  node_.Finish(fresh, actor, "handle");
  EXPECT_EQ(StateOf(actor), rpc::ACTOR_ALIVE);

  rpc::KillActor kill;
  kill.set_actor_id(actor.Binary());
  kill.set_no_restart(true);
  node_.manager().OnKillActor(kill);
  EXPECT_FALSE(node_.gcs().LookupNamedActor("ns", "counter").has_value())
      << "a killed actor's name is free";
}

}  // namespace
}  // namespace flare
