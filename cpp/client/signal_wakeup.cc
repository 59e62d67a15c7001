#include "client/signal_wakeup.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace flare {

absl::StatusOr<std::unique_ptr<SignalWakeup>> SignalWakeup::Create() {
  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    return absl::InternalError(std::string("pipe2 for signal wake-ups: ") + std::strerror(errno));
  }
  return std::unique_ptr<SignalWakeup>(new SignalWakeup(fds[0], fds[1]));
}

SignalWakeup::~SignalWakeup() {
  close(read_fd_);
  close(write_fd_);
}

std::string SignalWakeup::Drain() {
  std::string out;
  char buffer[64];
  while (true) {
    ssize_t n = read(read_fd_, buffer, sizeof(buffer));
    if (n > 0) {
      out.append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return out;  // empty (EAGAIN) or closed
  }
}

}  // namespace flare
