// Specification of the GCS and its in-process client: KV over the injected
// store, jobs timed by the injected clock, the actor directory and
// placement-group records behind one facade, and the GcsClient callback
// contract (called once, before returning, errors passed through). No I/O.
#include "gcs/gcs.h"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gcs/in_process_gcs_client.h"
#include "gcs/memory_store.h"
#include "gcs_test_store.h"

namespace flare {
namespace {

class GcsTest : public ::testing::Test {
 protected:
  GcsOptions Options() {
    GcsOptions options;
    options.now_ms = [this] { return now_ms_; };
    return options;
  }

  int64_t now_ms_ = 1000;
  Gcs gcs_{std::make_unique<MemoryStore>(), Options()};
  InProcessGcsClient client_{gcs_};
};

TEST(MemoryStoreTest, TablesAreSeparateAndPutCanKeepTheOldValue) {
  MemoryStore store;
  EXPECT_TRUE(*store.Put("a", "k", "1", false));
  EXPECT_FALSE(*store.Put("a", "k", "2", false)) << "without overwrite the value stays";
  EXPECT_EQ(**store.Get("a", "k"), "1");
  EXPECT_TRUE(*store.Put("a", "k", "3", true));
  EXPECT_EQ(**store.Get("a", "k"), "3");
  EXPECT_FALSE(store.Get("b", "k")->has_value()) << "tables do not share keys";
  EXPECT_TRUE(*store.Delete("a", "k"));
  EXPECT_FALSE(*store.Delete("a", "k"));
  EXPECT_FALSE(store.Get("a", "k")->has_value());
}

TEST_F(GcsTest, KvPutGetDeleteThroughTheClient) {
  std::vector<bool> written;
  client_.KvPut("fn:1", "code", false, [&](absl::StatusOr<bool> r) { written.push_back(*r); });
  client_.KvPut("fn:1", "other", false, [&](absl::StatusOr<bool> r) { written.push_back(*r); });
  EXPECT_EQ(written, (std::vector<bool>{true, false})) << "each callback ran before returning";
  std::optional<std::string> value;
  client_.KvGet("fn:1", [&](absl::StatusOr<std::optional<std::string>> r) { value = *r; });
  EXPECT_EQ(value, "code");
  bool existed = false;
  client_.KvDelete("fn:1", [&](absl::StatusOr<bool> r) { existed = *r; });
  EXPECT_TRUE(existed);
  client_.KvGet("fn:1", [&](absl::StatusOr<std::optional<std::string>> r) { value = *r; });
  EXPECT_FALSE(value.has_value());
}

TEST_F(GcsTest, RequestsWithoutCallbackAreStillApplied) {
  client_.KvPut("k", "v", true, nullptr);
  client_.AddPlacementGroup(rpc::PlacementGroupInfo(), nullptr);
  EXPECT_EQ(**gcs_.KvGet("k"), "v");
}

TEST(GcsStoreErrorTest, StoreErrorsReachTheCaller) {
  MemoryStore backing;
  const bool broken = true;
  Gcs gcs(std::make_unique<testing::TestStore>(backing, &broken));
  InProcessGcsClient client(gcs);
  absl::Status put;
  client.KvPut("k", "v", true, [&](absl::StatusOr<bool> r) { put = r.status(); });
  EXPECT_TRUE(absl::IsUnavailable(put)) << put;
  absl::Status get;
  client.KvGet("k", [&](absl::StatusOr<std::optional<std::string>> r) { get = r.status(); });
  EXPECT_NE(get.message().find("disk gone"), std::string::npos) << get;
  absl::Status job;
  client.AddJob(rpc::JobInfo(), [&](absl::StatusOr<JobId> r) { job = r.status(); });
  EXPECT_TRUE(absl::IsUnavailable(job)) << "table writes fail the same way: " << job;
  absl::Status node;
  rpc::NodeInfo info;
  info.set_node_id(NodeId::FromRandom().Binary());
  client.RegisterNode(info, [&](absl::Status s) { node = s; });
  EXPECT_TRUE(absl::IsUnavailable(node)) << node;
  EXPECT_TRUE(gcs.GetAllNodes().empty());
}

TEST_F(GcsTest, NodesRegisterAndUpdateByNodeId) {
  rpc::NodeInfo node;
  const NodeId id = NodeId::FromRandom();
  node.set_node_id(id.Binary());
  node.set_alive(true);
  client_.RegisterNode(node, [](absl::Status s) { EXPECT_TRUE(s.ok()); });
  node.set_address("/tmp/raylet.sock");
  client_.RegisterNode(node, nullptr);
  std::vector<rpc::NodeInfo> nodes;
  client_.GetAllNodes([&](absl::StatusOr<std::vector<rpc::NodeInfo>> r) { nodes = *r; });
  ASSERT_EQ(nodes.size(), 1u) << "one record per node id";
  EXPECT_EQ(nodes[0].address(), "/tmp/raylet.sock");
}

TEST_F(GcsTest, JobsAreTimedByTheInjectedClock) {
  rpc::JobInfo driver;
  driver.set_driver_pid(42);
  driver.set_namespace_("ns");
  JobId id;
  client_.AddJob(driver, [&](absl::StatusOr<JobId> r) { id = *r; });
  now_ms_ = 5000;
  client_.MarkJobFinished(id, nullptr);
  auto jobs = gcs_.GetAllJobs();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].job_id(), id.Binary());
  EXPECT_EQ(jobs[0].driver_pid(), 42);
  EXPECT_EQ(jobs[0].namespace_(), "ns");
  EXPECT_EQ(jobs[0].start_time_ms(), 1000);
  EXPECT_EQ(jobs[0].end_time_ms(), 5000);
  EXPECT_TRUE(jobs[0].is_dead());
}

TEST_F(GcsTest, NamedActorLifecycleThroughTheClient) {
  const ActorId id = ActorId::FromRandom();
  rpc::ActorInfo actor;
  actor.set_actor_id(id.Binary());
  actor.set_namespace_("ns");
  actor.set_name("counter");
  absl::Status registered;
  client_.RegisterActor(actor, [&](absl::Status s) { registered = s; });
  ASSERT_TRUE(registered.ok()) << registered;
  actor.set_actor_id(ActorId::FromRandom().Binary());
  client_.RegisterActor(actor, [&](absl::Status s) { registered = s; });
  EXPECT_TRUE(absl::IsAlreadyExists(registered)) << registered;

  client_.ReportActorState(id, rpc::ACTOR_ALIVE, nullptr);
  std::optional<rpc::ActorInfo> found;
  client_.LookupNamedActor("ns", "counter",
                           [&](absl::StatusOr<std::optional<rpc::ActorInfo>> r) { found = *r; });
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->actor_id(), id.Binary());
  EXPECT_EQ(found->state(), rpc::ACTOR_ALIVE);

  std::vector<rpc::ActorInfo> listed;
  client_.ListNamedActors(std::nullopt,
                          [&](absl::StatusOr<std::vector<rpc::ActorInfo>> r) { listed = *r; });
  EXPECT_EQ(listed.size(), 1u);

  client_.ReportActorState(id, rpc::ACTOR_DEAD, nullptr);
  client_.LookupNamedActor("ns", "counter",
                           [&](absl::StatusOr<std::optional<rpc::ActorInfo>> r) { found = *r; });
  EXPECT_FALSE(found.has_value()) << "a dead actor cannot be looked up";
  client_.ListNamedActors(std::string("ns"),
                          [&](absl::StatusOr<std::vector<rpc::ActorInfo>> r) { listed = *r; });
  EXPECT_TRUE(listed.empty());
}

TEST_F(GcsTest, PlacementGroupRecordsFollowTheReports) {
  const PlacementGroupId group = PlacementGroupId::FromRandom();
  const NodeId node = NodeId::FromRandom();
  rpc::PlacementGroupInfo info;
  info.set_pg_id(group.Binary());
  info.set_name("g");
  info.add_bundles();
  client_.AddPlacementGroup(info, nullptr);
  client_.ReportPlacementGroupCreated(group, {node}, nullptr);
  std::vector<rpc::PlacementGroupInfo> groups;
  client_.GetPlacementGroups(group, [&](absl::StatusOr<std::vector<rpc::PlacementGroupInfo>> r) {
    groups = *r;
  });
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].state(), rpc::PG_CREATED);
  EXPECT_EQ(groups[0].bundle_node_ids(0), node.Binary());

  client_.ReportPlacementGroupRemoved(group, nullptr);
  client_.GetPlacementGroups(std::nullopt,
                             [&](absl::StatusOr<std::vector<rpc::PlacementGroupInfo>> r) {
                               groups = *r;
                             });
  ASSERT_EQ(groups.size(), 1u) << "a removed group is remembered";
  EXPECT_EQ(groups[0].state(), rpc::PG_REMOVED);
  client_.GetPlacementGroups(PlacementGroupId::FromRandom(),
                             [&](absl::StatusOr<std::vector<rpc::PlacementGroupInfo>> r) {
                               groups = *r;
                             });
  EXPECT_TRUE(groups.empty()) << "an unknown group has no record";
}

TEST_F(GcsTest, AJobsRecordCarriesItsConfigAndNamespace) {
  rpc::JobInfo driver;
  driver.set_namespace_("ns");
  driver.set_config("pickled sys.path");
  JobId id;
  client_.AddJob(driver, [&](absl::StatusOr<JobId> r) { id = *r; });
  std::optional<rpc::JobInfo> job;
  client_.GetJob(id, [&](absl::StatusOr<std::optional<rpc::JobInfo>> r) { job = *r; });
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->config(), "pickled sys.path");
  EXPECT_EQ(job->namespace_(), "ns");
  client_.GetJob(JobId(), [&](absl::StatusOr<std::optional<rpc::JobInfo>> r) { job = *r; });
  EXPECT_FALSE(job.has_value()) << "an unknown job has no record";
}

TEST_F(GcsTest, NamedPlacementGroupsAreFoundByNameInTheirNamespace) {
  rpc::PlacementGroupInfo info;
  const PlacementGroupId group = PlacementGroupId::FromRandom();
  info.set_pg_id(group.Binary());
  info.set_name("workers");
  info.set_namespace_("ns");
  absl::Status added;
  client_.AddPlacementGroup(info, [&](absl::Status s) { added = s; });
  ASSERT_TRUE(added.ok()) << added;
  info.set_pg_id(PlacementGroupId::FromRandom().Binary());
  client_.AddPlacementGroup(info, [&](absl::Status s) { added = s; });
  EXPECT_TRUE(absl::IsAlreadyExists(added)) << added;

  std::optional<rpc::PlacementGroupInfo> found;
  auto lookup = [&](const std::string& name_space) {
    client_.LookupNamedPlacementGroup(
        name_space, "workers",
        [&](absl::StatusOr<std::optional<rpc::PlacementGroupInfo>> r) { found = *r; });
  };
  lookup("ns");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->pg_id(), group.Binary());
  lookup("other");
  EXPECT_FALSE(found.has_value()) << "another namespace does not see it";
  client_.ReportPlacementGroupRemoved(group, nullptr);
  lookup("ns");
  EXPECT_FALSE(found.has_value()) << "a removed group is not found by name";
}

}  // namespace
}  // namespace flare
