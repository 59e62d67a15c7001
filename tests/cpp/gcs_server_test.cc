// Specification of the GCS protocol without sockets: a RemoteGcsClient on a
// "node" talks to a GcsServer on the "head" through queues standing in for
// the stream, so every call is encoded, served and decoded as over gRPC.
// Covers membership (register first, version check, stream end, silence),
// the cluster view pushed to every node, and calls failing when the
// connection goes.
#include "gcs/gcs_server.h"

#include <cmath>
#include <deque>
#include <functional>
#include <limits>
#include <optional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "gcs/gcs_wire.h"
#include "gcs/in_process_gcs_client.h"
#include "gcs/memory_store.h"

namespace flare {
namespace {

using Clock = GcsServer::Clock;

class GcsServerTest : public ::testing::Test, public GcsServer::Sink {
 protected:
  // One node's end: its client and the stream id the head knows it by.
  struct Node {
    GcsServer::StreamId stream;
    std::deque<rpc::GcsRequest> to_head;
    std::unique_ptr<RemoteGcsClient> client;
    std::vector<std::vector<rpc::NodeInfo>> views;
    std::vector<rpc::GcsReply> replies;  // every reply the head sent, in order
    std::string closed_because;  // set when the head closed its stream
  };

  Node& Connect() {
    auto node = std::make_unique<Node>();
    node->stream = next_stream_++;
    Node* raw = node.get();
    node->client = std::make_unique<RemoteGcsClient>([raw](rpc::GcsRequest request) {
      raw->to_head.push_back(std::move(request));
      return true;
    });
    node->client->SubscribeClusterView(
        [raw](const std::vector<rpc::NodeInfo>& view) { raw->views.push_back(view); });
    nodes_.push_back(std::move(node));
    return *raw;
  }

  // Carries every queued message both ways until nothing moves.
  void Pump() {
    bool moved = true;
    while (moved) {
      moved = false;
      for (auto& node : nodes_) {
        while (!node->to_head.empty()) {
          rpc::GcsRequest request = std::move(node->to_head.front());
          node->to_head.pop_front();
          server_.OnRequest(node->stream, request, now_);
          moved = true;
        }
      }
      while (!to_nodes_.empty()) {
        auto [stream, push] = std::move(to_nodes_.front());
        to_nodes_.pop_front();
        for (auto& node : nodes_) {
          if (node->stream != stream) continue;
          if (push.has_reply()) node->replies.push_back(push.reply());
          node->client->OnPush(push);
        }
        moved = true;
      }
    }
  }

  // GcsServer::Sink
  void Push(GcsServer::StreamId stream, rpc::GcsPush push) override {
    to_nodes_.emplace_back(stream, std::move(push));
  }
  void Close(GcsServer::StreamId stream, const std::string& why) override {
    for (auto& node : nodes_) {
      if (node->stream == stream) node->closed_because = why;
    }
  }

  rpc::NodeInfo Record(const NodeId& id, const std::string& version = "1.0") {
    rpc::NodeInfo info;
    info.set_node_id(id.Binary());
    info.set_alive(true);
    info.set_version(version);
    (*info.mutable_total()->mutable_amounts())["CPU"] = 1;
    return info;
  }

  absl::Status Register(Node& node, const NodeId& id, const std::string& version = "1.0") {
    absl::Status result = absl::UnknownError("no reply");
    node.client->RegisterNode(Record(id, version), [&](absl::Status s) { result = s; });
    Pump();
    return result;
  }

  const rpc::NodeInfo* InView(const Node& node, const NodeId& id) {
    if (node.views.empty()) return nullptr;
    for (const auto& info : node.views.back()) {
      if (info.node_id() == id.Binary()) return &info;
    }
    return nullptr;
  }

  Clock::time_point now_ = Clock::time_point() + std::chrono::hours(1);
  Gcs gcs_{std::make_unique<MemoryStore>()};
  InProcessGcsClient local_{gcs_};
  GcsServer server_{gcs_, local_, *this, {"1.0", std::chrono::milliseconds(5000)}};
  GcsServer::StreamId next_stream_ = 1;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::deque<std::pair<GcsServer::StreamId, rpc::GcsPush>> to_nodes_;
};

TEST_F(GcsServerTest, ANodeMustRegisterBeforeAnythingElse) {
  Node& node = Connect();
  absl::Status status;
  node.client->KvPut("k", "v", true, [&](absl::StatusOr<bool> r) { status = r.status(); });
  Pump();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_NE(status.message().find("register"), std::string::npos) << status;
  EXPECT_FALSE(node.closed_because.empty()) << "a stream that breaks the protocol is closed";
  // What it sends after that is dropped: it does not become a member.
  node.client->RegisterNode(Record(NodeId::FromRandom()), nullptr);
  Pump();
  EXPECT_EQ(server_.connected_nodes(), 0u);
}

TEST_F(GcsServerTest, ANodeOfAnotherVersionIsRefusedNamingBothVersions) {
  Node& node = Connect();
  absl::Status status = Register(node, NodeId::FromRandom(), "0.9");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("0.9"), std::string::npos) << status;
  EXPECT_NE(status.message().find("1.0"), std::string::npos) << status;
  EXPECT_FALSE(node.closed_because.empty()) << "its stream is closed";
  EXPECT_EQ(server_.connected_nodes(), 0u);
}

// A request sent as it is, bypassing the client's encoding: what a buggy or
// hostile node could put on the stream.
rpc::GcsRequest Raw(uint64_t id, const std::function<void(rpc::GcsRequest&)>& fill) {
  rpc::GcsRequest request;
  request.set_request_id(id);
  fill(request);
  return request;
}

TEST_F(GcsServerTest, AMalformedRegistrationIsRefusedAndItsStreamClosed) {
  Node& short_id = Connect();
  rpc::NodeInfo record = Record(NodeId::FromRandom());
  record.set_node_id("short");
  absl::Status status;
  short_id.client->RegisterNode(record, [&](absl::Status s) { status = s; });
  Pump();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_NE(status.message().find("node_id"), std::string::npos) << status;
  EXPECT_FALSE(short_id.closed_because.empty());

  Node& bad_amount = Connect();
  record = Record(NodeId::FromRandom());
  (*record.mutable_total()->mutable_amounts())["CPU"] = std::nan("");
  bad_amount.client->RegisterNode(record, [&](absl::Status s) { status = s; });
  Pump();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_NE(status.message().find("CPU"), std::string::npos) << status;
  EXPECT_FALSE(bad_amount.closed_because.empty());

  EXPECT_EQ(server_.connected_nodes(), 0u) << "neither became a member";
  EXPECT_TRUE(gcs_.GetAllNodes().empty()) << "nor was recorded";
}

TEST_F(GcsServerTest, ANodeCannotTakeTheIdOfALiveNodeNorKillItByLeaving) {
  // The head's own node registers in process; another node on a stream.
  const NodeId head = NodeId::FromRandom(), member = NodeId::FromRandom();
  ASSERT_TRUE(gcs_.RegisterNode(Record(head)).ok());
  Node& honest = Connect();
  ASSERT_TRUE(Register(honest, member).ok());

  for (const NodeId& taken : {head, member}) {
    Node& impostor = Connect();
    absl::Status status = Register(impostor, taken);
    EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << status;
    EXPECT_NE(status.message().find(taken.Hex()), std::string::npos) << status;
    EXPECT_FALSE(impostor.closed_because.empty()) << "the impostor's stream is closed";
    server_.OnStreamClosed(impostor.stream);  // ... and ends
  }
  gcs_.FlushView();
  Pump();
  ASSERT_NE(InView(honest, head), nullptr);
  EXPECT_TRUE(InView(honest, head)->alive()) << "the head is not dead because an impostor left";
  EXPECT_TRUE(InView(honest, member)->alive());
  EXPECT_EQ(server_.connected_nodes(), 1u);
}

TEST_F(GcsServerTest, ANodeSpeaksOnlyForItself) {
  Node& a = Connect();
  Node& b = Connect();
  const NodeId id_a = NodeId::FromRandom(), id_b = NodeId::FromRandom();
  ASSERT_TRUE(Register(a, id_a).ok());
  ASSERT_TRUE(Register(b, id_b).ok());
  rpc::ResourceSet lie;
  (*lie.mutable_amounts())["CPU"] = 64;
  a.client->ReportResources(id_b, lie);
  absl::Status reregistered = Register(a, id_b);
  gcs_.FlushView();
  Pump();
  EXPECT_EQ(reregistered.code(), absl::StatusCode::kPermissionDenied) << reregistered;
  ASSERT_NE(InView(b, id_b), nullptr);
  EXPECT_EQ(InView(b, id_b)->available().amounts().count("CPU"), 0u)
      << "a cannot report b's resources";
  EXPECT_TRUE(InView(b, id_a)->alive());
  EXPECT_TRUE(a.closed_because.empty()) << "a refused request does not end a member";
}

TEST_F(GcsServerTest, MalformedIdsAndAmountsAreAnsweredNamingTheFieldAndTheStreamServesOn) {
  Node& node = Connect();
  const NodeId id = NodeId::FromRandom();
  ASSERT_TRUE(Register(node, id).ok());
  const std::vector<std::pair<std::string, rpc::GcsRequest>> requests = {
      {"mark_job_finished", Raw(101, [](auto& r) { r.set_mark_job_finished("abc"); })},
      {"get_job", Raw(102, [](auto& r) { r.set_get_job(std::string(5, 'j')); })},
      {"report_actor_state.actor_id",
       Raw(103, [](auto& r) { r.mutable_report_actor_state()->set_actor_id("x"); })},
      {"placement_group_created.node_id",
       Raw(104,
           [](auto& r) {
             r.mutable_placement_group_created()->set_pg_id(PlacementGroupId().Binary());
             r.mutable_placement_group_created()->set_node_id("n");
           })},
      {"placement_group_removed", Raw(105, [](auto& r) { r.set_placement_group_removed("p"); })},
      {"get_placement_groups.pg_id",
       Raw(106, [](auto& r) { r.mutable_get_placement_groups()->set_pg_id("zz"); })},
      {"add_placement_group.bundles",
       Raw(107,
           [](auto& r) {
             r.mutable_add_placement_group()->set_pg_id(PlacementGroupId::FromRandom().Binary());
             (*r.mutable_add_placement_group()->add_bundles()->mutable_amounts())["CPU"] = -1;
           })},
  };
  for (const auto& [field, request] : requests) node.to_head.push_back(request);
  // A resource report has no reply: a malformed one is dropped.
  node.to_head.push_back(Raw(108, [&](auto& r) {
    r.mutable_resource_report()->set_node_id(id.Binary());
    (*r.mutable_resource_report()->mutable_available()->mutable_amounts())["CPU"] =
        std::numeric_limits<double>::infinity();
  }));
  Pump();
  ASSERT_EQ(node.replies.size(), requests.size() + 1) << "one reply each (and the registration)";
  for (size_t i = 0; i < requests.size(); ++i) {
    const rpc::GcsReply& reply = node.replies[i + 1];
    SCOPED_TRACE(requests[i].first);
    EXPECT_EQ(reply.request_id(), requests[i].second.request_id());
    EXPECT_EQ(reply.status_code(), static_cast<int32_t>(absl::StatusCode::kInvalidArgument));
    EXPECT_NE(reply.status_message().find(requests[i].first), std::string::npos)
        << reply.status_message();
  }
  gcs_.FlushView();
  Pump();
  EXPECT_EQ(InView(node, id)->available().amounts().count("CPU"), 0u)
      << "the infinite report was dropped";
  EXPECT_TRUE(gcs_.GetPlacementGroups(std::nullopt).empty());
  EXPECT_TRUE(node.closed_because.empty()) << "a malformed request does not end the member";
  std::optional<bool> written;
  node.client->KvPut("k", "v", true, [&](absl::StatusOr<bool> r) { written = r.ok() && *r; });
  Pump();
  EXPECT_EQ(written, true) << "the stream serves on";
}

TEST_F(GcsServerTest, AnAnswerTooLargeForTheStreamIsRefusedAndTheStreamServesOn) {
  Node& node = Connect();
  ASSERT_TRUE(Register(node, NodeId::FromRandom()).ok());
  // Written on the head (in process, no stream limit), read by a node.
  ASSERT_TRUE(gcs_.KvPut("big", std::string((64 << 20) + 1, 'b'), true).ok());
  ASSERT_TRUE(gcs_.KvPut("small", "s", true).ok());
  absl::Status big;
  std::optional<std::string> small;
  node.client->KvGet("big", [&](absl::StatusOr<std::optional<std::string>> r) {
    big = r.status();
  });
  node.client->KvGet("small", [&](absl::StatusOr<std::optional<std::string>> r) {
    if (r.ok() && r->has_value()) small = **r;
  });
  Pump();
  EXPECT_EQ(big.code(), absl::StatusCode::kResourceExhausted) << big;
  EXPECT_NE(big.message().find("bytes"), std::string::npos) << big;
  EXPECT_EQ(small, "s");
  EXPECT_TRUE(node.closed_because.empty());
}

TEST(RemoteGcsClientTest, ARequestTooLargeForTheStreamFailsWithoutBeingSent) {
  std::vector<rpc::GcsRequest> sent;
  RemoteGcsClient client(
      [&](rpc::GcsRequest request) {
        sent.push_back(std::move(request));
        return true;
      },
      /*max_request_bytes=*/1024);
  absl::Status status;
  client.KvPut("fn", std::string(2000, 'f'), true,
               [&](absl::StatusOr<bool> r) { status = r.status(); });
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_NE(status.message().find("kv_put"), std::string::npos) << status;
  EXPECT_TRUE(sent.empty()) << "sent, it would break the node's stream to the GCS";
  EXPECT_EQ(client.pending(), 0u);
  client.KvPut("fn", "small", true, nullptr);
  EXPECT_EQ(sent.size(), 1u) << "smaller requests still go";
}

TEST_F(GcsServerTest, EveryCallRoundTripsThroughTheWire) {
  Node& node = Connect();
  ASSERT_TRUE(Register(node, NodeId::FromRandom()).ok());

  std::optional<bool> written;
  std::optional<std::optional<std::string>> value, missing;
  node.client->KvPut("fn", "pickled", false, [&](absl::StatusOr<bool> r) { written = *r; });
  node.client->KvGet("fn", [&](absl::StatusOr<std::optional<std::string>> r) { value = *r; });
  node.client->KvGet("nope", [&](absl::StatusOr<std::optional<std::string>> r) { missing = *r; });
  std::optional<JobId> job;
  rpc::JobInfo info;
  info.set_driver_pid(42);
  node.client->AddJob(info, [&](absl::StatusOr<JobId> r) { job = *r; });
  rpc::ActorInfo actor;
  actor.set_actor_id(TaskId::FromRandom().Binary());
  actor.set_name("counter");
  actor.set_namespace_("ns");
  absl::Status registered = absl::UnknownError("none");
  node.client->RegisterActor(actor, [&](absl::Status s) { registered = s; });
  std::optional<std::optional<rpc::ActorInfo>> found;
  node.client->LookupNamedActor("ns", "counter",
                                [&](absl::StatusOr<std::optional<rpc::ActorInfo>> r) { found = *r; });
  std::vector<rpc::ActorInfo> listed;
  node.client->ListNamedActors(std::nullopt,
                               [&](absl::StatusOr<std::vector<rpc::ActorInfo>> r) { listed = *r; });
  std::vector<rpc::NodeInfo> nodes;
  node.client->GetAllNodes([&](absl::StatusOr<std::vector<rpc::NodeInfo>> r) { nodes = *r; });
  Pump();

  EXPECT_EQ(written, true);
  ASSERT_TRUE(value.has_value() && value->has_value());
  EXPECT_EQ(**value, "pickled");
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(missing->has_value()) << "an absent key stays absent across the wire";
  ASSERT_TRUE(job.has_value());
  EXPECT_FALSE(job->IsNil());
  EXPECT_TRUE(registered.ok()) << registered;
  ASSERT_TRUE(found.has_value() && found->has_value());
  EXPECT_EQ((*found)->name(), "counter");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].namespace_(), "ns");
  EXPECT_EQ(nodes.size(), 1u);
  EXPECT_EQ(node.client->pending(), 0u);
}

TEST_F(GcsServerTest, NamedPlacementGroupsAndJobRecordsRoundTripThroughTheWire) {
  Node& node = Connect();
  ASSERT_TRUE(Register(node, NodeId::FromRandom()).ok());
  rpc::JobInfo info;
  info.set_namespace_("ns");
  info.set_config("job config");
  std::optional<JobId> job;
  node.client->AddJob(info, [&](absl::StatusOr<JobId> r) { job = *r; });
  Pump();
  ASSERT_TRUE(job.has_value());
  std::optional<std::optional<rpc::JobInfo>> record, unknown_job;
  node.client->GetJob(*job, [&](absl::StatusOr<std::optional<rpc::JobInfo>> r) { record = *r; });
  node.client->GetJob(JobId(),
                      [&](absl::StatusOr<std::optional<rpc::JobInfo>> r) { unknown_job = *r; });
  rpc::PlacementGroupInfo group;
  const PlacementGroupId group_id = PlacementGroupId::FromRandom();
  group.set_pg_id(group_id.Binary());
  group.set_namespace_("ns");
  group.set_name("workers");
  absl::Status added = absl::UnknownError("none");
  node.client->AddPlacementGroup(group, [&](absl::Status s) { added = s; });
  std::optional<std::optional<rpc::PlacementGroupInfo>> named, elsewhere;
  node.client->LookupNamedPlacementGroup(
      "ns", "workers",
      [&](absl::StatusOr<std::optional<rpc::PlacementGroupInfo>> r) { named = *r; });
  node.client->LookupNamedPlacementGroup(
      "other", "workers",
      [&](absl::StatusOr<std::optional<rpc::PlacementGroupInfo>> r) { elsewhere = *r; });
  Pump();

  ASSERT_TRUE(record.has_value() && record->has_value());
  EXPECT_EQ((*record)->config(), "job config");
  ASSERT_TRUE(unknown_job.has_value());
  EXPECT_FALSE(unknown_job->has_value()) << "an unknown job stays unknown across the wire";
  EXPECT_TRUE(added.ok()) << added;
  ASSERT_TRUE(named.has_value() && named->has_value());
  EXPECT_EQ((*named)->pg_id(), group_id.Binary());
  ASSERT_TRUE(elsewhere.has_value());
  EXPECT_FALSE(elsewhere->has_value()) << "another namespace does not see it";
}

TEST_F(GcsServerTest, ARefusalKeepsItsCodeAndMessage) {
  Node& node = Connect();
  ASSERT_TRUE(Register(node, NodeId::FromRandom()).ok());
  rpc::ActorInfo actor;
  actor.set_actor_id(TaskId::FromRandom().Binary());
  actor.set_name("a");
  absl::Status first, second;
  node.client->RegisterActor(actor, [&](absl::Status s) { first = s; });
  actor.set_actor_id(TaskId::FromRandom().Binary());
  node.client->RegisterActor(actor, [&](absl::Status s) { second = s; });
  Pump();
  EXPECT_TRUE(first.ok());
  EXPECT_EQ(second.code(), absl::StatusCode::kAlreadyExists) << second;
}

TEST_F(GcsServerTest, EveryNodeSeesEveryNodeAndTheirResourceReports) {
  Node& a = Connect();
  Node& b = Connect();
  const NodeId id_a = NodeId::FromRandom(), id_b = NodeId::FromRandom();
  ASSERT_TRUE(Register(a, id_a).ok());
  ASSERT_TRUE(Register(b, id_b).ok());
  gcs_.FlushView();
  Pump();
  ASSERT_NE(InView(a, id_b), nullptr) << "a learns of b";
  ASSERT_NE(InView(b, id_a), nullptr) << "b learns of a";

  rpc::ResourceSet busy;
  (*busy.mutable_amounts())["CPU"] = 0;
  b.client->ReportResources(id_b, busy);
  Pump();
  const size_t views_before = a.views.size();
  gcs_.FlushView();
  Pump();
  ASSERT_EQ(a.views.size(), views_before + 1);
  EXPECT_EQ(InView(a, id_b)->available().amounts().at("CPU"), 0);

  gcs_.FlushView();  // nothing changed since
  Pump();
  EXPECT_EQ(a.views.size(), views_before + 1) << "an unchanged view is not sent again";
}

TEST_F(GcsServerTest, ManyChangesBetweenFlushesGoOutAsOneView) {
  Node& a = Connect();
  const NodeId id = NodeId::FromRandom();
  int dirty_calls = 0;
  gcs_.SetViewDirtyHook([&] { ++dirty_calls; });
  ASSERT_TRUE(Register(a, id).ok());
  for (int cpu = 0; cpu < 10; ++cpu) {
    rpc::ResourceSet available;
    (*available.mutable_amounts())["CPU"] = cpu;
    a.client->ReportResources(id, available);
  }
  Pump();
  EXPECT_EQ(dirty_calls, 1) << "the hook arms one flush for many changes";
  gcs_.FlushView();
  Pump();
  ASSERT_EQ(a.views.size(), 1u);
  EXPECT_EQ(InView(a, id)->available().amounts().at("CPU"), 9);
}

TEST_F(GcsServerTest, ANodeWhoseStreamEndsIsDeadAtOnce) {
  Node& a = Connect();
  Node& b = Connect();
  const NodeId id_b = NodeId::FromRandom();
  ASSERT_TRUE(Register(a, NodeId::FromRandom()).ok());
  ASSERT_TRUE(Register(b, id_b).ok());
  server_.OnStreamClosed(b.stream);
  gcs_.FlushView();
  Pump();
  ASSERT_NE(InView(a, id_b), nullptr);
  EXPECT_FALSE(InView(a, id_b)->alive());
  EXPECT_EQ(server_.connected_nodes(), 1u);
}

TEST_F(GcsServerTest, ASilentNodeIsDeadAfterTheTimeoutAndAReportingOneIsNot) {
  Node& quiet = Connect();
  Node& chatty = Connect();
  const NodeId id_quiet = NodeId::FromRandom(), id_chatty = NodeId::FromRandom();
  ASSERT_TRUE(Register(quiet, id_quiet).ok());
  ASSERT_TRUE(Register(chatty, id_chatty).ok());

  now_ += std::chrono::milliseconds(3000);
  chatty.client->ReportResources(id_chatty, rpc::ResourceSet());
  Pump();
  EXPECT_TRUE(server_.CheckLiveness(now_).empty()) << "5 s have not passed for anyone";

  now_ += std::chrono::milliseconds(2500);
  const std::vector<NodeId> dead = server_.CheckLiveness(now_);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0], id_quiet);
  EXPECT_FALSE(quiet.closed_because.empty()) << "its stream is closed with the reason";
  EXPECT_TRUE(chatty.closed_because.empty());
  gcs_.FlushView();
  Pump();
  EXPECT_FALSE(InView(chatty, id_quiet)->alive());
  EXPECT_TRUE(InView(chatty, id_chatty)->alive());
}

TEST_F(GcsServerTest, CallsFailWhenTheConnectionGoesAndAfter) {
  Node& node = Connect();
  ASSERT_TRUE(Register(node, NodeId::FromRandom()).ok());
  absl::Status pending, later;
  node.client->KvDelete("k", [&](absl::StatusOr<bool> r) { pending = r.status(); });
  node.client->OnDisconnected(absl::UnavailableError("head gone"));
  node.client->KvDelete("k", [&](absl::StatusOr<bool> r) { later = r.status(); });
  EXPECT_EQ(pending.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(later.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(later.message().find("head gone"), std::string::npos) << later;
}

}  // namespace
}  // namespace flare
