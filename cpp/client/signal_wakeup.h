// SignalWakeup: a non-blocking pipe that a signal handler writes to (one
// byte per signal, as Python's signal.set_wakeup_fd does), so that a thread
// sleeping in poll learns of the signal at once instead of waking
// periodically to look.
//
// The client's I/O thread watches read_fd() and drains it; whoever handles
// signals (the flare._core binding, on Python's main thread) points the
// handler at write_fd() while it waits.
//
// Thread-safe: Drain from one thread; the fds never change.
#ifndef FLARE_CLIENT_SIGNAL_WAKEUP_H_
#define FLARE_CLIENT_SIGNAL_WAKEUP_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace flare {

class SignalWakeup {
 public:
  // Both ends non-blocking and close-on-exec.
  static absl::StatusOr<std::unique_ptr<SignalWakeup>> Create();
  ~SignalWakeup();
  SignalWakeup(const SignalWakeup&) = delete;
  SignalWakeup& operator=(const SignalWakeup&) = delete;

  int read_fd() const { return read_fd_; }
  int write_fd() const { return write_fd_; }

  // Reads everything written so far (the signal numbers, one byte each).
  std::string Drain();

 private:
  SignalWakeup(int read_fd, int write_fd) : read_fd_(read_fd), write_fd_(write_fd) {}

  const int read_fd_;
  const int write_fd_;
};

}  // namespace flare

#endif  // FLARE_CLIENT_SIGNAL_WAKEUP_H_
