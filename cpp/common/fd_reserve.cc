#include "common/fd_reserve.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>

namespace flare {

bool IsOutOfDescriptors(int error) { return error == EMFILE || error == ENFILE; }

std::string DescribeDescriptorUse() {
  int open = 0;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (readdir(dir) != nullptr) ++open;
    closedir(dir);
    open -= 3;  // ".", ".." and the directory's own descriptor
  }
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  return "out of file descriptors (" + std::to_string(open) + " open, limit " +
         std::to_string(limit.rlim_cur) + ")";
}

FdReserve::FdReserve() : fd_(::open("/dev/null", O_RDONLY | O_CLOEXEC)) {}

FdReserve::~FdReserve() {
  if (fd_ >= 0) ::close(fd_);
}

int FdReserve::RefuseWaiting(int listening_fd, std::string* use) {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (use != nullptr) *use = DescribeDescriptorUse();
  int refused = 0;
  for (;;) {
    const int client = ::accept4(listening_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) break;  // none waiting (EAGAIN), or still out
    ::close(client);
    ++refused;
  }
  fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  return refused;
}

void FdReserve::RefuseWhileOut(int listening_fd, const std::string& what) {
  std::string use;
  refused_ += RefuseWaiting(listening_fd, &use);
  if (out_) return;
  out_ = true;
  std::cerr << "flare-raylet: " << use << ": refusing " << what << " until some close\n";
}

void FdReserve::Accepted(const std::string& what) {
  if (!out_) return;
  std::cerr << "flare-raylet: accepting " << what << " again (" << refused_
            << " were refused)\n";
  out_ = false;
  refused_ = 0;
}

}  // namespace flare
