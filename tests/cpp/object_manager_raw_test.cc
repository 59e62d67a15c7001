// The raw data connection and the shared port against a hand-written
// client: bad input is answered with an error and a closed connection, and
// the node goes on serving.
#include <gtest/gtest.h>

#include "object_transfer_harness.h"
#include "raw_client.h"

namespace flare {
namespace {

constexpr uint64_t kArenaBytes = 16u << 20;

class RawConnectionTest : public ::testing::Test {
 protected:
  static ObjectManagerOptions Options() {
    ObjectManagerOptions options;
    options.token = "secret";
    options.transport = TransferTransport::kRawTcp;
    options.pull.chunk_bytes = 1u << 20;
    return options;
  }
  int Port() {
    const std::string address = node_.AsHolder().address;
    return std::stoi(address.substr(address.rfind(':') + 1));
  }
  // The node still answers a proper pull.
  void ExpectStillServing() {
    TransferNode receiver(loop_, kArenaBytes, Options(), 2, NodePort::kGrpcAndRaw);
    EXPECT_TRUE(receiver.PullAndWait(object_, 3000, {node_.AsHolder()}).ok());
  }

  LoopThread loop_;
  TransferNode node_{loop_, kArenaBytes, Options(), 1, NodePort::kGrpcAndRaw};
  ObjectId object_ = node_.Put(3000, 4);
};

TEST_F(RawConnectionTest, RangeIsAnsweredWithItsHeaderAndTheObjectsBytes) {
  RawClient client(Port());
  ASSERT_TRUE(client.connected());
  client.Send(Opening("secret", object_, 3000) + Range(1000, 24));
  auto [header, data] = client.Answer();
  EXPECT_EQ(header.status, 0u);
  EXPECT_EQ(header.offset, 1000u);
  ASSERT_EQ(data.size(), 24u);
  EXPECT_EQ(static_cast<uint8_t>(data[0]), static_cast<uint8_t>((1000 * 131 + 4) % 251));
}

TEST_F(RawConnectionTest, OversizedRequestIsRefusedAndTheConnectionClosed) {
  RawClient client(Port());
  client.Send(std::string(kRawMagic, kRawMagicBytes) + std::string("\xff\xff\xff\x7f", 4));
  auto [header, message] = client.Answer();
  EXPECT_EQ(header.status, static_cast<uint32_t>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_NE(message.find("oversized"), std::string::npos) << message;
  EXPECT_TRUE(client.ClosedByPeer());
  ExpectStillServing();
}

TEST_F(RawConnectionTest, MalformedRequestIsRefused) {
  RawClient client(Port());
  client.Send(std::string(kRawMagic, kRawMagicBytes) +
              std::string("\x03\x00\x00\x00\xff\xff\xff", 7));
  auto [header, message] = client.Answer();
  EXPECT_EQ(header.status, static_cast<uint32_t>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_TRUE(client.ClosedByPeer());
}

TEST_F(RawConnectionTest, MissingOrWrongTokenIsRefusedWithAMessageSayingWhich) {
  for (const auto& [token, why] : {std::pair<std::string, std::string>{"", "missing"},
                                   {"secreT", "wrong"}}) {
    SCOPED_TRACE(why);
    RawClient client(Port());
    client.Send(Opening(token, object_, 3000) + Range(0, 10));
    auto [header, message] = client.Answer();
    EXPECT_EQ(header.status, static_cast<uint32_t>(grpc::StatusCode::UNAUTHENTICATED));
    EXPECT_NE(message.find(why + " cluster token"), std::string::npos) << message;
    EXPECT_TRUE(client.ClosedByPeer());
  }
  EXPECT_EQ(node_.manager().active_sends(), 0u) << "nothing was pinned for a refused connection";
}

TEST_F(RawConnectionTest, GrpcAndRawPullsFromOnePortBothArrive) {
  ObjectManagerOptions grpc = Options();
  grpc.transport = TransferTransport::kGrpc;
  TransferNode by_grpc(loop_, kArenaBytes, grpc, 2, NodePort::kGrpcAndRaw);
  TransferNode by_raw(loop_, kArenaBytes, Options(), 3, NodePort::kGrpcAndRaw);
  EXPECT_TRUE(by_grpc.PullAndWait(object_, 3000, {node_.AsHolder()}).ok());
  EXPECT_TRUE(by_raw.PullAndWait(object_, 3000, {node_.AsHolder()}).ok());
  EXPECT_TRUE(by_grpc.HasPutBytes(object_, 3000, 4));
  EXPECT_TRUE(by_raw.HasPutBytes(object_, 3000, 4));
}

TEST_F(RawConnectionTest, RangeOutsideTheObjectIsRefusedAndThePinReleased) {
  RawClient client(Port());
  client.Send(Opening("secret", object_, 3000) + Range(2990, 11));
  auto [header, message] = client.Answer();
  EXPECT_EQ(header.status, static_cast<uint32_t>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_NE(message.find("[2990, +11)"), std::string::npos) << message;
  EXPECT_TRUE(client.ClosedByPeer());
  node_.objects().WaitForUnpins(1);
}

TEST_F(RawConnectionTest, MagicSentInPiecesStillReachesTheRawHandler) {
  RawClient client(Port());
  const std::string opening = Opening("secret", object_, 3000) + Range(0, 8);
  client.Send(opening.substr(0, 3));
  client.Send(opening.substr(3));
  auto [header, data] = client.Answer();
  EXPECT_EQ(header.status, 0u);
  EXPECT_EQ(data.size(), 8u);
}

TEST_F(RawConnectionTest, GarbageThatIsNeitherGrpcNorRawIsDroppedAndThePortServesOn) {
  RawClient client(Port());
  client.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(client.ClosedByPeer()) << "gRPC's HTTP/2 server drops what is not HTTP/2";
  EXPECT_EQ(node_.manager().active_sends(), 0u);
  ExpectStillServing();
}

}  // namespace
}  // namespace flare
