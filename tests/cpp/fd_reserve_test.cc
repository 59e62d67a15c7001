// A listening process out of file descriptors refuses the clients waiting
// (they see the connection close) instead of leaving them hanging: the
// listener runs in a child process that has used up its descriptors, the
// clients in this one.
#include "common/fd_reserve.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace flare {
namespace {

sockaddr_un AddressOf(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  return address;
}

TEST(FdReserveTest, OutOfDescriptorsTheWaitingClientsAreRefusedNotLeftHanging) {
  const std::string path = "/tmp/flare-fd-reserve-" + std::to_string(getpid()) + ".sock";
  ::unlink(path.c_str());
  int ready[2], go[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(go), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The listener: exits with how many it refused, or 100+ on a failure.
    const int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_un address = AddressOf(path);
    if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        listen(listener, 16) != 0) {
      _exit(101);
    }
    FdReserve reserve;
    rlimit limit{64, 64};
    setrlimit(RLIMIT_NOFILE, &limit);
    while (dup(listener) >= 0) {
    }
    if (!IsOutOfDescriptors(errno)) _exit(102);
    char byte = 'r';
    if (write(ready[1], &byte, 1) != 1 || read(go[0], &byte, 1) != 1) _exit(103);
    if (accept4(listener, nullptr, nullptr, SOCK_CLOEXEC) >= 0 || !IsOutOfDescriptors(errno)) {
      _exit(104);  // the state under test: a client waits, accept cannot take it
    }
    std::string use;
    const int refused = reserve.RefuseWaiting(listener, &use);
    if (use.find("limit 64") == std::string::npos || use.find(" 0 open") != std::string::npos) {
      _exit(105);  // the log line names the limit and what is open
    }
    _exit(refused);
  }
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1) << "the listener did not start";
  std::vector<int> clients;
  for (int i = 0; i < 3; ++i) {
    const int client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval timeout{10, 0};  // a hang fails the test, it does not stall it
    setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    sockaddr_un address = AddressOf(path);
    ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    clients.push_back(client);
  }
  ASSERT_EQ(write(go[1], &byte, 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3) << "every waiting client refused (100+: a setup step failed)";
  for (int client : clients) {
    char got;
    EXPECT_EQ(recv(client, &got, 1, 0), 0) << "the client saw its connection close";
    close(client);
  }
  ::unlink(path.c_str());
}

TEST(FdReserveTest, OnlyTheErrorsOfRunningOutCount) {
  EXPECT_TRUE(IsOutOfDescriptors(EMFILE));
  EXPECT_TRUE(IsOutOfDescriptors(ENFILE));
  EXPECT_FALSE(IsOutOfDescriptors(EAGAIN));
  EXPECT_FALSE(IsOutOfDescriptors(ECONNABORTED));
}

}  // namespace
}  // namespace flare
