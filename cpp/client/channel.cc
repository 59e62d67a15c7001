#include "client/channel.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace flare {

namespace {

// Deferred updates ride on the next message; when none comes, the I/O thread
// sends them this many milliseconds after the first of them, when the flush
// timer fires (waking it for each one would cost a context switch per
// dropped ObjectRef; a timer armed once per batch costs one syscall).
constexpr int kDeferredFlushMs = 5;

std::string Errno(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

}  // namespace

absl::StatusOr<std::shared_ptr<Channel>> Channel::Connect(const std::string& path, int timeout_ms) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError("socket path too long: " + path);
  }
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string last_error;
  while (true) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return absl::InternalError(Errno("socket"));
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
      int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      if (wake < 0) {
        close(fd);
        return absl::InternalError(Errno("eventfd"));
      }
      int timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
      if (timer < 0) {
        close(fd);
        close(wake);
        return absl::InternalError(Errno("timerfd_create"));
      }
      return std::shared_ptr<Channel>(new Channel(fd, wake, timer));
    }
    last_error = Errno("connect");
    close(fd);
    if (std::chrono::steady_clock::now() >= deadline) {
      return absl::UnavailableError("cannot reach the raylet at " + path + " (" + last_error + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Channel::~Channel() {
  close(fd_);
  close(wake_fd_);
  close(flush_timer_fd_);
}

absl::StatusOr<rpc::Message> Channel::Handshake(const rpc::Message& request, int* fd,
                                                int timeout_ms) {
  std::string frame;
  AppendFrame(request, &frame);
  size_t sent = 0;
  while (sent < frame.size()) {
    ssize_t n = send(fd_, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(Errno("send to the raylet"));
    }
    sent += static_cast<size_t>(n);
  }
  *fd = -1;
  rpc::Message reply;
  absl::Status status;
  while (true) {
    pollfd p{fd_, POLLIN, 0};
    int ready = poll(&p, 1, timeout_ms);
    if (ready == 0) return absl::DeadlineExceededError("the raylet did not answer the handshake");
    if (ready < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(Errno("poll"));
    }
    char buffer[4096];
    msghdr header{};
    iovec iov{buffer, sizeof(buffer)};
    header.msg_iov = &iov;
    header.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    header.msg_control = control;
    header.msg_controllen = sizeof(control);
    ssize_t n = recvmsg(fd_, &header, MSG_CMSG_CLOEXEC);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(Errno("recvmsg"));
    }
    if (n == 0) return absl::UnavailableError("the raylet closed the connection during the handshake");
    for (cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr; c = CMSG_NXTHDR(&header, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        std::memcpy(fd, CMSG_DATA(c), sizeof(int));
      }
    }
    decoder_.Append(buffer, static_cast<size_t>(n));
    if (decoder_.Next(&reply, &status)) break;
    if (!status.ok()) return status;
  }
  // From here on the I/O thread reads without blocking.
  fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
  return reply;
}

namespace {
// Deferred frames past this size are written at once.
constexpr size_t kMaxDeferredBytes = 256 * 1024;
}  // namespace

void Channel::AppendDeferredLocked(std::string* out) {
  if (!has_deferred_) return;
  out->append(deferred_frames_);
  deferred_frames_.clear();
  if (deferred_refs_.ref_update().add_size() + deferred_refs_.ref_update().remove_size() > 0) {
    AppendFrame(deferred_refs_, out);
  }
  if (deferred_pins_.release_pins().object_ids_size() > 0) AppendFrame(deferred_pins_, out);
  deferred_refs_.Clear();
  deferred_pins_.Clear();
  has_deferred_ = false;
}

absl::Status Channel::SendDeferred(const rpc::Message& message) {
  std::lock_guard<std::mutex> lock(write_mu_);
  if (closed_.load()) return absl::UnavailableError("the connection to the raylet is closed");
  // Keep order: reference updates made before this message go before it.
  if (deferred_refs_.ref_update().add_size() + deferred_refs_.ref_update().remove_size() > 0) {
    AppendFrame(deferred_refs_, &deferred_frames_);
    deferred_refs_.Clear();
  }
  AppendFrame(message, &deferred_frames_);
  MarkDeferredLocked();
  if (deferred_frames_.size() < kMaxDeferredBytes) return absl::OkStatus();
  std::string bytes;
  AppendDeferredLocked(&bytes);
  return WriteLocked(std::move(bytes));
}

absl::Status Channel::WriteLocked(std::string&& bytes) {
  if (closed_.load()) return absl::UnavailableError("the connection to the raylet is closed");
  // Behind a backlog the bytes wait their turn (the I/O thread sends them
  // when the socket has room); otherwise as many as the socket takes go now
  // and the rest is kept where it is, never copied again.
  const bool backlogged = !backlog_.empty();
  backlog_.Append(std::move(bytes));
  if (!backlogged) {
    if (absl::Status sent = SendBacklogLocked(); !sent.ok()) return sent;
  }
  if (!backlog_.empty()) Wake();
  return absl::OkStatus();
}

absl::Status Channel::SendBacklogLocked() {
  while (!backlog_.empty()) {
    ssize_t n = send(fd_, backlog_.data(), backlog_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      absl::Status failed = absl::UnavailableError(Errno("the raylet connection failed: send"));
      closed_.store(true);
      Wake();
      return failed;
    }
    backlog_.Consume(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status Channel::Send(const rpc::Message& message) {
  std::lock_guard<std::mutex> lock(write_mu_);
  std::string bytes;
  AppendDeferredLocked(&bytes);
  AppendFrame(message, &bytes);
  return WriteLocked(std::move(bytes));
}

void Channel::DeferRefAdd(const ObjectId& id, const NodeId& owner) {
  std::lock_guard<std::mutex> lock(write_mu_);
  rpc::RefUpdate* update = deferred_refs_.mutable_ref_update();
  if (!owner.IsNil()) {
    // Owners go by index: earlier adds (this node's) get empty entries.
    while (update->add_owners_size() < update->add_size()) update->add_add_owners();
    update->add_add_owners(owner.Binary());
  }
  update->add_add(id.Data(), ObjectId::kSize);
  MarkDeferredLocked();
}

void Channel::DeferRefRemove(const ObjectId& id) {
  std::lock_guard<std::mutex> lock(write_mu_);
  deferred_refs_.mutable_ref_update()->add_remove(id.Data(), ObjectId::kSize);
  MarkDeferredLocked();
}

void Channel::DeferPinRelease(const ObjectId& id) {
  std::lock_guard<std::mutex> lock(write_mu_);
  deferred_pins_.mutable_release_pins()->add_object_ids(id.Data(), ObjectId::kSize);
  MarkDeferredLocked();
}

void Channel::MarkDeferredLocked() {
  has_deferred_ = true;
  if (flush_armed_) return;
  itimerspec when{};
  when.it_value.tv_nsec = kDeferredFlushMs * 1000 * 1000;
  if (timerfd_settime(flush_timer_fd_, 0, &when, nullptr) == 0) flush_armed_ = true;
}

void Channel::OnFlushTimer() {
  uint64_t expirations;
  ssize_t ignored = read(flush_timer_fd_, &expirations, sizeof(expirations));
  (void)ignored;
  std::lock_guard<std::mutex> lock(write_mu_);
  // Cleared under the lock before flushing: whatever is deferred after this
  // either goes out now or arms the timer again.
  flush_armed_ = false;
  if (!has_deferred_) return;
  std::string bytes;
  AppendDeferredLocked(&bytes);
  (void)WriteLocked(std::move(bytes));
}

void Channel::WatchFd(int fd, std::function<void()> on_readable) {
  watched_fd_ = fd;
  on_watched_readable_ = std::move(on_readable);
}

void Channel::FlushDeferred() {
  std::lock_guard<std::mutex> lock(write_mu_);
  if (!has_deferred_) return;
  std::string bytes;
  AppendDeferredLocked(&bytes);
  (void)WriteLocked(std::move(bytes));
}

void Channel::Wake() {
  uint64_t one = 1;
  ssize_t ignored = write(wake_fd_, &one, sizeof(one));
  (void)ignored;
}

void Channel::Shutdown() {
  shutdown_.store(true);
  Wake();
}

bool Channel::Poll(std::vector<rpc::Message>* out, std::string* error) {
  while (true) {
    if (shutdown_.load()) {
      *error = "client shut down";
      return false;
    }
    if (closed_.load()) {
      *error = "the connection to the raylet was lost";
      return false;
    }
    bool want_write;
    {
      std::lock_guard<std::mutex> lock(write_mu_);
      want_write = !backlog_.empty();
    }
    // No timeout: senders, the flush timer and the watched fd wake this.
    pollfd fds[4] = {{fd_, static_cast<short>(POLLIN | (want_write ? POLLOUT : 0)), 0},
                     {wake_fd_, POLLIN, 0},
                     {flush_timer_fd_, POLLIN, 0},
                     {watched_fd_, POLLIN, 0}};
    int ready = poll(fds, watched_fd_ >= 0 ? 4 : 3, -1);
    if (ready < 0 && errno != EINTR) {
      *error = Errno("poll");
      return false;
    }
    if (ready < 0) continue;
    if (fds[1].revents & POLLIN) {
      uint64_t drained;
      ssize_t ignored = read(wake_fd_, &drained, sizeof(drained));
      (void)ignored;
    }
    if (fds[2].revents & POLLIN) OnFlushTimer();
    if (watched_fd_ >= 0 && (fds[3].revents & POLLIN)) on_watched_readable_();
    if (fds[0].revents & POLLOUT) {
      std::lock_guard<std::mutex> lock(write_mu_);
      if (!closed_.load()) (void)SendBacklogLocked();
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buffer[64 * 1024];
      while (true) {
        ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
        if (n > 0) {
          decoder_.Append(buffer, static_cast<size_t>(n));
          if (static_cast<size_t>(n) < sizeof(buffer)) break;
          continue;
        }
        if (n == 0) {
          closed_.store(true);
          *error = "the raylet closed the connection (it exited or was killed)";
          break;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        closed_.store(true);
        *error = Errno("the connection to the raylet failed: recv");
        break;
      }
      rpc::Message message;
      absl::Status status;
      while (decoder_.Next(&message, &status)) {
        out->push_back(std::move(message));
        message.Clear();
      }
      if (!status.ok()) {
        closed_.store(true);
        *error = std::string(status.message());
      }
      if (!out->empty()) return true;
      if (closed_.load()) return false;
    }
  }
}

}  // namespace flare
