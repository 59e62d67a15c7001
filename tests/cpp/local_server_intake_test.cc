// What the raylet does with messages it must not trust, without sockets: a
// LocalServer in front of a real NodeManager (over the fakes of
// raylet_fakes.h), and links standing in for peer nodes' gRPC streams; the
// checks themselves (message_checks.h) for local clients. A hostile or buggy sender is dropped, told why,
// before anything it sent reaches the node's state; the node keeps serving
// everyone else.
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gcs/gcs.h"
#include "gcs/in_process_gcs_client.h"
#include "gcs/memory_store.h"
#include "raylet/local_server.h"
#include "raylet/message_checks.h"
#include "raylet/node_manager.h"
#include "node_manager_harness.h"
#include "raylet_fakes.h"

namespace flare {
namespace {

using testing::ManualTimers;
using testing::MemorySpillFiles;
using testing::RecordingLauncher;
using testing::RecordingPeers;
using testing::RecordingProcesses;
using testing::TaskSpecFor;

// A client's end of a link: what the raylet sent it, and how it was closed.
class FakeLink : public ClientLink {
 public:
  void Send(const rpc::Message& message) override {
    if (!closed) sent.push_back(message);
  }
  bool SendWithFd(const rpc::Message& message, int) override {
    Send(message);
    return !closed;
  }
  void Close() override { closed = true; }
  void Refuse(const absl::Status& why) override {
    closed = true;
    refusal = why;
  }

  std::vector<rpc::Message> sent;
  bool closed = false;
  absl::Status refusal;  // OK unless refused
};

class LocalServerIntakeTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kArenaSize = 4 << 20;

  LocalServerIntakeTest() {
    NodeOptions options;
    options.resources = ResourceSet::FromMap({{"CPU", 2}});
    options.session_dir = "/nonexistent-session";
    auto arena = Arena::Create(kArenaSize, "flare-intake-arena");
    EXPECT_TRUE(arena.ok()) << arena.status();
    server_ = std::make_unique<LocalServer>((*arena)->fd());
    NodeIo io{std::make_unique<RecordingProcesses>(), std::make_unique<ManualTimers>(),
              std::make_unique<MemorySpillFiles>()};
    io.peers = &peers_;
    io.puller = &peers_;
    manager_ = std::make_unique<NodeManager>(options, std::move(*arena),
                                             std::make_unique<RecordingLauncher>(), std::move(io),
                                             *server_, gcs_client_, [] {});
    server_->set_handler(manager_.get());
    EXPECT_TRUE(manager_->Start().ok());
  }

  struct Client {
    ClientId id;
    std::shared_ptr<FakeLink> link;
  };

  // A node's stream that has not registered yet.
  Client Connect() {
    auto link = std::make_shared<FakeLink>();
    return Client{server_->AddLink(link), link};
  }

  Client RegisteredPeer() {
    Client peer = Connect();
    rpc::Message hello;
    hello.mutable_register_client()->set_kind(rpc::PEER);
    hello.mutable_register_client()->set_node_id(NodeId::FromRandom().Binary());
    Deliver(peer, hello);
    EXPECT_FALSE(peer.link->closed) << peer.link->refusal;
    return peer;
  }

  void Deliver(const Client& client, rpc::Message message) {
    server_->OnLinkMessage(client.id, message);
  }

  void Submit(const Client& client, const rpc::TaskSpec& spec) {
    rpc::Message message;
    *message.mutable_submit_task()->mutable_spec() = spec;
    Deliver(client, message);
  }

  // The link was dropped for a protocol error whose message names `field`.
  void ExpectRefused(const Client& client, absl::StatusCode code, const std::string& field) {
    EXPECT_TRUE(client.link->closed) << "the sender is dropped";
    EXPECT_EQ(client.link->refusal.code(), code) << client.link->refusal;
    EXPECT_NE(client.link->refusal.message().find(field), std::string::npos)
        << "the error names " << field << ": " << client.link->refusal;
  }

  // The node still serves: a ping from a healthy peer is answered.
  void ExpectStillServing() {
    Client healthy = RegisteredPeer();
    rpc::Message ping;
    ping.mutable_ping()->set_request_id(7);
    Deliver(healthy, ping);
    ASSERT_FALSE(healthy.link->sent.empty());
    EXPECT_TRUE(healthy.link->sent.back().has_pong()) << "the node answers other clients";
  }

  uint64_t NumObjects() const { return manager_->object_table().Stats().num_objects; }

  RecordingPeers peers_;
  Gcs gcs_{std::make_unique<MemoryStore>()};
  InProcessGcsClient gcs_client_{gcs_};
  std::unique_ptr<LocalServer> server_;
  std::unique_ptr<NodeManager> manager_;
};

TEST_F(LocalServerIntakeTest, APeerStreamThatRegistersAsADriverIsRefusedSayingSo) {
  Client peer = Connect();
  rpc::Message hello;
  hello.mutable_register_client()->set_kind(rpc::DRIVER);
  Deliver(peer, hello);
  ExpectRefused(peer, absl::StatusCode::kPermissionDenied, "DRIVER");
  EXPECT_TRUE(gcs_.GetAllJobs().empty()) << "no job was recorded for it";
  ExpectStillServing();
}

TEST_F(LocalServerIntakeTest, AMessageBeforeRegisteringDropsTheSenderAndWhatFollowsIsIgnored) {
  Client peer = Connect();
  Submit(peer, TaskSpecFor(JobId::FromRandom(), "early"));
  ExpectRefused(peer, absl::StatusCode::kFailedPrecondition, "registering");
  rpc::Message hello;
  hello.mutable_register_client()->set_kind(rpc::PEER);
  Deliver(peer, hello);
  Submit(peer, TaskSpecFor(JobId::FromRandom(), "late"));
  EXPECT_EQ(NumObjects(), 0u) << "nothing a dropped sender sends is acted on";
}

TEST_F(LocalServerIntakeTest, APeerMaySendOnlyWhatANodePlacingTasksSends) {
  const std::vector<std::pair<std::string, rpc::Message>> forbidden = [] {
    std::vector<std::pair<std::string, rpc::Message>> out;
    rpc::Message done;
    done.mutable_task_done()->set_task_id(TaskId::FromRandom().Binary());
    out.emplace_back("task_done", done);
    rpc::Message blocked;
    blocked.mutable_worker_blocked()->set_blocked(true);
    out.emplace_back("worker_blocked", blocked);
    rpc::Message create;
    create.mutable_create_object()->set_object_id(ObjectIdFor(TaskId::FromRandom(), 1).Binary());
    create.mutable_create_object()->set_size(1024);
    out.emplace_back("create_object", create);
    rpc::Message abort;
    abort.mutable_abort_object()->set_object_id(ObjectIdFor(TaskId::FromRandom(), 1).Binary());
    out.emplace_back("abort_object", abort);
    rpc::Message logs;
    logs.mutable_log_lines()->add_lines("spoofed");
    out.emplace_back("log_lines", logs);
    rpc::Message kv;
    kv.mutable_kv_put()->set_key("k");
    out.emplace_back("kv_put", kv);
    rpc::Message empty;
    out.emplace_back("empty message", empty);
    return out;
  }();
  for (const auto& [name, message] : forbidden) {
    SCOPED_TRACE(name);
    Client peer = RegisteredPeer();
    Deliver(peer, message);
    ExpectRefused(peer, absl::StatusCode::kPermissionDenied, name);
  }
  EXPECT_EQ(NumObjects(), 0u) << "no object was created for a peer";
  ExpectStillServing();
}

TEST_F(LocalServerIntakeTest, WhatAPeerSendsToPlaceATaskIsAccepted) {
  Client peer = RegisteredPeer();
  const NodeId owner = NodeId::FromRandom();
  rpc::TaskSpec spec = TaskSpecFor(JobId::FromRandom(), "placed_here");
  const ObjectId inline_arg = ObjectIdFor(TaskId::FromRandom(), 1);
  const ObjectId store_arg = ObjectIdFor(TaskId::FromRandom(), 1);
  spec.add_dependencies(inline_arg.Binary());
  spec.add_dependencies(store_arg.Binary());
  rpc::Message value;
  value.mutable_put_inline()->mutable_data()->set_object_id(inline_arg.Binary());
  value.mutable_put_inline()->mutable_data()->set_inline_data("v");
  Deliver(peer, value);
  rpc::Message location;
  location.mutable_object_location()->set_object_id(store_arg.Binary());
  location.mutable_object_location()->set_node_id(owner.Binary());
  location.mutable_object_location()->set_size(1024);
  Deliver(peer, location);
  Submit(peer, spec);
  rpc::Message release;
  release.mutable_ref_update()->add_remove(inline_arg.Binary());
  release.mutable_ref_update()->add_remove(store_arg.Binary());
  Deliver(peer, release);
  rpc::Message cancel;
  cancel.mutable_cancel_task()->set_task_id(spec.task_id());
  Deliver(peer, cancel);
  EXPECT_FALSE(peer.link->closed) << peer.link->refusal;
  ASSERT_EQ(peers_.pulls.size(), 1u) << "the arena argument is pulled from its node";
  EXPECT_EQ(peers_.pulls[0].from, owner);
}

TEST_F(LocalServerIntakeTest, ATaskWithMalformedFieldsIsRefusedNamingTheField) {
  struct Case {
    std::string field;
    std::function<void(rpc::TaskSpec&)> spoil;
  };
  const std::vector<Case> cases = {
      {"task_id", [](rpc::TaskSpec& s) { s.set_task_id("short"); }},
      {"task_id", [](rpc::TaskSpec& s) { s.clear_task_id(); }},
      {"job_id", [](rpc::TaskSpec& s) { s.set_job_id(std::string(9, 'j')); }},
      {"dependencies", [](rpc::TaskSpec& s) { s.add_dependencies("not an object id"); }},
      {"nested_refs", [](rpc::TaskSpec& s) { s.add_nested_refs(std::string(21, 'x')); }},
      {"args_object_id", [](rpc::TaskSpec& s) { s.set_args_object_id("?"); }},
      {"actor_id", [](rpc::TaskSpec& s) { s.set_actor_id(std::string(3, 'a')); }},
      {"strategy.node_id", [](rpc::TaskSpec& s) { s.mutable_strategy()->set_node_id("n"); }},
      {"num_returns", [](rpc::TaskSpec& s) { s.set_num_returns(kMaxTaskReturns + 1); }},
      {"num_returns", [](rpc::TaskSpec& s) { s.set_num_returns(4000000000u); }},
      {"resources",
       [](rpc::TaskSpec& s) { (*s.mutable_resources()->mutable_amounts())["CPU"] = -4; }},
      {"resources",
       [](rpc::TaskSpec& s) { (*s.mutable_resources()->mutable_amounts())["CPU"] = NAN; }},
      {"resources",
       [](rpc::TaskSpec& s) { (*s.mutable_resources()->mutable_amounts())["GPU"] = INFINITY; }},
      {"resources",
       [](rpc::TaskSpec& s) { (*s.mutable_resources()->mutable_amounts())["CPU"] = 1e300; }},
      {"lifetime_resources",
       [](rpc::TaskSpec& s) {
         (*s.mutable_actor()->mutable_lifetime_resources()->mutable_amounts())["CPU"] = -1;
       }},
      {"timeout_s", [](rpc::TaskSpec& s) { s.set_timeout_s(INFINITY); }},
      {"timeout_s", [](rpc::TaskSpec& s) { s.set_timeout_s(NAN); }},
      {"timeout_s", [](rpc::TaskSpec& s) { s.set_timeout_s(1e300); }},
  };
  const ResourceSet available_before = ResourceSet::FromProto(manager_->AvailableForView());
  for (const Case& c : cases) {
    SCOPED_TRACE(c.field);
    Client peer = RegisteredPeer();
    rpc::TaskSpec spec = TaskSpecFor(JobId::FromRandom(), "malformed");
    c.spoil(spec);
    Submit(peer, spec);
    ExpectRefused(peer, absl::StatusCode::kInvalidArgument, c.field);
  }
  EXPECT_EQ(NumObjects(), 0u) << "no return was registered for a refused task";
  EXPECT_EQ(ResourceSet::FromProto(manager_->AvailableForView()).DebugString(),
            available_before.DebugString())
      << "no refused task touched the node's resources";
  ExpectStillServing();
}

TEST_F(LocalServerIntakeTest, MalformedIdsInObjectMessagesAreRefusedNamingTheField) {
  struct Case {
    std::string field;
    rpc::Message message;
  };
  std::vector<Case> cases(5);
  cases[0].field = "object_location.object_id";
  cases[0].message.mutable_object_location()->set_object_id("short");
  cases[0].message.mutable_object_location()->set_node_id(NodeId::FromRandom().Binary());
  cases[1].field = "object_location.node_id";
  cases[1].message.mutable_object_location()->set_object_id(
      ObjectIdFor(TaskId::FromRandom(), 1).Binary());
  cases[2].field = "put_inline.data.object_id";
  cases[2].message.mutable_put_inline()->mutable_data()->set_inline_data("v");
  cases[3].field = "ref_update.remove";
  cases[3].message.mutable_ref_update()->add_remove(std::string(40, 'r'));
  cases[4].field = "cancel_task.task_id";
  cases[4].message.mutable_cancel_task()->set_task_id("t");
  for (const Case& c : cases) {
    SCOPED_TRACE(c.field);
    Client peer = RegisteredPeer();
    Deliver(peer, c.message);
    ExpectRefused(peer, absl::StatusCode::kInvalidArgument, c.field);
  }
  EXPECT_EQ(NumObjects(), 0u);
  EXPECT_TRUE(peers_.pulls.empty()) << "nothing was pulled for a malformed location";
}

TEST(MessageChecksTest, DriversAndWorkersSendTheirMessagesAndMalformedOnesFailTheSame) {
  rpc::Message submit;
  *submit.mutable_submit_task()->mutable_spec() = TaskSpecFor(JobId::FromRandom(), "fine");
  EXPECT_TRUE(CheckClientMessage(rpc::DRIVER, submit).ok());
  rpc::Message put;
  put.mutable_put_inline()->mutable_data()->set_object_id(
      ObjectIdFor(TaskId::FromRandom(), kPutIndexBit | 1).Binary());
  EXPECT_TRUE(CheckClientMessage(rpc::DRIVER, put).ok());
  rpc::Message done;
  done.mutable_task_done()->set_task_id(TaskId::FromRandom().Binary());
  done.mutable_task_done()->add_returns()->mutable_data()->set_object_id(
      ObjectIdFor(TaskId::FromRandom(), 1).Binary());
  EXPECT_TRUE(CheckClientMessage(rpc::WORKER, done).ok()) << "workers report their tasks";
  EXPECT_EQ(CheckClientMessage(rpc::PEER, done).code(), absl::StatusCode::kPermissionDenied);

  rpc::Message subscribe;
  subscribe.mutable_subscribe()->add_object_ids("x");
  EXPECT_EQ(CheckClientMessage(rpc::DRIVER, subscribe).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckClientMessage(rpc::PEER, subscribe).code(), absl::StatusCode::kInvalidArgument)
      << "a peer borrows well-formed ids only";
  done.mutable_task_done()->mutable_returns(0)->mutable_data()->set_object_id("y");
  EXPECT_EQ(CheckClientMessage(rpc::WORKER, done).code(), absl::StatusCode::kInvalidArgument);
}

TEST(MessageChecksTest, WhatADialedNodeAnswersIsCheckedBeforeItIsActedOn) {
  rpc::Message ready;
  ready.mutable_object_ready()->set_object_id(ObjectIdFor(TaskId::FromRandom(), 1).Binary());
  ready.mutable_object_ready()->add_contained_refs(ObjectIdFor(TaskId::FromRandom(), 2).Binary());
  EXPECT_TRUE(CheckPeerAnswer(ready).ok());
  ready.mutable_object_ready()->add_contained_refs("short");
  EXPECT_EQ(CheckPeerAnswer(ready).code(), absl::StatusCode::kInvalidArgument);
  ready.mutable_object_ready()->clear_contained_refs();
  ready.mutable_object_ready()->set_object_id("");
  EXPECT_EQ(CheckPeerAnswer(ready).code(), absl::StatusCode::kInvalidArgument);
}

TEST(MessageChecksTest, OnlyAPeerReservesBundlesAndMalformedRoundsAreRefused) {
  rpc::Message prepare;
  prepare.mutable_prepare_bundles()->set_pg_id(PlacementGroupId::FromRandom().Binary());
  prepare.mutable_prepare_bundles()->add_bundle_indexes(0);
  (*prepare.mutable_prepare_bundles()->add_bundles()->mutable_amounts())["CPU"] = 1;
  EXPECT_TRUE(CheckClientMessage(rpc::PEER, prepare).ok());
  EXPECT_EQ(CheckClientMessage(rpc::DRIVER, prepare).code(), absl::StatusCode::kPermissionDenied)
      << "a driver asks for groups with create_placement_group";
  prepare.mutable_prepare_bundles()->add_bundle_indexes(1);
  EXPECT_EQ(CheckClientMessage(rpc::PEER, prepare).code(), absl::StatusCode::kInvalidArgument)
      << "an index for every bundle";

  rpc::Message commit;
  commit.mutable_commit_bundles()->set_pg_id(PlacementGroupId::FromRandom().Binary());
  commit.mutable_commit_bundles()->add_bundle_node_ids("short");
  commit.mutable_commit_bundles()->add_bundles();
  EXPECT_EQ(CheckClientMessage(rpc::PEER, commit).code(), absl::StatusCode::kInvalidArgument);

  rpc::Message remove;
  remove.mutable_remove_placement_group()->set_pg_id(PlacementGroupId::FromRandom().Binary());
  EXPECT_TRUE(CheckClientMessage(rpc::PEER, remove).ok()) << "forwarded to the group's creator";

  rpc::Message answer;
  answer.mutable_bundles_prepared()->set_pg_id("short");
  EXPECT_EQ(CheckPeerAnswer(answer).code(), absl::StatusCode::kInvalidArgument);
}

TEST(MessageChecksTest, ASpilledBackTaskOrADeadActorAnswerMustBeWellFormed) {
  rpc::Message back;
  back.mutable_task_spilled_back()->set_task_id(TaskId::FromRandom().Binary());
  (*back.mutable_task_spilled_back()->mutable_total()->mutable_amounts())["CPU"] = 1;
  EXPECT_TRUE(CheckPeerAnswer(back).ok());
  (*back.mutable_task_spilled_back()->mutable_total()->mutable_amounts())["CPU"] = -1;
  EXPECT_EQ(CheckPeerAnswer(back).code(), absl::StatusCode::kInvalidArgument)
      << "a total the view could not count";
  back.mutable_task_spilled_back()->mutable_total()->clear_amounts();
  back.mutable_task_spilled_back()->set_task_id("short");
  EXPECT_EQ(CheckPeerAnswer(back).code(), absl::StatusCode::kInvalidArgument);

  rpc::Message died;
  died.mutable_actor_died()->set_actor_id(ActorId::FromRandom().Binary());
  EXPECT_TRUE(CheckPeerAnswer(died).ok());
  died.mutable_actor_died()->set_actor_id("short");
  EXPECT_EQ(CheckPeerAnswer(died).code(), absl::StatusCode::kInvalidArgument);
}

// A client seals or aborts only what it writes: another's buffer may still
// be being copied into (a put, a task return, a copy pulled from a node).
TEST(NodeManagerWritersTest, AnotherClientsAbortOrSealOfABufferBeingWrittenIsIgnored) {
  testing::NodeManagerHarness node;
  const ClientId writer = node.RegisterDriver(50);
  const ClientId other = node.RegisterDriver(51);
  const ObjectId id = ObjectIdFor(TaskId::FromRandom(), kPutIndexBit | 1);
  rpc::CreateObject create;
  create.set_object_id(id.Binary());
  create.set_size(1024);
  node.manager().OnCreateObject(node.clients().infos.at(writer), create);
  ASSERT_EQ(node.manager().object_table().Stats().used, 1024u);

  rpc::AbortObject abort;
  abort.set_object_id(id.Binary());
  node.manager().OnAbortObject(node.clients().infos.at(other), abort);
  rpc::SealObject seal;
  seal.set_object_id(id.Binary());
  node.manager().OnSealObject(node.clients().infos.at(other), seal);
  EXPECT_FALSE(node.manager().object_table().IsReady(id)) << "only its writer seals it";
  EXPECT_EQ(node.manager().object_table().Stats().used, 1024u) << "its block is still its writer's";

  node.manager().OnSealObject(node.clients().infos.at(writer), seal);
  EXPECT_TRUE(node.manager().object_table().IsReady(id));
}

}  // namespace
}  // namespace flare
