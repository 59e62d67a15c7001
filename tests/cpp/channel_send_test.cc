// The client channel's send path under a reader slower than the writer:
// messages far larger than the socket buffer, and small ones queued behind
// them, arrive whole and in order. A Unix socket in a temporary directory
// stands in for the raylet; no raylet, no sleeps.
#include "client/channel.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/framing.h"

namespace flare {
namespace {

// A listening socket at a fresh path; accepts one connection.
class FakeRaylet {
 public:
  FakeRaylet() {
    char dir[] = "/tmp/flare-channel-test-XXXXXX";
    dir_ = mkdtemp(dir);
    path_ = dir_ + "/raylet.sock";
    listener_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path_.c_str(), sizeof(address.sun_path) - 1);
    EXPECT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(listen(listener_, 1), 0);
  }
  ~FakeRaylet() {
    if (peer_ >= 0) close(peer_);
    close(listener_);
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }
  void Accept() { peer_ = accept(listener_, nullptr, nullptr); }

  // Reads (a little at a time) until `count` messages arrived or the
  // channel closed.
  std::vector<rpc::Message> Read(size_t count) {
    std::vector<rpc::Message> messages;
    FrameDecoder decoder;
    char buffer[4096];
    while (messages.size() < count) {
      ssize_t n = recv(peer_, buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      decoder.Append(buffer, static_cast<size_t>(n));
      rpc::Message message;
      absl::Status status;
      while (decoder.Next(&message, &status)) messages.push_back(std::move(message));
      EXPECT_TRUE(status.ok()) << status;
    }
    return messages;
  }

 private:
  std::string dir_;
  std::string path_;
  int listener_ = -1;
  int peer_ = -1;
};

rpc::Message LogLine(const std::string& line) {
  rpc::Message message;
  message.mutable_log_lines()->add_lines(line);
  return message;
}

TEST(ChannelSendTest, MessagesLargerThanTheSocketBufferArriveWholeAndInOrder) {
  FakeRaylet raylet;
  auto channel = Channel::Connect(raylet.path(), 5000);
  ASSERT_TRUE(channel.ok()) << channel.status();
  raylet.Accept();
  // The I/O thread sends what the socket did not take at once.
  std::thread io([&] {
    std::vector<rpc::Message> incoming;
    std::string error;
    while ((*channel)->Poll(&incoming, &error)) incoming.clear();
  });
  std::vector<std::string> sent;
  for (int i = 0; i < 6; ++i) {
    // Large ones (16 MiB) with small ones queued behind them.
    const size_t size = i % 2 == 0 ? (16u << 20) + i : 100u + i;
    sent.push_back(std::string(size, static_cast<char>('a' + i)));
    ASSERT_TRUE((*channel)->Send(LogLine(sent.back())).ok());
  }
  const std::vector<rpc::Message> received = raylet.Read(sent.size());
  (*channel)->Shutdown();
  io.join();
  ASSERT_EQ(received.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    ASSERT_EQ(received[i].log_lines().lines_size(), 1);
    EXPECT_TRUE(received[i].log_lines().lines(0) == sent[i])
        << "message " << i << " arrived altered or out of order";
  }
}

}  // namespace
}  // namespace flare
