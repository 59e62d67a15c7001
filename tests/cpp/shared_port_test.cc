// The node's one port: connections that open with the raw magic go to the
// raw handler with nothing read, everything else to gRPC; it listens on the
// address it was given only, refuses a port in use, and closes connections
// that never say enough.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "rpc/shared_port.h"

namespace flare {
namespace {

constexpr char kMagic[] = "TESTRAW1";
constexpr auto kWait = std::chrono::seconds(10);

// The raw connections the port handed over, for the test thread to take.
class HandedOver {
 public:
  ~HandedOver() {
    for (int fd : fds_) close(fd);
  }
  SharedPort::RawHandler Handler() {
    return [this](int fd, int) {
      std::lock_guard<std::mutex> lock(mu_);
      fds_.push_back(fd);
      changed_.notify_all();
    };
  }
  // The next connection handed over, or nullopt if none comes within kWait.
  std::optional<int> Next() {
    std::unique_lock<std::mutex> lock(mu_);
    if (!changed_.wait_for(lock, kWait, [this] { return !fds_.empty(); })) return std::nullopt;
    const int fd = fds_.front();
    fds_.pop_front();
    return fd;
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return fds_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<int> fds_;
};

int Connect(const char* ip, int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ip, &address.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void SendAll(int fd, const std::string& bytes) {
  ASSERT_EQ(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(bytes.size()));
}

// Whether the peer closes `fd` within kWait (whatever it sends first is skipped).
bool ClosedByPeer(int fd) {
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  char buffer[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd ready{fd, POLLIN, 0};
    if (poll(&ready, 1, 100) <= 0) continue;
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) return true;
  }
  return false;
}

// Exactly `n` bytes from `fd`, or fewer if it closed or kWait passed.
std::string ReadBytes(int fd, size_t n) {
  std::string bytes;
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (bytes.size() < n && std::chrono::steady_clock::now() < deadline) {
    pollfd ready{fd, POLLIN, 0};
    if (poll(&ready, 1, 100) <= 0) continue;
    char buffer[256];
    const ssize_t got = recv(fd, buffer, std::min(sizeof(buffer), n - bytes.size()), 0);
    if (got <= 0) break;
    bytes.append(buffer, static_cast<size_t>(got));
  }
  return bytes;
}

// A call to a method no service has: the port's gRPC server (whose generic
// service knows no method) answers UNIMPLEMENTED once the HTTP/2
// connection reached it.
grpc::Status CallUnknownMethod(int port) {
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                     grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kWait);
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  std::mutex mu;
  std::condition_variable done_cv;
  std::optional<grpc::Status> done;
  stub.UnaryCall(&context, "/flare.test.Nothing/Here", grpc::StubOptions(), &request,
                 &response, [&](grpc::Status status) {
                   std::lock_guard<std::mutex> lock(mu);
                   done = status;
                   done_cv.notify_all();
                 });
  std::unique_lock<std::mutex> lock(mu);
  done_cv.wait(lock, [&] { return done.has_value(); });  // the deadline bounds it
  return *done;
}

class SharedPortTest : public ::testing::Test {
 protected:
  std::unique_ptr<SharedPort> Start(const std::string& host = "127.0.0.1", int port = 0,
                                    SharedPortOptions options = {}) {
    auto started = SharedPort::Start(host, port, Configure(), {{kMagic, handed_.Handler()}}, options);
    EXPECT_TRUE(started.ok()) << started.status();
    return started.ok() ? std::move(*started) : nullptr;
  }
  // gRPC builds no server without a service; a service serves one server.
  std::function<void(grpc::ServerBuilder&)> Configure() {
    return [this](grpc::ServerBuilder& builder) {
      services_.push_back(std::make_unique<grpc::CallbackGenericService>());
      builder.RegisterCallbackGenericService(services_.back().get());
    };
  }

  std::vector<std::unique_ptr<grpc::CallbackGenericService>> services_;  // outlive the ports
  HandedOver handed_;
};

TEST_F(SharedPortTest, GrpcAndRawConnectionsShareOnePort) {
  auto port = Start();
  ASSERT_NE(port, nullptr);
  const int client = Connect("127.0.0.1", port->port());
  ASSERT_GE(client, 0);
  SendAll(client, std::string(kMagic) + "payload");

  EXPECT_EQ(CallUnknownMethod(port->port()).error_code(), grpc::StatusCode::UNIMPLEMENTED)
      << "an HTTP/2 connection reaches the gRPC server";
  std::optional<int> raw = handed_.Next();
  ASSERT_TRUE(raw.has_value()) << "the raw connection was not handed over";
  EXPECT_EQ(ReadBytes(*raw, 15), std::string(kMagic) + "payload")
      << "the handler reads the connection from its first byte";
  SendAll(*raw, "answer");
  EXPECT_EQ(ReadBytes(client, 6), "answer");
  EXPECT_EQ(handed_.count(), 0u) << "the gRPC connection was not handed to the raw handler";
  close(*raw);
  close(client);
}

TEST_F(SharedPortTest, MagicSentInPiecesStillReachesTheRawHandler) {
  auto port = Start();
  ASSERT_NE(port, nullptr);
  const int client = Connect("127.0.0.1", port->port());
  const int one = 1;
  setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));  // two segments
  SendAll(client, std::string(kMagic, 3));
  SendAll(client, std::string(kMagic + 3));
  std::optional<int> raw = handed_.Next();
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(ReadBytes(*raw, 8), kMagic);
  close(*raw);
  close(client);
}

TEST_F(SharedPortTest, GarbageFirstBytesGoToGrpcWhichDropsThemAndThePortServesOn) {
  auto port = Start();
  ASSERT_NE(port, nullptr);
  const int client = Connect("127.0.0.1", port->port());
  SendAll(client, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(ClosedByPeer(client)) << "gRPC's HTTP/2 server drops what is not HTTP/2";
  close(client);
  EXPECT_EQ(handed_.count(), 0u);
  EXPECT_EQ(CallUnknownMethod(port->port()).error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

TEST_F(SharedPortTest, AConnectionThatNeverSaysEnoughIsClosed) {
  SharedPortOptions options;
  options.first_bytes_timeout = std::chrono::milliseconds(50);
  auto port = Start("127.0.0.1", 0, options);
  ASSERT_NE(port, nullptr);
  const int silent = Connect("127.0.0.1", port->port());
  const int short_one = Connect("127.0.0.1", port->port());
  SendAll(short_one, "TES");
  EXPECT_TRUE(ClosedByPeer(silent));
  EXPECT_TRUE(ClosedByPeer(short_one));
  EXPECT_EQ(handed_.count(), 0u);
  close(silent);
  close(short_one);
}

TEST_F(SharedPortTest, APortInUseIsAnErrorNamingIt) {
  auto first = Start();
  ASSERT_NE(first, nullptr);
  auto second =
      SharedPort::Start("127.0.0.1", first->port(), Configure(), {{kMagic, handed_.Handler()}});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("127.0.0.1:" + std::to_string(first->port())),
            std::string::npos)
      << second.status();
  EXPECT_NE(second.status().message().find("in use"), std::string::npos) << second.status();
}

TEST_F(SharedPortTest, ListensOnlyOnTheAddressItWasGiven) {
  auto port = Start("127.0.0.1");
  ASSERT_NE(port, nullptr);
  // 127.0.0.2 is this machine too (the loopback net), but not the address.
  EXPECT_EQ(Connect("127.0.0.2", port->port()), -1);
  const int client = Connect("127.0.0.1", port->port());
  EXPECT_GE(client, 0);
  close(client);
}

TEST_F(SharedPortTest, ShutdownClosesWaitingConnectionsAndFreesThePort) {
  auto port = Start();
  ASSERT_NE(port, nullptr);
  const int number = port->port();
  const int waiting = Connect("127.0.0.1", number);
  SendAll(waiting, "TES");  // not enough to be handed on
  port->Shutdown();
  EXPECT_TRUE(ClosedByPeer(waiting));
  close(waiting);
  EXPECT_EQ(Connect("127.0.0.1", number), -1) << "nothing listens after Shutdown";
  auto again = Start("127.0.0.1", number);
  EXPECT_NE(again, nullptr) << "the port can be taken again";
}

TEST_F(SharedPortTest, WithoutARawRouteEveryConnectionIsGrpcs) {
  auto port = SharedPort::Start("127.0.0.1", 0, Configure());
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_EQ(CallUnknownMethod((*port)->port()).error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

}  // namespace
}  // namespace flare
