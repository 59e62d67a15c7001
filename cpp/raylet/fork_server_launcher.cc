#include "raylet/fork_server_launcher.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>

namespace flare {

namespace {

// How long the event loop waits for the template to fork one worker.
constexpr int kForkReplyTimeoutMs = 5000;

}  // namespace

LaunchRoute ChooseLaunchRoute(const ForkServerStatus& status) {
  if (!status.enabled || status.failed) return LaunchRoute::kExec;
  if (status.ready) return LaunchRoute::kFork;
  if (!status.started && status.launches >= status.start_after) {
    return LaunchRoute::kExecAndStartServer;
  }
  return LaunchRoute::kExec;
}

ForkServerLauncher::ForkServerLauncher(std::unique_ptr<ProcessLauncher> exec, size_t start_after,
                                       bool enabled)
    : exec_(std::move(exec)) {
  status_.enabled = enabled;
  status_.start_after = start_after;
}

ForkServerLauncher::~ForkServerLauncher() { Stop(); }

void ForkServerLauncher::Stop() {
  if (template_pid_ > 0) kill(template_pid_, SIGKILL);  // reaped with the other children
  template_pid_ = 0;
  if (socket_ >= 0) close(socket_);
  socket_ = -1;
  status_.ready = false;
  status_.failed = true;
}

absl::StatusOr<pid_t> ForkServerLauncher::Launch(const WorkerId& worker_id) {
  if (status_.started && !status_.ready && !status_.failed) status_.ready = CheckReady();
  const LaunchRoute route = ChooseLaunchRoute(status_);
  ++status_.launches;
  if (route == LaunchRoute::kFork) {
    absl::StatusOr<pid_t> pid = Fork(worker_id);
    if (pid.ok()) return pid;
    Fail(std::string(pid.status().message()));
  }
  absl::StatusOr<pid_t> pid = exec_->Launch(worker_id);
  if (route == LaunchRoute::kExecAndStartServer) StartServer();
  return pid;
}

void ForkServerLauncher::StartServer() {
  status_.started = true;
  // Forked workers are re-parented to the raylet when their middle process
  // exits, so that it reaps them and they die with it.
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    Fail(std::string("PR_SET_CHILD_SUBREAPER: ") + std::strerror(errno));
    return;
  }
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    Fail(std::string("socketpair: ") + std::strerror(errno));
    return;
  }
  const std::string log = exec_->options().session_dir + "/logs/fork-server.log";
  absl::StatusOr<pid_t> pid = exec_->Start("flare._private.fork_server", log, {}, fds[1]);
  close(fds[1]);
  socket_ = fds[0];
  if (!pid.ok()) {
    Fail(std::string(pid.status().message()));
    return;
  }
  template_pid_ = *pid;
  fcntl(socket_, F_SETFL, fcntl(socket_, F_GETFL) | O_NONBLOCK);
}

bool ForkServerLauncher::CheckReady() {
  absl::StatusOr<std::string> line = ReadLine(0);
  if (!line.ok()) {
    if (!absl::IsDeadlineExceeded(line.status())) Fail(std::string(line.status().message()));
    return false;
  }
  if (*line == "ready") return true;
  Fail("the fork server said \"" + *line + "\" instead of ready");
  return false;
}

absl::StatusOr<pid_t> ForkServerLauncher::Fork(const WorkerId& worker_id) {
  const std::string request = worker_id.Hex() + " " + exec_->LogPathFor(worker_id) + "\n";
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = send(socket_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{socket_, POLLOUT, 0};
      if (poll(&p, 1, kForkReplyTimeoutMs) <= 0) return absl::UnavailableError("the fork server takes no requests");
      continue;
    }
    if (n < 0) return absl::UnavailableError(std::string("send to the fork server: ") + std::strerror(errno));
    sent += static_cast<size_t>(n);
  }
  absl::StatusOr<std::string> line = ReadLine(kForkReplyTimeoutMs);
  if (!line.ok()) return line.status();
  char* end = nullptr;
  const long pid = std::strtol(line->c_str(), &end, 10);
  if (end == line->c_str() || *end != '\0' || pid <= 0) {
    return absl::InternalError("the fork server answered \"" + *line + "\"");
  }
  return static_cast<pid_t>(pid);
}

absl::StatusOr<std::string> ForkServerLauncher::ReadLine(int timeout_ms) {
  while (true) {
    const size_t newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    pollfd p{socket_, POLLIN, 0};
    int ready = poll(&p, 1, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) return absl::DeadlineExceededError("the fork server did not answer");
    if (ready < 0) return absl::UnavailableError(std::string("poll: ") + std::strerror(errno));
    char chunk[256];
    ssize_t n = recv(socket_, chunk, sizeof(chunk), 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return absl::UnavailableError("the fork server exited");
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

void ForkServerLauncher::Fail(const std::string& why) {
  std::cerr << "flare-raylet: not using the worker fork server (" << why
            << "); starting workers with exec\n";
  Stop();
}

}  // namespace flare
