#include "raylet/connection.h"

#include <sys/socket.h>

#include <cstring>
#include <iostream>

namespace flare {

Connection::Connection(Socket socket, ClientId id, Handler& handler, size_t max_queued_bytes)
    : socket_(std::move(socket)), id_(id), handler_(handler), max_queued_bytes_(max_queued_bytes) {}

void Connection::Start() { ReadSome(); }

void Connection::ReadSome() {
  auto self = shared_from_this();
  socket_.async_read_some(
      boost::asio::buffer(read_buffer_),
      [this, self](const boost::system::error_code& error, size_t bytes) {
        if (closed_) return;
        if (error) {
          Close();
          return;
        }
        decoder_.Append(read_buffer_.data(), bytes);
        rpc::Message message;
        absl::Status status;
        while (!closed_ && decoder_.Next(&message, &status)) {
          handler_.OnMessage(*this, message);
          message.Clear();
        }
        if (!status.ok()) {
          std::cerr << "flare-raylet: dropping client " << id_ << ": " << status << "\n";
          Close();
          return;
        }
        if (!closed_) ReadSome();
      });
}

void Connection::Send(const rpc::Message& message) {
  if (closed_ || dropping_) return;
  AppendFrame(message, &pending_);
  if (pending_.size() + inflight_.size() > max_queued_bytes_) {
    std::cerr << "flare-raylet: dropping client " << id_ << ": it does not read ("
              << pending_.size() + inflight_.size() << " bytes were waiting to be sent to it)\n";
    // Closed from the loop, not inside whatever is sending to it.
    dropping_ = true;
    pending_.clear();
    pending_.shrink_to_fit();
    boost::asio::post(socket_.get_executor(), [self = shared_from_this()] { self->Close(); });
    return;
  }
  if (!writing_ && !flush_posted_) {
    flush_posted_ = true;
    auto self = shared_from_this();
    boost::asio::post(socket_.get_executor(), [this, self] {
      flush_posted_ = false;
      Flush();
    });
  }
}

void Connection::Flush() {
  if (closed_ || writing_ || pending_.empty()) return;
  writing_ = true;
  inflight_.swap(pending_);
  pending_.clear();
  auto self = shared_from_this();
  boost::asio::async_write(socket_, boost::asio::buffer(inflight_),
                           [this, self](const boost::system::error_code& error, size_t) {
                             writing_ = false;
                             inflight_.clear();
                             if (error) {
                               Close();
                               return;
                             }
                             Flush();
                           });
}

bool Connection::SendWithFd(const rpc::Message& message, int fd) {
  std::string frame;
  AppendFrame(message, &frame);
  struct msghdr header {};
  struct iovec iov {};
  iov.iov_base = frame.data();
  iov.iov_len = frame.size();
  header.msg_iov = &iov;
  header.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  header.msg_control = control;
  header.msg_controllen = sizeof(control);
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&header);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  const int native = socket_.native_handle();
  ssize_t sent = sendmsg(native, &header, MSG_NOSIGNAL);
  if (sent < 0) return false;
  // The rest (rare: the socket buffer was nearly full) goes as plain bytes.
  if (static_cast<size_t>(sent) < frame.size()) {
    pending_.append(frame.substr(static_cast<size_t>(sent)));
    Flush();
  }
  return true;
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  socket_.shutdown(Socket::shutdown_both, ignored);
  socket_.close(ignored);
  handler_.OnClosed(*this);
}

}  // namespace flare
