#include "object_manager/raw_pull_stream.h"

#include <sys/socket.h>

#include <algorithm>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

namespace flare {

using boost::asio::ip::tcp;

namespace {

// How much of a chunk must have arrived before the receiving thread wakes:
// about once per chunk (the kernel grows the receive buffer to twice this).
constexpr uint64_t kReadLowWaterBytes = 4u << 20;

}  // namespace

RawPullStream::RawPullStream(boost::asio::io_context& io, StreamTarget target,
                             StreamEvents events)
    : socket_(io), resolver_(io), target_(target), events_(std::move(events)), asked_(target) {}

void RawPullStream::Start(const std::string& address, const std::string& token) {
  std::string opening(kRawMagic, kRawMagicBytes);
  rpc::PullRequest open;
  open.set_token(token);
  open.set_object_id(target_.object.Data(), ObjectId::kSize);
  open.set_object_size(target_.size);
  AppendRawRequest(open, &opening);
  boost::asio::post(socket_.get_executor(), [self = shared_from_this(), address,
                                             opening = std::move(opening)]() mutable {
    self->outgoing_.push_front(std::move(opening));
    const size_t colon = address.rfind(':');
    if (colon == std::string::npos) {
      return self->End(absl::InvalidArgumentError("not a host:port address: " + address));
    }
    std::string host = address.substr(0, colon);
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    self->resolver_.async_resolve(
        host, address.substr(colon + 1),
        [self, address](const boost::system::error_code& error, tcp::resolver::results_type found) {
          if (error) {
            return self->End(!self->abandoned_.ok()
                                 ? self->abandoned_
                                 : absl::UnavailableError("cannot resolve " + address + ": " +
                                                          error.message()));
          }
          boost::asio::async_connect(self->socket_, found,
                                     [self, address](const boost::system::error_code& error,
                                                     const tcp::endpoint&) {
                                       if (error && self->abandoned_.ok()) {
                                         self->abandoned_ =
                                             absl::UnavailableError("cannot connect to " + address +
                                                                    ": " + error.message());
                                       }
                                       self->OnConnected(error);
                                     });
        });
  });
}

void RawPullStream::OnConnected(const boost::system::error_code& error) {
  if (error || !abandoned_.ok()) return End(abandoned_);
  connected_ = true;
  boost::system::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);  // requests are small and urgent
  socket_.non_blocking(true, ignored);  // ReadData's receive must never block the thread
  KeepRawConnectionAlive(socket_.native_handle());
  WriteNext();
  ReadHeader();
}

void RawPullStream::Request(const std::vector<uint64_t>& chunks) {
  std::string frames;
  for (uint64_t index : chunks) {
    const AskedChunks::Range range = asked_.Ask(index);
    rpc::PullRequest request;
    request.set_offset(range.offset);
    request.set_length(range.length);
    AppendRawRequest(request, &frames);
  }
  boost::asio::post(socket_.get_executor(),
                    [self = shared_from_this(), frames = std::move(frames)]() mutable {
                      self->Write(std::move(frames));
                    });
}

void RawPullStream::Close() {
  boost::asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->closing_ = true;
    if (self->connected_ && !self->writing_) self->WriteNext();
  });
}

void RawPullStream::Cancel() {
  boost::asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->Abandon(absl::CancelledError("the pull gave this holder up"));
  });
}

void RawPullStream::Write(std::string bytes) {
  outgoing_.push_back(std::move(bytes));
  if (connected_ && !writing_) WriteNext();
}

void RawPullStream::WriteNext() {
  if (outgoing_.empty() || !socket_.is_open()) {
    writing_ = false;
    if (closing_ && socket_.is_open()) {
      boost::system::error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_send, ignored);  // "nothing more, thanks"
    }
    return;
  }
  writing_ = true;
  // Everything queued goes out in one write.
  for (size_t i = 1; i < outgoing_.size(); ++i) outgoing_.front() += outgoing_[i];
  outgoing_.resize(1);
  boost::asio::async_write(socket_, boost::asio::buffer(outgoing_.front()),
                           [self = shared_from_this()](boost::system::error_code error, size_t) {
                             self->outgoing_.pop_front();
                             if (error) {
                               self->writing_ = false;
                               return self->Abandon(absl::UnavailableError(
                                   "the data connection broke: " + error.message()));
                             }
                             self->WriteNext();
                           });
}

void RawPullStream::ReadHeader() {
  SetLowWater(static_cast<int>(RawChunkHeader::kBytes));
  boost::asio::async_read(
      socket_, boost::asio::buffer(header_),
      [self = shared_from_this()](boost::system::error_code error, size_t) {
        if (!error) return self->OnHeader(RawChunkHeader::Decode(self->header_.data()));
        if (!self->abandoned_.ok()) return self->End(self->abandoned_);
        if (error == boost::asio::error::eof && self->closing_) return self->End(absl::OkStatus());
        self->End(absl::UnavailableError(error == boost::asio::error::eof
                                             ? "the sender closed the data connection"
                                             : "the data connection broke: " + error.message()));
      });
}

void RawPullStream::OnHeader(const RawChunkHeader& header) {
  if (header.status != 0) return ReadError(header);
  absl::StatusOr<uint64_t> index = asked_.Receive(header.offset, header.length);
  if (!index.ok()) {
    Abandon(index.status());
    return End(index.status());
  }
  ReadData(header.offset, header.offset + header.length, *index);
}

void RawPullStream::ReadData(uint64_t at, uint64_t end, uint64_t chunk) {
  // Wait until a good part of the chunk is there (SO_RCVLOWAT holds the
  // wake-up back), then take all that arrived in one recv: fewer wake-ups
  // of this thread, fewer window updates waking the sender. (A plain
  // async_read would recv first and mostly find a sliver.)
  SetLowWater(static_cast<int>(std::min<uint64_t>(end - at, kReadLowWaterBytes)));
  socket_.async_wait(
      tcp::socket::wait_read,
      [self = shared_from_this(), at, end, chunk](boost::system::error_code error) {
        size_t n = 0;
        if (!error) n = self->socket_.receive(
            boost::asio::buffer(self->target_.buffer + at, end - at), 0, error);
        if (error == boost::asio::error::would_block) return self->ReadData(at, end, chunk);
        if (!error && n == 0) error = boost::asio::error::eof;
        if (error) {
          return self->End(!self->abandoned_.ok()
                               ? self->abandoned_
                               : absl::UnavailableError("the data connection broke mid-chunk: " +
                                                        error.message()));
        }
        if (at + n < end) return self->ReadData(at + n, end, chunk);
        self->events_.on_chunk(chunk);
        self->ReadHeader();
      });
}

void RawPullStream::SetLowWater(int bytes) {
  if (bytes == low_water_) return;
  low_water_ = bytes;
  setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof(bytes));
}

void RawPullStream::ReadError(const RawChunkHeader& header) {
  error_message_.resize(std::min<uint64_t>(header.length, kMaxRawErrorBytes));
  boost::asio::async_read(
      socket_, boost::asio::buffer(error_message_),
      [self = shared_from_this(), code = header.status](boost::system::error_code, size_t) {
        self->End(absl::Status(static_cast<absl::StatusCode>(code),
                               self->error_message_.empty() ? "the sender refused the transfer"
                                                            : self->error_message_));
      });
}

void RawPullStream::Abandon(absl::Status why) {
  if (abandoned_.ok()) abandoned_ = std::move(why);
  boost::system::error_code ignored;
  resolver_.cancel();
  socket_.close(ignored);
}

void RawPullStream::End(absl::Status status) {
  if (ended_) return;
  ended_ = true;
  boost::system::error_code ignored;
  socket_.close(ignored);
  // The owner may let go of this stream as soon as it hears of the end.
  std::function<void(absl::Status)> on_ended = std::move(events_.on_ended);
  on_ended(std::move(status));
}

}  // namespace flare
