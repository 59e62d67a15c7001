// Specification of membership across a restart of the head, without
// sockets: the nodes that were alive when the head went stay alive in the
// restarted head's view while they come back, each takes its own id again
// when it registers, and one that does not come back within the node
// timeout is marked dead. The old head itself comes back dead.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gcs/gcs_server.h"
#include "gcs/in_process_gcs_client.h"
#include "gcs/memory_store.h"
#include "gcs_test_store.h"

namespace flare {
namespace {

using Clock = GcsServer::Clock;
constexpr std::chrono::milliseconds kTimeout{5000};

// A head: its GCS over the store the test keeps, and its server.
struct Head : GcsServer::Sink {
  explicit Head(Store& store)
      : gcs(std::make_unique<testing::TestStore>(store)),
        local(gcs),
        server(gcs, local, *this, {"1.0", kTimeout}) {}
  void Push(GcsServer::StreamId stream, rpc::GcsPush push) override {
    if (push.has_reply()) replies.push_back(push.reply());
  }
  void Close(GcsServer::StreamId stream, const std::string& why) override { closed.push_back(why); }

  absl::Status Register(GcsServer::StreamId stream, const NodeId& id, Clock::time_point now,
                        bool is_head = false) {
    rpc::GcsRequest request;
    request.set_request_id(1);
    rpc::NodeInfo& node = *request.mutable_register_node();
    node.set_node_id(id.Binary());
    node.set_alive(true);
    node.set_is_head(is_head);
    node.set_version("1.0");
    replies.clear();
    server.OnRequest(stream, request, now);
    if (replies.empty()) return absl::UnknownError("no reply");
    return absl::Status(static_cast<absl::StatusCode>(replies.back().status_code()),
                        replies.back().status_message());
  }
  bool Alive(const NodeId& id) const {
    for (const rpc::NodeInfo& node : gcs.GetAllNodes()) {
      if (node.node_id() == id.Binary()) return node.alive();
    }
    return false;
  }

  Gcs gcs;
  InProcessGcsClient local;
  GcsServer server;
  std::vector<rpc::GcsReply> replies;
  std::vector<std::string> closed;
};

TEST(GcsServerRestartTest, NodesAliveWhenTheHeadWentStayAliveWhileTheyComeBack) {
  MemoryStore store;
  const NodeId old_head = NodeId::FromRandom();
  const NodeId back = NodeId::FromRandom(), gone = NodeId::FromRandom();
  Clock::time_point now = Clock::time_point() + std::chrono::hours(1);
  {
    Head first(store);
    ASSERT_TRUE(first.gcs.RegisterNode([&] {
      rpc::NodeInfo head;
      head.set_node_id(old_head.Binary());
      head.set_alive(true);
      head.set_is_head(true);
      return head;
    }()).ok());
    ASSERT_TRUE(first.Register(1, back, now).ok());
    ASSERT_TRUE(first.Register(2, gone, now).ok());
  }  // the head crashes: its nodes' streams never closed

  Head second(store);
  ASSERT_TRUE(second.gcs.Recover().ok());
  second.server.ExpectReturningNodes(now);
  EXPECT_FALSE(second.Alive(old_head)) << "the head that went is not coming back as itself";
  EXPECT_TRUE(second.Alive(back)) << "a node that may still run is not taken for dead";
  EXPECT_TRUE(second.Alive(gone));

  now += kTimeout / 2;
  EXPECT_TRUE(second.Register(7, back, now).ok()) << "a returning node takes its own id again";
  EXPECT_TRUE(second.server.CheckLiveness(now).empty());

  now += kTimeout;
  second.server.OnRequest(7, rpc::GcsRequest(), now);  // the returned node is heard from
  const std::vector<NodeId> dead = second.server.CheckLiveness(now);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0], gone) << "a node that did not come back within the timeout is dead";
  EXPECT_FALSE(second.Alive(gone));
  EXPECT_TRUE(second.Alive(back));
  EXPECT_TRUE(absl::IsAlreadyExists(second.Register(8, back, now)))
      << "once back, its id is taken as before";
}

}  // namespace
}  // namespace flare
