// Specification of a node's GCS client across a restart of the head,
// without sockets: the requests it sends are recorded, replies are made by
// hand, and the time is the test's. Once the node registered, a lost
// connection makes calls wait; the next connection registers the node
// again first and then sends what waited, in order; a call that waited
// longer than the bound fails with an error that says why and which knob
// sets the bound.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gcs/remote_gcs_client.h"
#include "rpc/gcs_link.h"

namespace flare {
namespace {

using Clock = RemoteGcsClient::Clock;
constexpr std::chrono::milliseconds kWait{30000};

class ReconnectTest : public ::testing::Test {
 protected:
  explicit ReconnectTest(std::chrono::milliseconds wait = kWait)
      : client_(
            [this](rpc::GcsRequest request) {
              if (!connected_) return false;
              sent_.push_back(std::move(request));
              return true;
            },
            RemoteGcsClient::Options{64 << 20, wait, [this] { return now_; }}) {}

  void Register() {
    rpc::NodeInfo self;
    self.set_node_id(node_.Binary());
    self.set_address("10.0.0.2:7000");
    client_.RegisterNode(self, nullptr);
    Answer(sent_.back());
  }
  // Replies OK to `request` (a KV get finds "value").
  void Answer(const rpc::GcsRequest& request) {
    rpc::GcsPush push;
    push.mutable_reply()->set_request_id(request.request_id());
    if (!request.kv_get().empty()) push.mutable_reply()->set_value("value");
    client_.OnPush(push);
  }
  void LoseHead() {
    connected_ = false;
    client_.OnDisconnected(absl::UnavailableError("no flare head answered at 10.0.0.1:6379"));
  }

  NodeId node_ = NodeId::FromRandom();
  bool connected_ = true;
  Clock::time_point now_ = Clock::time_point() + std::chrono::hours(1);
  std::vector<rpc::GcsRequest> sent_;
  RemoteGcsClient client_;
};

TEST_F(ReconnectTest, CallsWaitForTheHeadAndGoAfterTheNodeRegistersAgain) {
  Register();
  std::vector<std::string> results;
  client_.KvGet("before", [&](absl::StatusOr<std::optional<std::string>> value) {
    results.push_back("before:" + (value.ok() ? value->value_or("none") : value.status().ToString()));
  });
  const rpc::GcsRequest in_flight = sent_.back();
  LoseHead();
  EXPECT_TRUE(client_.waiting_for_head());
  client_.KvGet("during", [&](absl::StatusOr<std::optional<std::string>> value) {
    results.push_back("during:" + (value.ok() ? value->value_or("none") : value.status().ToString()));
  });
  EXPECT_TRUE(results.empty()) << "nothing fails while the head may come back";
  const size_t sent_before = sent_.size();

  connected_ = true;
  ASSERT_TRUE(client_.Reconnected());
  ASSERT_EQ(sent_.size(), sent_before + 3);
  EXPECT_TRUE(sent_[sent_before].has_register_node()) << "the node registers again first";
  EXPECT_EQ(sent_[sent_before].register_node().node_id(), node_.Binary()) << "with its own id";
  EXPECT_EQ(sent_[sent_before + 1].kv_get(), "before") << "what was in flight goes again";
  EXPECT_EQ(sent_[sent_before + 2].kv_get(), "during") << "then what waited, in order";
  EXPECT_FALSE(client_.waiting_for_head());

  Answer(sent_[sent_before + 2]);
  Answer(sent_[sent_before + 1]);
  Answer(in_flight);  // the lost connection's reply would have the same id: answered once
  EXPECT_EQ(results, (std::vector<std::string>{"during:value", "before:value"}));
}

TEST_F(ReconnectTest, ACallThatWaitsPastTheBoundFailsSayingWhyAndWhatSetsIt) {
  Register();
  LoseHead();
  std::optional<absl::Status> failed;
  client_.KvPut("k", "v", true, [&](absl::StatusOr<bool> written) { failed = written.status(); });
  now_ += kWait - std::chrono::milliseconds(1);
  client_.ExpireWaiting(now_);
  EXPECT_FALSE(failed.has_value()) << "within the bound the call waits";
  now_ += std::chrono::milliseconds(1);
  client_.ExpireWaiting(now_);
  ASSERT_TRUE(failed.has_value());
  EXPECT_TRUE(absl::IsUnavailable(*failed)) << *failed;
  const std::string message(failed->message());
  EXPECT_NE(message.find("unreachable"), std::string::npos) << message;
  EXPECT_NE(message.find("10.0.0.1:6379"), std::string::npos) << "why the head is gone: " << message;
  EXPECT_NE(message.find("FLARE_GCS_RECONNECT_TIMEOUT_S"), std::string::npos) << message;
}

TEST_F(ReconnectTest, ReportsNobodyWaitsForAreKeptUntilTheHeadIsBack) {
  Register();
  LoseHead();
  const ActorId actor = ActorId::FromRandom();
  client_.ReportActorState(actor, rpc::ACTOR_DEAD, nullptr);
  client_.ReportResources(node_, rpc::ResourceSet());
  now_ += kWait * 10;
  client_.ExpireWaiting(now_);
  const size_t sent_before = sent_.size();
  connected_ = true;
  ASSERT_TRUE(client_.Reconnected());
  ASSERT_EQ(sent_.size(), sent_before + 2) << "a resource report is not kept: the next replaces it";
  EXPECT_TRUE(sent_[sent_before].has_register_node());
  EXPECT_EQ(sent_[sent_before + 1].report_actor_state().actor_id(), actor.Binary())
      << "the actor's death reaches the GCS however long the head was away";
}

TEST_F(ReconnectTest, ANewConnectionThatFailsAtOnceKeepsTheCallsWaiting) {
  Register();
  LoseHead();
  std::optional<absl::Status> result;
  client_.KvDelete("k", [&](absl::StatusOr<bool> existed) { result = existed.status(); });
  EXPECT_FALSE(client_.Reconnected()) << "nothing could be sent";
  LoseHead();
  EXPECT_FALSE(result.has_value());
  connected_ = true;
  ASSERT_TRUE(client_.Reconnected());
  Answer(sent_.back());
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->ok()) << *result;
}

TEST_F(ReconnectTest, ExportsAndJobRecordsSeenBeforeAreAnsweredWhileTheHeadIsAway) {
  Register();
  client_.KvPut("fn:abc", "pickled", /*overwrite=*/false, nullptr);
  Answer(sent_.back());
  client_.KvGet("cls:def", [](absl::StatusOr<std::optional<std::string>>) {});
  Answer(sent_.back());  // found: "value"
  client_.KvGet("mutable", [](absl::StatusOr<std::optional<std::string>>) {});
  Answer(sent_.back());
  rpc::JobInfo job;
  job.set_config("job config");
  std::optional<JobId> job_id;
  client_.AddJob(job, [&](absl::StatusOr<JobId> id) { job_id = *id; });
  rpc::GcsPush added;
  added.mutable_reply()->set_request_id(sent_.back().request_id());
  added.mutable_reply()->set_job_id(JobId::FromBinary(std::string("\0\0\0\7", 4)).Binary());
  client_.OnPush(added);
  ASSERT_EQ(job_id, JobId::FromBinary(std::string("\0\0\0\7", 4)));

  LoseHead();
  const size_t sent_before = sent_.size();
  std::vector<std::string> answered;
  auto record = [&](absl::StatusOr<std::optional<std::string>> value) {
    answered.push_back(value.ok() && value->has_value() ? **value : "waiting or failed");
  };
  client_.KvGet("fn:abc", record);
  client_.KvGet("cls:def", record);
  client_.KvGet("mutable", record);
  std::optional<std::string> config;
  client_.GetJob(JobId::FromBinary(std::string("\0\0\0\7", 4)), [&](absl::StatusOr<std::optional<rpc::JobInfo>> found) {
    config = (*found)->config();
  });
  EXPECT_EQ(answered, (std::vector<std::string>{"pickled", "value"}))
      << "exports never change: answered at once; a key that may change waits for the head";
  EXPECT_EQ(config, "job config");
  EXPECT_EQ(client_.pending(), 1u) << "only the mutable key waits";
  connected_ = true;
  ASSERT_TRUE(client_.Reconnected());
  EXPECT_EQ(sent_.size(), sent_before + 2) << "registration, then the waiting get";
}

class NoWaitTest : public ReconnectTest {
 protected:
  NoWaitTest() : ReconnectTest(std::chrono::milliseconds(0)) {}
};

TEST_F(NoWaitTest, WithoutAWaitALostConnectionFailsEveryCallAtOnce) {
  Register();
  std::optional<absl::Status> result;
  client_.KvGet("k", [&](absl::StatusOr<std::optional<std::string>> value) {
    result = value.status();
  });
  LoseHead();
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(absl::IsUnavailable(*result));
  EXPECT_FALSE(client_.waiting_for_head());
}

TEST(WaitsForHeadTest, OnlyAJoinedNodeThatLostAnUnreachableHeadWaits) {
  const absl::Status gone = absl::UnavailableError("no flare head answered");
  EXPECT_TRUE(WaitsForHead(gone, /*joined=*/true, kWait));
  EXPECT_FALSE(WaitsForHead(gone, /*joined=*/false, kWait)) << "a node that never joined stops";
  EXPECT_FALSE(WaitsForHead(gone, true, std::chrono::milliseconds(0))) << "no wait configured";
  EXPECT_FALSE(WaitsForHead(absl::AbortedError("the head stopped"), true, kWait))
      << "a head stopped on purpose, or one that declared this node dead, ends it";
  EXPECT_FALSE(WaitsForHead(absl::UnauthenticatedError("wrong token"), true, kWait));
}

}  // namespace
}  // namespace flare
