#include "gcs/resp_connection.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace flare {

namespace {

constexpr size_t kMaxLine = 1 << 20;  // no RESP header line is this long

// Waits until `fd` is ready for `events` or `deadline` passes.
bool WaitFor(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd poll_fd{fd, events, 0};
    const int ready = ::poll(&poll_fd, 1, static_cast<int>(left.count()));
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) return false;
  }
}

}  // namespace

std::string EncodeRespCommand(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& arg : args) {
    out += "$" + std::to_string(arg.size()) + "\r\n";
    out += arg;
    out += "\r\n";
  }
  return out;
}

absl::StatusOr<std::optional<RespValue>> RespParser::Next() {
  size_t at = 0;
  absl::StatusOr<std::optional<RespValue>> value = Parse(&at);
  if (value.ok() && value->has_value()) buffer_.erase(0, at);
  return value;
}

absl::StatusOr<std::optional<RespValue>> RespParser::Parse(size_t* at) const {
  const size_t end = buffer_.find("\r\n", *at);
  if (end == std::string::npos) {
    if (buffer_.size() - *at > kMaxLine) return absl::DataLossError("a RESP line without end");
    return std::optional<RespValue>();
  }
  if (end == *at) return absl::DataLossError("an empty RESP line");
  const char type = buffer_[*at];
  const std::string line = buffer_.substr(*at + 1, end - *at - 1);
  size_t next = end + 2;
  RespValue value;
  auto number = [&line](int64_t* out) {
    if (line.empty()) return false;
    char* parsed_end = nullptr;
    errno = 0;
    *out = std::strtoll(line.c_str(), &parsed_end, 10);
    return errno == 0 && parsed_end == line.c_str() + line.size();
  };
  switch (type) {
    case '+':
    case '-':
      value.kind = type == '+' ? RespValue::kSimple : RespValue::kError;
      value.text = line;
      break;
    case ':':
      value.kind = RespValue::kInteger;
      if (!number(&value.integer)) return absl::DataLossError("a RESP integer that is not one");
      break;
    case '$': {
      int64_t size = 0;
      if (!number(&size) || size < -1) return absl::DataLossError("a bad RESP bulk length");
      if (size == -1) break;  // nil
      if (buffer_.size() < next + size + 2) return std::optional<RespValue>();
      if (buffer_.compare(next + size, 2, "\r\n") != 0) {
        return absl::DataLossError("a RESP bulk string without its end");
      }
      value.kind = RespValue::kBulk;
      value.text = buffer_.substr(next, size);
      next += size + 2;
      break;
    }
    case '*': {
      int64_t count = 0;
      if (!number(&count) || count < -1) return absl::DataLossError("a bad RESP array length");
      if (count == -1) break;  // nil
      value.kind = RespValue::kArray;
      for (int64_t i = 0; i < count; ++i) {
        absl::StatusOr<std::optional<RespValue>> element = Parse(&next);
        if (!element.ok() || !element->has_value()) return element;
        value.elements.push_back(std::move(**element));
      }
      break;
    }
    default:
      return absl::DataLossError(std::string("an unknown RESP type '") + type + "'");
  }
  *at = next;
  return std::optional<RespValue>(std::move(value));
}

absl::StatusOr<std::unique_ptr<RespConnection>> RespConnection::Connect(
    const std::string& host, int port, std::chrono::milliseconds timeout) {
  const std::string where = host + ":" + std::to_string(port);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int error = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found)) {
    return absl::UnavailableError("Redis at " + where + ": " + gai_strerror(error));
  }
  std::string why = "no address";
  for (addrinfo* address = found; address != nullptr; address = address->ai_next) {
    const int fd = ::socket(address->ai_family, address->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                            address->ai_protocol);
    if (fd < 0) continue;
    int error = 0;
    if (::connect(fd, address->ai_addr, address->ai_addrlen) != 0) {
      error = errno;
      if (error == EINPROGRESS) {
        socklen_t length = sizeof(error);
        error = WaitFor(fd, POLLOUT, deadline) ? 0 : ETIMEDOUT;
        if (error == 0) ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
      }
    }
    if (error == 0) {
      ::freeaddrinfo(found);
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      return std::unique_ptr<RespConnection>(new RespConnection(fd, where, timeout));
    }
    why = std::strerror(error);
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return absl::UnavailableError("cannot connect to Redis at " + where + ": " + why);
}

RespConnection::~RespConnection() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status RespConnection::Broke(const std::string& why) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  return absl::UnavailableError("Redis at " + where_ + ": " + why);
}

absl::StatusOr<RespValue> RespConnection::Call(const std::vector<std::string>& args) {
  if (fd_ < 0) return absl::UnavailableError("Redis at " + where_ + ": the connection broke");
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  const std::string out = EncodeRespCommand(args);
  size_t sent = 0;
  while (sent < out.size()) {
    const ssize_t wrote = ::send(fd_, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (wrote > 0) {
      sent += static_cast<size_t>(wrote);
    } else if (wrote < 0 && errno == EINTR) {
      continue;
    } else if (wrote < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!WaitFor(fd_, POLLOUT, deadline)) return Broke("no room to send within the timeout");
    } else {
      return Broke(std::string("cannot send: ") + std::strerror(errno));
    }
  }
  char chunk[64 * 1024];
  while (true) {
    absl::StatusOr<std::optional<RespValue>> reply = parser_.Next();
    if (!reply.ok()) return Broke(std::string(reply.status().message()));
    if (reply->has_value()) return std::move(**reply);
    if (!WaitFor(fd_, POLLIN, deadline)) return Broke("no answer within the timeout");
    const ssize_t got = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (got > 0) {
      parser_.Feed(chunk, static_cast<size_t>(got));
    } else if (got == 0) {
      return Broke("the server closed the connection");
    } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
      return Broke(std::string("cannot receive: ") + std::strerror(errno));
    }
  }
}

}  // namespace flare
