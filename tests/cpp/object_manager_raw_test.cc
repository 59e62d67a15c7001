// The raw data connection and the shared port against a hand-written
// client: bad input is answered with an error and a closed connection, and
// the node goes on serving.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "object_manager/raw_protocol.h"
#include "object_transfer_harness.h"

namespace flare {
namespace {

constexpr uint64_t kArenaBytes = 16u << 20;

// A blocking TCP client speaking raw_protocol.h by hand.
class RawClient {
 public:
  explicit RawClient(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~RawClient() { close(fd_); }

  bool connected() const { return connected_; }
  void Send(const std::string& bytes) {
    ASSERT_EQ(send(fd_, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
  }
  // Reads exactly `n` bytes; fewer when the connection closed first.
  std::string Read(size_t n) {
    std::string bytes(n, '\0');
    size_t got = 0;
    while (got < n) {
      const ssize_t r = recv(fd_, bytes.data() + got, n - got, 0);
      if (r <= 0) break;
      got += static_cast<size_t>(r);
    }
    bytes.resize(got);
    return bytes;
  }
  // The next header and what follows it.
  std::pair<RawChunkHeader, std::string> Answer() {
    const std::string header = Read(RawChunkHeader::kBytes);
    if (header.size() != RawChunkHeader::kBytes) return {RawChunkHeader{0, 0, 999}, ""};
    RawChunkHeader decoded =
        RawChunkHeader::Decode(reinterpret_cast<const uint8_t*>(header.data()));
    return {decoded, Read(decoded.length)};
  }
  // Reads until the peer closes (anything it says first is skipped).
  bool ClosedByPeer() {
    char buffer[4096];
    while (recv(fd_, buffer, sizeof(buffer), 0) > 0) {
    }
    return true;
  }

 private:
  int fd_;
  bool connected_ = false;
};

std::string Opening(const std::string& token, const ObjectId& id, uint64_t size) {
  std::string bytes(kRawMagic, kRawMagicBytes);
  rpc::PullRequest open;
  open.set_token(token);
  open.set_object_id(id.Data(), ObjectId::kSize);
  open.set_object_size(size);
  AppendRawRequest(open, &bytes);
  return bytes;
}

std::string Range(uint64_t offset, uint64_t length) {
  rpc::PullRequest request;
  request.set_offset(offset);
  request.set_length(length);
  std::string bytes;
  AppendRawRequest(request, &bytes);
  return bytes;
}

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
    TransferNode receiver(loop_, kArenaBytes, Options(), 2, NodePort::kSharedPort);
    EXPECT_TRUE(receiver.PullAndWait(object_, 3000, {node_.AsHolder()}).ok());
  }

  LoopThread loop_;
  TransferNode node_{loop_, kArenaBytes, Options(), 1, NodePort::kSharedPort};
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

TEST_F(RawConnectionTest, MissingTokenIsRefusedWithAMessageSayingSo) {
  RawClient client(Port());
  client.Send(Opening("", object_, 3000) + Range(0, 10));
  auto [header, message] = client.Answer();
  EXPECT_EQ(header.status, static_cast<uint32_t>(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_NE(message.find("missing cluster token"), std::string::npos) << message;
  EXPECT_EQ(node_.manager().active_sends(), 0u) << "nothing was pinned for a refused connection";
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
