// A local client's connection (raylet side) on a real socket pair: frames
// reach a client that reads, in order; a client that stops reading is
// dropped once its queue passes the bound, outside the call that sent, and
// nothing more is queued for it.
#include "raylet/connection.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace flare {
namespace {

class RecordingHandler : public Connection::Handler {
 public:
  void OnMessage(Connection&, rpc::Message& message) override { received.push_back(message); }
  void OnClosed(Connection&) override { ++closed; }
  std::vector<rpc::Message> received;
  int closed = 0;
};

class ConnectionTest : public ::testing::Test {
 protected:
  ConnectionTest() {
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    client_fd_ = fds[1];
    timeval timeout{10, 0};  // a hang fails, it does not stall
    setsockopt(client_fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    Connection::Socket socket(loop_);
    socket.assign(boost::asio::local::stream_protocol(), fds[0]);
    connection_ = std::make_shared<Connection>(std::move(socket), 7, handler_, kBound);
    connection_->Start();
  }
  ~ConnectionTest() override {
    connection_->Close();
    loop_.restart();
    loop_.poll();
    close(client_fd_);
  }

  static rpc::Message Line(int index, size_t bytes) {
    rpc::Message message;
    message.mutable_log_lines()->set_prefix(std::to_string(index));
    message.mutable_log_lines()->add_lines(std::string(bytes, 'x'));
    return message;
  }

  // Reads one frame as the client would.
  rpc::Message ReadFrame() {
    uint32_t length = 0;
    EXPECT_EQ(recv(client_fd_, &length, 4, MSG_WAITALL), 4);
    std::string body(length, '\0');
    EXPECT_EQ(recv(client_fd_, body.data(), length, MSG_WAITALL), static_cast<ssize_t>(length));
    rpc::Message message;
    EXPECT_TRUE(message.ParseFromString(body));
    return message;
  }

  static constexpr size_t kBound = 1 << 20;
  boost::asio::io_context loop_;
  RecordingHandler handler_;
  std::shared_ptr<Connection> connection_;
  int client_fd_ = -1;
};

TEST_F(ConnectionTest, AReadingClientGetsEveryFrameInOrder) {
  for (int i = 0; i < 50; ++i) connection_->Send(Line(i, 1000));
  loop_.poll();
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(ReadFrame().log_lines().prefix(), std::to_string(i));
  }
  EXPECT_EQ(handler_.closed, 0);
}

TEST_F(ConnectionTest, AClientThatStopsReadingIsDroppedAtTheBoundNotInsideTheSend) {
  int sent = 0;
  // Far more than the socket buffers and the bound hold, unless it is dropped.
  while (handler_.closed == 0 && sent < 4096) {
    connection_->Send(Line(sent++, 16 << 10));
    EXPECT_EQ(handler_.closed, 0) << "closed inside Send, under whoever was sending";
    if (sent % 16 == 0) {
      loop_.restart();
      loop_.poll();
    }
  }
  EXPECT_EQ(handler_.closed, 1) << "dropped after " << sent << " messages";
  EXPECT_LT(sent, 4096);
  connection_->Send(Line(0, 16));  // nothing more, and no second close
  loop_.restart();
  loop_.poll();
  EXPECT_EQ(handler_.closed, 1);
}

}  // namespace
}  // namespace flare
