// A PeerConnection against a real gRPC server in this process (a stand-in
// NodeService that answers pings, counts what it gets and can flood the
// client): a message too large for the stream is refused without ending it,
// a large list is split and arrives whole, queued messages share writes,
// and a client whose event loop does not run stops reading at its budget
// instead of queueing everything the server sends.
#include "rpc/peer_connection.h"

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "cluster.grpc.pb.h"
#include "rpc/cluster_server.h"

namespace flare {
namespace {

// A ping with this id asks the server to send kFloodCount log messages.
constexpr uint64_t kFlood = 999;
// A ping with this id makes the server stop reading.
constexpr uint64_t kDeaf = 998;
constexpr int kFloodCount = 64000;  // 64 MiB: far more than gRPC and TCP buffer
constexpr size_t kFloodLineBytes = 1024;

class StandInNode final : public rpc::NodeService::CallbackService {
 public:
  std::atomic<int> writes_received{0};   // gRPC messages, batches counted once
  std::atomic<int> messages_received{0}; // after unpacking
  std::atomic<int> ids_received{0};      // object ids in ref updates
  std::atomic<int> flood_written{0};

 private:
  class Stream : public grpc::ServerBidiReactor<rpc::Message, rpc::Message> {
   public:
    explicit Stream(StandInNode& node) : node_(node) { StartRead(&incoming_); }

    void OnReadDone(bool ok) override {
      if (!ok) {
        FinishOnce(grpc::Status::OK);
        return;
      }
      ++node_.writes_received;
      ForEachPeerMessage(incoming_, [this](rpc::Message& one) {
        ++node_.messages_received;
        node_.ids_received += one.ref_update().add_size();
        if (!one.has_ping()) return;
        if (one.ping().request_id() == kDeaf) deaf_ = true;
        if (one.ping().request_id() == kFlood) {
          std::lock_guard<std::mutex> lock(mu_);
          flood_next_ = 0;
          if (out_.empty()) WriteFlood();
          return;
        }
        rpc::Message pong;
        pong.mutable_pong()->set_request_id(one.ping().request_id());
        Queue(std::move(pong));
      });
      incoming_.Clear();
      if (!deaf_) StartRead(&incoming_);
    }
    void OnWriteDone(bool ok) override {
      std::lock_guard<std::mutex> lock(mu_);
      if (out_.front().has_log_lines()) ++node_.flood_written;
      out_.pop_front();
      if (!ok) return;
      if (!out_.empty()) {
        StartWrite(&out_.front());
      } else if (flood_next_ >= 0 && flood_next_ < kFloodCount) {
        WriteFlood();
      }
    }
    void OnCancel() override { FinishOnce(grpc::Status::CANCELLED); }
    void OnDone() override { delete this; }

   private:
    void Queue(rpc::Message message) {
      std::lock_guard<std::mutex> lock(mu_);
      out_.push_back(std::move(message));
      if (out_.size() == 1) StartWrite(&out_.front());
    }
    // The next flood message, made as the last one is written. REQUIRES: mu_
    // held, no write in flight.
    void WriteFlood() {
      rpc::Message lines;
      lines.mutable_log_lines()->set_prefix(std::to_string(flood_next_++));
      lines.mutable_log_lines()->add_lines(std::string(kFloodLineBytes, 'x'));
      out_.push_back(std::move(lines));
      StartWrite(&out_.front());
    }
    void FinishOnce(grpc::Status status) {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) return;
      finished_ = true;
      Finish(std::move(status));
    }

    StandInNode& node_;
    bool deaf_ = false;
    bool finished_ = false;
    int flood_next_ = -1;  // the next flood message's index; -1: no flood
    rpc::Message incoming_;
    std::mutex mu_;
    std::deque<rpc::Message> out_;  // front: the write in flight
  };

  grpc::ServerBidiReactor<rpc::Message, rpc::Message>* Connect(
      grpc::CallbackServerContext*) override {
    return new Stream(*this);
  }
};

class PeerConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = ClusterServer::Start("127.0.0.1", 0, {&node_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  void TearDown() override {
    connection_.reset();
    server_->Shutdown();
  }

  void Connect(StreamLimits limits) {
    PeerConnection::Callbacks callbacks;
    callbacks.on_message = [this](rpc::Message& message) {
      if (message.has_log_lines()) {
        flood_received_.push_back(std::stoi(message.log_lines().prefix()));
      } else {
        received_.push_back(message);
      }
    };
    callbacks.on_closed = [this](const absl::Status& status) { closed_ = status; };
    connection_ = std::make_unique<PeerConnection>(
        loop_, "127.0.0.1:" + std::to_string(server_->port()), "token", NodeId::FromRandom(),
        std::move(callbacks), limits);
  }

  // Runs the loop until `done` or the stream ends.
  template <typename Done>
  void RunUntil(Done done) {
    while (!done() && closed_.ok()) {
      loop_.restart();
      loop_.run_one_for(std::chrono::seconds(10));
    }
  }

  bool GotPong(uint64_t id) const {
    for (const rpc::Message& message : received_) {
      if (message.has_pong() && message.pong().request_id() == id) return true;
    }
    return false;
  }

  rpc::Message Ping(uint64_t id) {
    rpc::Message ping;
    ping.mutable_ping()->set_request_id(id);
    return ping;
  }

  StandInNode node_;
  std::unique_ptr<ClusterServer> server_;
  boost::asio::io_context loop_;
  std::unique_ptr<PeerConnection> connection_;
  std::vector<rpc::Message> received_;  // but flood messages:
  std::vector<int> flood_received_;     // their indexes
  absl::Status closed_;
};

TEST_F(PeerConnectionTest, AMessageTooLargeIsRefusedAndTheLinkStaysUp) {
  StreamLimits limits;
  limits.max_message_bytes = 64 << 10;
  Connect(limits);
  rpc::Message large;
  large.mutable_submit_task()->mutable_spec()->set_args(std::string(100 << 10, 'a'));
  const absl::Status refused = connection_->Send(large);
  EXPECT_TRUE(absl::IsResourceExhausted(refused)) << refused;
  EXPECT_TRUE(absl::IsResourceExhausted(connection_->SendFitted(large, false)))
      << "a task cannot be split";
  ASSERT_TRUE(connection_->Send(Ping(1)).ok());
  RunUntil([&] { return GotPong(1); });
  EXPECT_TRUE(GotPong(1)) << "the link still answers: " << closed_;
}

TEST_F(PeerConnectionTest, ALargeReferenceUpdateIsSplitAndArrivesWhole) {
  StreamLimits limits;
  limits.max_message_bytes = 64 << 10;
  Connect(limits);
  rpc::Message update;
  const int count = 20000;  // ~600 KiB of ids
  for (int i = 0; i < count; ++i) {
    update.mutable_ref_update()->add_add(ObjectId::FromRandom().Binary());
  }
  ASSERT_TRUE(connection_->SendFitted(update, false).ok());
  ASSERT_TRUE(connection_->Send(Ping(2)).ok());
  RunUntil([&] { return GotPong(2); });
  ASSERT_TRUE(GotPong(2)) << closed_;
  EXPECT_EQ(node_.ids_received.load(), count);
}

TEST_F(PeerConnectionTest, HeldMessagesRideWithTheNextOne) {
  Connect(StreamLimits());
  ASSERT_TRUE(connection_->Send(Ping(3)).ok());
  RunUntil([&] { return GotPong(3); });  // registered, first write done
  const int writes_before = node_.writes_received.load();
  const int messages_before = node_.messages_received.load();
  rpc::Message release;
  release.mutable_release_pins()->add_object_ids(std::string(28, 'r'));
  ASSERT_TRUE(connection_->SendFitted(release, /*held=*/true).ok());
  ASSERT_TRUE(connection_->SendFitted(release, /*held=*/true).ok());
  ASSERT_TRUE(connection_->Send(Ping(4)).ok());
  RunUntil([&] { return GotPong(4); });
  ASSERT_TRUE(GotPong(4)) << closed_;
  EXPECT_EQ(node_.messages_received.load() - messages_before, 3);
  EXPECT_EQ(node_.writes_received.load() - writes_before, 1) << "three messages, one write";
}

TEST_F(PeerConnectionTest, AClientWhoseLoopStallsStopsReadingAtItsBudget) {
  StreamLimits limits;
  limits.max_unhandled_bytes = 64 << 10;
  Connect(limits);
  ASSERT_TRUE(connection_->Send(Ping(kFlood)).ok());
  // The loop does not run: whatever the client reads waits on it. Give the
  // server time to push all it can; flow control holds back the rest.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_LT(node_.flood_written.load(), kFloodCount / 2)
      << "the client kept reading while its loop stalled";
  RunUntil([&] { return flood_received_.size() >= static_cast<size_t>(kFloodCount); });
  ASSERT_EQ(flood_received_.size(), static_cast<size_t>(kFloodCount)) << closed_;
  for (int i = 0; i < kFloodCount; ++i) ASSERT_EQ(flood_received_[i], i) << "in order";
}

TEST_F(PeerConnectionTest, ANodeThatStopsReadingLosesItsStreamNotThisNodesMemory) {
  StreamLimits limits;
  limits.max_queued_bytes = 256 << 10;
  Connect(limits);
  ASSERT_TRUE(connection_->Send(Ping(kDeaf)).ok());
  rpc::Message lines;
  lines.mutable_log_lines()->add_lines(std::string(1024, 'y'));
  absl::Status pushed;
  for (int i = 0; i < 100000 && pushed.ok(); ++i) pushed = connection_->Send(lines);
  EXPECT_TRUE(absl::IsAborted(pushed)) << pushed;
  RunUntil([] { return false; });  // until the stream ends
  EXPECT_FALSE(closed_.ok()) << "the stream ended";
  EXPECT_TRUE(absl::IsUnavailable(connection_->Send(Ping(5))));
}

}  // namespace
}  // namespace flare
