// Specification of the raylet's GCS request handling: local clients' KV,
// named-actor and placement-group-table requests answered through a
// GcsClient, each reply to the client that asked, whether the GCS answers
// at once (in process) or later (as a remote GCS will). No sockets.
#include "raylet/gcs_requests.h"

#include <deque>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "gcs/gcs.h"
#include "gcs/in_process_gcs_client.h"
#include "gcs/memory_store.h"

namespace flare {
namespace {

// A GcsClient whose answers arrive only when the test says, as over a
// network: results are computed by the in-process client, callbacks queued.
class DeferredGcsClient : public GcsClient {
 public:
  explicit DeferredGcsClient(GcsClient& inner) : inner_(inner) {}

  // Runs the queued callbacks, oldest first; returns how many ran.
  size_t Deliver() {
    size_t ran = 0;
    while (!pending_.empty()) {
      auto next = std::move(pending_.front());
      pending_.pop_front();
      next();
      ++ran;
    }
    return ran;
  }

  void RegisterNode(const rpc::NodeInfo& node, StatusCallback done) override {
    inner_.RegisterNode(node, Defer(std::move(done)));
  }
  void GetAllNodes(Callback<std::vector<rpc::NodeInfo>> done) override {
    inner_.GetAllNodes(Defer(std::move(done)));
  }
  void ReportResources(const NodeId& node, const rpc::ResourceSet& available) override {
    inner_.ReportResources(node, available);
  }
  void SubscribeClusterView(
      std::function<void(const std::vector<rpc::NodeInfo>&)> on_view) override {
    inner_.SubscribeClusterView(std::move(on_view));
  }
  void KvPut(const std::string& key, std::string value, bool overwrite,
             Callback<bool> done) override {
    inner_.KvPut(key, std::move(value), overwrite, Defer(std::move(done)));
  }
  void KvGet(const std::string& key, Callback<std::optional<std::string>> done) override {
    inner_.KvGet(key, Defer(std::move(done)));
  }
  void KvDelete(const std::string& key, Callback<bool> done) override {
    inner_.KvDelete(key, Defer(std::move(done)));
  }
  void AddJob(rpc::JobInfo job, Callback<JobId> done) override {
    inner_.AddJob(std::move(job), Defer(std::move(done)));
  }
  void MarkJobFinished(const JobId& job, StatusCallback done) override {
    inner_.MarkJobFinished(job, Defer(std::move(done)));
  }
  void RegisterActor(rpc::ActorInfo actor, StatusCallback done) override {
    inner_.RegisterActor(std::move(actor), Defer(std::move(done)));
  }
  void ReportActorState(const ActorId& actor, rpc::ActorState state, StatusCallback done) override {
    inner_.ReportActorState(actor, state, Defer(std::move(done)));
  }
  void LookupNamedActor(const std::string& name_space, const std::string& name,
                        Callback<std::optional<rpc::ActorInfo>> done) override {
    inner_.LookupNamedActor(name_space, name, Defer(std::move(done)));
  }
  void ListNamedActors(const std::optional<std::string>& name_space,
                       Callback<std::vector<rpc::ActorInfo>> done) override {
    inner_.ListNamedActors(name_space, Defer(std::move(done)));
  }
  void AddPlacementGroup(rpc::PlacementGroupInfo group, StatusCallback done) override {
    inner_.AddPlacementGroup(std::move(group), Defer(std::move(done)));
  }
  void ReportPlacementGroupCreated(const PlacementGroupId& group, std::vector<NodeId> bundle_nodes,
                                   StatusCallback done) override {
    inner_.ReportPlacementGroupCreated(group, std::move(bundle_nodes), Defer(std::move(done)));
  }
  void ReportPlacementGroupInfeasible(const PlacementGroupId& group, StatusCallback done) override {
    inner_.ReportPlacementGroupInfeasible(group, Defer(std::move(done)));
  }
  void ReportPlacementGroupRescheduling(const PlacementGroupId& group,
                                       StatusCallback done) override {
    inner_.ReportPlacementGroupRescheduling(group, Defer(std::move(done)));
  }
  void ReportPlacementGroupRemoved(const PlacementGroupId& group, StatusCallback done) override {
    inner_.ReportPlacementGroupRemoved(group, Defer(std::move(done)));
  }
  void GetPlacementGroups(const std::optional<PlacementGroupId>& group,
                          Callback<std::vector<rpc::PlacementGroupInfo>> done) override {
    inner_.GetPlacementGroups(group, Defer(std::move(done)));
  }
  void LookupNamedPlacementGroup(const std::string& name_space, const std::string& name,
                                 Callback<std::optional<rpc::PlacementGroupInfo>> done) override {
    inner_.LookupNamedPlacementGroup(name_space, name, Defer(std::move(done)));
  }
  void GetJob(const JobId& job, Callback<std::optional<rpc::JobInfo>> done) override {
    inner_.GetJob(job, Defer(std::move(done)));
  }

 private:
  template <typename Result>
  std::function<void(Result)> Defer(std::function<void(Result)> done) {
    if (!done) return nullptr;
    return [this, done = std::move(done)](Result result) {
      pending_.push_back([done, result = std::move(result)]() mutable { done(std::move(result)); });
    };
  }

  GcsClient& inner_;
  std::deque<std::function<void()>> pending_;
};

struct Sent {
  ClientId client;
  rpc::Message reply;
};

// The local clients, recording what is sent to them.
class RecordingClients : public ClientChannel {
 public:
  void Send(ClientId client, const rpc::Message& message) override {
    sent.push_back({client, message});
  }
  const ClientInfo* Find(ClientId) const override { return nullptr; }
  std::vector<ClientId> All() const override { return {}; }

  std::vector<Sent> sent;
};

class GcsRequestsTest : public ::testing::Test {
 protected:
  rpc::RegisterPlacementGroup RegisterGroup(uint64_t request_id, const PlacementGroupId& id,
                                            const std::string& name) {
    rpc::RegisterPlacementGroup request;
    request.set_request_id(request_id);
    request.mutable_group()->set_pg_id(id.Binary());
    request.mutable_group()->set_namespace_("ns");
    request.mutable_group()->set_name(name);
    return request;
  }

  rpc::RegisterActorName RegisterName(uint64_t request_id, const ActorId& id,
                                      const std::string& name) {
    rpc::RegisterActorName request;
    request.set_request_id(request_id);
    request.mutable_actor()->set_actor_id(id.Binary());
    request.mutable_actor()->set_namespace_("ns");
    request.mutable_actor()->set_name(name);
    request.mutable_actor()->set_class_name("Counter");
    return request;
  }

  Gcs gcs_{std::make_unique<MemoryStore>()};
  InProcessGcsClient in_process_{gcs_};
  DeferredGcsClient deferred_{in_process_};
  RecordingClients clients_;
  std::vector<Sent>& sent_ = clients_.sent;
  GcsRequests requests_{deferred_, clients_};
};

TEST_F(GcsRequestsTest, RepliesWaitForTheGcsAndGoToTheClientThatAsked) {
  rpc::KvPut put;
  put.set_key("fn:1");
  put.set_value("code");
  put.set_request_id(7);
  requests_.KvPut(3, put);
  EXPECT_TRUE(sent_.empty()) << "no reply before the GCS answers";
  deferred_.Deliver();
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].client, 3u);
  EXPECT_EQ(sent_[0].reply.kv_reply().request_id(), 7u);
  EXPECT_FALSE(sent_[0].reply.kv_reply().found()) << "the key was new: it was written";

  rpc::KvGet get;
  get.set_key("fn:1");
  get.set_request_id(8);
  requests_.KvGet(4, get);
  deferred_.Deliver();
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1].client, 4u);
  EXPECT_TRUE(sent_[1].reply.kv_reply().found());
  EXPECT_EQ(sent_[1].reply.kv_reply().value(), "code");
}

TEST_F(GcsRequestsTest, PutWithoutRequestIdIsNotAnswered) {
  rpc::KvPut put;
  put.set_key("k");
  put.set_value("v");
  requests_.KvPut(1, put);
  deferred_.Deliver();
  EXPECT_TRUE(sent_.empty());
  EXPECT_EQ(**gcs_.KvGet("k"), "v");
}

TEST_F(GcsRequestsTest, TakenNameIsAnsweredWithTheActorHoldingIt) {
  const ActorId first = ActorId::FromRandom();
  {
    auto request = RegisterName(1, first, "counter");
    requests_.RegisterActorName(1, request);
  }
  {
    auto request = RegisterName(2, ActorId::FromRandom(), "counter");
    requests_.RegisterActorName(2, request);
  }
  deferred_.Deliver();
  ASSERT_EQ(sent_.size(), 2u);
  const auto& won = sent_[0].reply.register_actor_name_reply();
  EXPECT_EQ(sent_[0].client, 1u);
  EXPECT_TRUE(won.registered());
  const auto& lost = sent_[1].reply.register_actor_name_reply();
  EXPECT_EQ(sent_[1].client, 2u);
  EXPECT_EQ(lost.request_id(), 2u);
  EXPECT_FALSE(lost.registered());
  EXPECT_TRUE(lost.error().empty()) << "a taken name is an answer, not an error";
  EXPECT_EQ(lost.existing().actor_id(), first.Binary());
  EXPECT_EQ(lost.existing().class_name(), "Counter");
}

TEST_F(GcsRequestsTest, RefusedRecordIsAnError) {
  {
    auto request = RegisterName(1, ActorId::FromRandom(), "");
    requests_.RegisterActorName(1, request);
  }
  deferred_.Deliver();
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_FALSE(sent_[0].reply.register_actor_name_reply().registered());
  EXPECT_FALSE(sent_[0].reply.register_actor_name_reply().error().empty());
}

TEST_F(GcsRequestsTest, LookupAndListFindLiveNamedActors) {
  const ActorId id = ActorId::FromRandom();
  {
    auto request = RegisterName(1, id, "counter");
    requests_.RegisterActorName(1, request);
  }
  rpc::LookupActor lookup;
  lookup.set_request_id(2);
  lookup.set_namespace_("ns");
  lookup.set_name("counter");
  requests_.LookupActor(1, lookup);
  rpc::ListNamedActors list;
  list.set_request_id(3);
  list.set_namespace_("other");
  requests_.ListNamedActors(1, list);
  list.set_request_id(4);
  list.set_all_namespaces(true);
  requests_.ListNamedActors(1, list);
  deferred_.Deliver();
  ASSERT_EQ(sent_.size(), 4u);
  EXPECT_TRUE(sent_[1].reply.lookup_actor_reply().found());
  EXPECT_EQ(sent_[1].reply.lookup_actor_reply().actor().actor_id(), id.Binary());
  EXPECT_EQ(sent_[2].reply.list_named_actors_reply().actors_size(), 0)
      << "another namespace has no actors";
  EXPECT_EQ(sent_[3].reply.list_named_actors_reply().actors_size(), 1);

  ASSERT_TRUE(gcs_.ReportActorState(id, rpc::ACTOR_DEAD).ok());
  lookup.set_request_id(5);
  requests_.LookupActor(1, lookup);
  deferred_.Deliver();
  EXPECT_FALSE(sent_.back().reply.lookup_actor_reply().found()) << "the dead lose their name";
}

TEST_F(GcsRequestsTest, PlacementGroupTableReadsTheGcsRecords) {
  const PlacementGroupId group = PlacementGroupId::FromRandom();
  rpc::PlacementGroupInfo info;
  info.set_pg_id(group.Binary());
  ASSERT_TRUE(gcs_.AddPlacementGroup(info).ok());
  rpc::PlacementGroupTableRequest request;
  request.set_request_id(9);
  requests_.PlacementGroupTable(2, request);
  request.set_pg_id(PlacementGroupId::FromRandom().Binary());
  requests_.PlacementGroupTable(2, request);
  deferred_.Deliver();
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[0].reply.placement_group_table_reply().request_id(), 9u);
  EXPECT_EQ(sent_[0].reply.placement_group_table_reply().groups_size(), 1);
  EXPECT_EQ(sent_[1].reply.placement_group_table_reply().groups_size(), 0);
}

TEST_F(GcsRequestsTest, ANamedGroupTakesItsNameAndIsFoundByIt) {
  const PlacementGroupId first = PlacementGroupId::FromRandom();
  {
    auto request = RegisterGroup(1, first, "workers");
    requests_.RegisterPlacementGroup(1, request);
    request = RegisterGroup(2, PlacementGroupId::FromRandom(), "workers");
    requests_.RegisterPlacementGroup(2, request);
  }
  rpc::PlacementGroupTableRequest by_name;
  by_name.set_request_id(3);
  by_name.set_namespace_("ns");
  by_name.set_name("workers");
  requests_.PlacementGroupTable(1, by_name);
  by_name.set_request_id(4);
  by_name.set_namespace_("other");
  requests_.PlacementGroupTable(1, by_name);
  EXPECT_TRUE(sent_.empty()) << "no reply before the GCS answers";
  deferred_.Deliver();
  ASSERT_EQ(sent_.size(), 4u);
  EXPECT_TRUE(sent_[0].reply.register_placement_group_reply().registered());
  const auto& lost = sent_[1].reply.register_placement_group_reply();
  EXPECT_EQ(sent_[1].client, 2u);
  EXPECT_EQ(lost.request_id(), 2u);
  EXPECT_FALSE(lost.registered());
  EXPECT_TRUE(lost.error().empty()) << "a taken name is an answer, not an error";
  const auto& found = sent_[2].reply.placement_group_table_reply();
  EXPECT_EQ(found.request_id(), 3u);
  ASSERT_EQ(found.groups_size(), 1);
  EXPECT_EQ(found.groups(0).pg_id(), first.Binary());
  EXPECT_EQ(sent_[3].reply.placement_group_table_reply().groups_size(), 0)
      << "another namespace does not see it";
}

TEST_F(GcsRequestsTest, ARefusedGroupIsAnError) {
  auto request = RegisterGroup(1, PlacementGroupId::FromRandom(), "workers");
  request.mutable_group()->set_pg_id("short");
  requests_.RegisterPlacementGroup(1, request);
  deferred_.Deliver();
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_FALSE(sent_[0].reply.register_placement_group_reply().registered());
  EXPECT_FALSE(sent_[0].reply.register_placement_group_reply().error().empty());
}

TEST_F(GcsRequestsTest, AJobsRecordComesFromTheJobTable) {
  rpc::JobInfo driver;
  driver.set_namespace_("ns");
  driver.set_config("config");
  const JobId job = gcs_.AddJob(driver).value();
  rpc::JobInfoRequest request;
  request.set_request_id(5);
  request.set_job_id(job.Binary());
  requests_.JobInfo(6, request);
  request.set_request_id(7);
  request.set_job_id(JobId().Binary());
  requests_.JobInfo(6, request);
  deferred_.Deliver();
  ASSERT_EQ(sent_.size(), 2u);
  const auto& known = sent_[0].reply.job_info_reply();
  EXPECT_EQ(sent_[0].client, 6u);
  EXPECT_EQ(known.request_id(), 5u);
  ASSERT_TRUE(known.found());
  EXPECT_EQ(known.job().config(), "config");
  EXPECT_EQ(known.job().namespace_(), "ns");
  EXPECT_FALSE(sent_[1].reply.job_info_reply().found()) << "an unknown job";
  EXPECT_TRUE(sent_[1].reply.job_info_reply().error().empty());
}

}  // namespace
}  // namespace flare
