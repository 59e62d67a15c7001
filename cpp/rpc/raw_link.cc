#include "rpc/raw_link.h"

#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "rpc/peer_messages.h"

namespace flare {

RawLink::RawLink(Socket socket, Limits limits, Callbacks callbacks)
    : socket_(std::move(socket)),
      limits_(limits),
      callbacks_(std::move(callbacks)),
      decoder_(static_cast<uint32_t>(limits.max_message_bytes)) {}

void RawLink::StartWriting() {
  writable_ = true;
  Write();
}

void RawLink::StartReading() { ReadSome(); }

absl::Status RawLink::Push(rpc::Message message, size_t bytes, bool held) {
  if (bytes > limits_.max_message_bytes) {
    return absl::ResourceExhaustedError(
        "a message of " + std::to_string(bytes) + " bytes is more than the " +
        std::to_string(limits_.max_message_bytes) + " one message between nodes may carry");
  }
  if (closing_ || closed_) return absl::UnavailableError("the link is closed");
  if (pending_.size() + inflight_.size() + bytes > limits_.max_queued_bytes) {
    const absl::Status why = absl::AbortedError(
        "the other end does not read: " + std::to_string(pending_.size() + inflight_.size()) +
        " bytes were waiting to be sent to it");
    Close(why);
    return why;
  }
  AppendFrame(message, &pending_);
  if (!held) ScheduleWrite();
  return absl::OkStatus();
}

void RawLink::Flush() {
  if (!pending_.empty()) ScheduleWrite();
}

// Everything pushed in this turn of the loop goes in one write.
void RawLink::ScheduleWrite() {
  if (writing_ || write_posted_ || !writable_) return;
  write_posted_ = true;
  boost::asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->write_posted_ = false;
    self->Write();
  });
}

void RawLink::Write() {
  if (closed_ || writing_ || !writable_) return;
  if (pending_.empty()) {
    if (closing_) Close(absl::OkStatus());
    return;
  }
  writing_ = true;
  inflight_.swap(pending_);
  pending_.clear();
  boost::asio::async_write(
      socket_, boost::asio::buffer(inflight_),
      [self = shared_from_this()](const boost::system::error_code& error, size_t) {
        self->writing_ = false;
        self->inflight_.clear();
        if (error) {
          self->Close(absl::UnavailableError("writing failed: " + error.message()));
          return;
        }
        self->Write();
      });
}

void RawLink::ReadSome() {
  socket_.async_read_some(
      boost::asio::buffer(read_buffer_),
      [self = shared_from_this()](const boost::system::error_code& error, size_t bytes) {
        if (self->closed_) return;
        if (error) {
          self->Close(error == boost::asio::error::eof
                          ? absl::UnavailableError("the other node closed the link")
                          : absl::UnavailableError("reading failed: " + error.message()));
          return;
        }
        self->decoder_.Append(self->read_buffer_.data(), bytes);
        rpc::Message message;
        absl::Status status;
        while (!self->closed_ && self->decoder_.Next(&message, &status)) {
          ForEachPeerMessage(message, [&self](rpc::Message& one) {
            if (!self->closed_ && self->callbacks_.on_message) self->callbacks_.on_message(one);
          });
          message.Clear();
        }
        if (!status.ok()) {
          self->Close(absl::DataLossError("the other node sent a bad frame: " +
                                          std::string(status.message())));
          return;
        }
        if (!self->closed_) self->ReadSome();
      });
}

void RawLink::CloseAfterWrites() {
  if (closing_ || closed_) return;
  closing_ = true;
  if (!writing_ && !write_posted_) Write();
}

void RawLink::Close(const absl::Status& why) {
  if (closed_) return;
  closed_ = true;
  closing_ = true;
  pending_.clear();
  boost::system::error_code ignored;
  socket_.shutdown(Socket::shutdown_both, ignored);
  socket_.close(ignored);
  // Told from the loop, not from inside whatever closed the link.
  std::function<void(const absl::Status&)> on_closed = std::move(callbacks_.on_closed);
  callbacks_ = {};
  if (on_closed) {
    boost::asio::post(socket_.get_executor(),
                      [on_closed = std::move(on_closed), why] { on_closed(why); });
  }
}

}  // namespace flare
