// A RawPeerConnection (the raw link one raylet dials to another) against a
// stand-in node on a real loopback socket, both on one event loop: the
// hello carries the token, messages arrive in order both ways, a message
// too large is refused without ending the link, a large list is split and
// arrives whole, a node that stops reading ends the link instead of
// growing this node's memory, and a refused token, a port with nothing on
// it and a node that never answers each end the link with a reason.
#include "rpc/raw_peer_connection.h"

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "rpc/raw_link.h"
#include "rpc/raw_peer_protocol.h"

namespace flare {
namespace {

using boost::asio::ip::tcp;

// The answering end, written from the protocol's description: it reads
// the hello and then, by `Mode`, answers and echoes pings as pongs, answers
// and never reads, never answers, or refuses the token.
class StandInNode {
 public:
  enum class Mode { kEcho, kDeaf, kSilent, kRefuse };

  StandInNode(boost::asio::io_context& loop, Mode mode)
      : mode_(mode), acceptor_(loop, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
    Accept();
  }

  std::string address() const {
    return "127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }

  std::vector<rpc::Message> received;
  std::string token_seen;
  int ids_received = 0;  // object ids in reference updates

 private:
  struct Hello {
    explicit Hello(tcp::socket socket) : socket(std::move(socket)) {}
    tcp::socket socket;
    std::array<char, kRawPeerHelloHeaderBytes> header{};
    std::string token;
  };

  void Accept() {
    acceptor_.async_accept([this](const boost::system::error_code& error, tcp::socket socket) {
      if (error) return;
      auto hello = std::make_shared<Hello>(std::move(socket));
      boost::asio::async_read(
          hello->socket, boost::asio::buffer(hello->header),
          [this, hello](const boost::system::error_code& error, size_t) {
            if (error) return;
            hello->token.resize(GetU32(hello->header.data() + kRawPeerMagicBytes));
            boost::asio::async_read(hello->socket, boost::asio::buffer(hello->token),
                                    [this, hello](const boost::system::error_code& error, size_t) {
                                      if (!error) Answer(hello);
                                    });
          });
    });
  }

  void Answer(const std::shared_ptr<Hello>& hello) {
    token_seen = hello->token;
    if (mode_ == Mode::kSilent) {
      silent_.push_back(hello);
      return;
    }
    if (mode_ == Mode::kRefuse) {
      auto answer = std::make_shared<std::string>(
          EncodePeerAnswer(absl::UnauthenticatedError("wrong cluster token: use the head's")));
      boost::asio::async_write(hello->socket, boost::asio::buffer(*answer),
                               [hello, answer](const boost::system::error_code&, size_t) {
                                 boost::system::error_code ignored;
                                 hello->socket.close(ignored);
                               });
      return;
    }
    RawLink::Callbacks callbacks;
    callbacks.on_message = [this](rpc::Message& message) { OnMessage(message); };
    link_ = std::make_shared<RawLink>(std::move(hello->socket), RawLink::Limits{64 << 20, 1 << 30},
                                      std::move(callbacks));
    link_->QueueBytes(EncodePeerAnswer(absl::OkStatus()));
    link_->StartWriting();
    if (mode_ == Mode::kEcho) link_->StartReading();
  }

  void OnMessage(rpc::Message& message) {
    ids_received += message.ref_update().add_size();
    received.push_back(message);
    if (message.has_ping()) {
      rpc::Message pong;
      pong.mutable_pong()->set_request_id(message.ping().request_id());
      ASSERT_TRUE(link_->Push(std::move(pong)).ok());
    }
  }

  const Mode mode_;
  tcp::acceptor acceptor_;
  std::shared_ptr<RawLink> link_;
  std::vector<std::shared_ptr<Hello>> silent_;
};

class RawPeerLinkTest : public ::testing::Test {
 protected:
  void Dial(const std::string& address, StreamLimits limits = {},
            std::chrono::milliseconds answer_timeout = kRawPeerAnswerTimeout) {
    PeerCallbacks callbacks;
    callbacks.on_message = [this](rpc::Message& message) { received_.push_back(message); };
    callbacks.on_closed = [this](const absl::Status& status) {
      closed_ = status;
      ended_ = true;
    };
    link_ = std::make_unique<RawPeerConnection>(loop_, address, "the-token", self_,
                                                std::move(callbacks), limits, answer_timeout);
  }

  // Runs the loop until `done` or the link ends (each step bounded: a
  // hang fails the test, it does not stall it).
  template <typename Done>
  void RunUntil(Done done) {
    for (int steps = 0; !done() && !ended_ && steps < 100000; ++steps) {
      loop_.restart();
      if (loop_.run_one_for(std::chrono::seconds(10)) == 0) break;
    }
  }

  static rpc::Message Ping(uint64_t id) {
    rpc::Message ping;
    ping.mutable_ping()->set_request_id(id);
    return ping;
  }

  boost::asio::io_context loop_;
  const NodeId self_ = NodeId::FromRandom();
  std::unique_ptr<RawPeerConnection> link_;
  std::vector<rpc::Message> received_;
  absl::Status closed_;
  bool ended_ = false;
};

TEST_F(RawPeerLinkTest, TheHelloCarriesTheTokenAndMessagesArriveInOrderBothWays) {
  StandInNode node(loop_, StandInNode::Mode::kEcho);
  Dial(node.address());
  constexpr int kPings = 2000;
  for (int i = 0; i < kPings; ++i) ASSERT_TRUE(link_->SendFitted(Ping(i), false).ok());
  RunUntil([&] { return received_.size() == kPings; });

  ASSERT_TRUE(closed_.ok()) << closed_;
  EXPECT_EQ(node.token_seen, "the-token");
  ASSERT_EQ(node.received.size(), kPings + 1u);
  ASSERT_TRUE(node.received[0].has_register_client()) << "registration comes first";
  EXPECT_EQ(node.received[0].register_client().kind(), rpc::PEER);
  EXPECT_EQ(node.received[0].register_client().node_id(), self_.Binary());
  ASSERT_EQ(received_.size(), kPings + 0u);
  for (int i = 0; i < kPings; ++i) {
    ASSERT_EQ(node.received[i + 1].ping().request_id(), static_cast<uint64_t>(i));
    ASSERT_EQ(received_[i].pong().request_id(), static_cast<uint64_t>(i));
  }
}

TEST_F(RawPeerLinkTest, AMessageTooLargeIsRefusedAndTheLinkStaysUp) {
  StandInNode node(loop_, StandInNode::Mode::kEcho);
  StreamLimits limits;
  limits.max_message_bytes = 1 << 20;
  Dial(node.address(), limits);
  rpc::Message huge;
  huge.mutable_kv_put()->set_key("k");
  huge.mutable_kv_put()->set_value(std::string(2 << 20, 'x'));
  EXPECT_TRUE(absl::IsResourceExhausted(link_->SendFitted(std::move(huge), false)));
  ASSERT_TRUE(link_->SendFitted(Ping(7), false).ok());
  RunUntil([&] { return !received_.empty(); });
  ASSERT_EQ(received_.size(), 1u) << closed_;
  EXPECT_EQ(received_[0].pong().request_id(), 7u);
}

TEST_F(RawPeerLinkTest, ALargeReferenceUpdateIsSplitAndArrivesWhole) {
  StandInNode node(loop_, StandInNode::Mode::kEcho);
  StreamLimits limits;
  limits.max_message_bytes = 64 << 10;
  Dial(node.address(), limits);
  rpc::Message update;
  constexpr int kIds = 10000;  // ~300 KB of ids: several messages
  for (int i = 0; i < kIds; ++i) {
    update.mutable_ref_update()->add_add(ObjectId::FromRandom().Binary());
  }
  ASSERT_TRUE(link_->SendFitted(std::move(update), false).ok());
  ASSERT_TRUE(link_->SendFitted(Ping(1), false).ok());
  RunUntil([&] { return !received_.empty(); });
  EXPECT_EQ(node.ids_received, kIds);
  EXPECT_GT(node.received.size(), 3u) << "split over several messages";
}

TEST_F(RawPeerLinkTest, ANodeThatStopsReadingEndsTheLinkNotThisNodesMemory) {
  StandInNode node(loop_, StandInNode::Mode::kDeaf);
  StreamLimits limits;
  limits.max_queued_bytes = 4 << 20;
  Dial(node.address(), limits);
  rpc::Message line;
  line.mutable_log_lines()->add_lines(std::string(1024, 'x'));
  absl::Status sent;
  size_t sent_bytes = 0;
  // Far more than the socket buffers and the limit hold, unless the link
  // gives up first.
  while (sent_bytes < (size_t{1} << 30)) {
    sent = link_->SendFitted(line, false);
    if (!sent.ok()) break;
    sent_bytes += 1024;
    if (sent_bytes % (256 << 10) == 0) {
      loop_.restart();
      loop_.poll();  // lets the writes that can go, go
    }
  }
  EXPECT_TRUE(absl::IsAborted(sent)) << sent;
  EXPECT_NE(sent.message().find("does not read"), std::string::npos) << sent;
  RunUntil([] { return false; });
  EXPECT_TRUE(ended_);
}

TEST_F(RawPeerLinkTest, ARefusedTokenEndsTheLinkWithTheOtherNodesReason) {
  StandInNode node(loop_, StandInNode::Mode::kRefuse);
  Dial(node.address());
  RunUntil([] { return false; });
  ASSERT_TRUE(ended_);
  EXPECT_TRUE(absl::IsUnauthenticated(closed_)) << closed_;
  EXPECT_NE(closed_.message().find("wrong cluster token"), std::string::npos) << closed_;
  EXPECT_NE(closed_.message().find(node.address()), std::string::npos) << closed_;
}

TEST_F(RawPeerLinkTest, APortWithNothingOnItEndsTheLinkNamingTheAddress) {
  std::string address;
  {
    tcp::acceptor closed(loop_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    address = "127.0.0.1:" + std::to_string(closed.local_endpoint().port());
  }
  Dial(address);
  RunUntil([] { return false; });
  ASSERT_TRUE(ended_);
  EXPECT_TRUE(absl::IsUnavailable(closed_)) << closed_;
  EXPECT_NE(closed_.message().find(address), std::string::npos) << closed_;
}

TEST_F(RawPeerLinkTest, ANodeThatNeverAnswersEndsTheLinkAfterTheTimeout) {
  StandInNode node(loop_, StandInNode::Mode::kSilent);
  Dial(node.address(), {}, std::chrono::milliseconds(100));
  RunUntil([] { return false; });
  ASSERT_TRUE(ended_);
  EXPECT_TRUE(absl::IsDeadlineExceeded(closed_)) << closed_;
  EXPECT_NE(closed_.message().find(node.address()), std::string::npos) << closed_;
}

TEST_F(RawPeerLinkTest, MessagesSentAfterTheLinkEndedAreRefused) {
  StandInNode node(loop_, StandInNode::Mode::kRefuse);
  Dial(node.address());
  RunUntil([] { return false; });
  ASSERT_TRUE(ended_);
  EXPECT_TRUE(absl::IsUnavailable(link_->SendFitted(Ping(1), false)));
}

}  // namespace
}  // namespace flare
