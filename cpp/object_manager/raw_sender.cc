#include "object_manager/raw_sender.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <deque>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "object_manager/raw_protocol.h"
#include "rpc/token.h"

namespace flare {

using boost::asio::ip::tcp;

namespace {

// SO_SNDBUF of a raw data connection (Linux doubles it, up to wmem_max).
constexpr int kSendBufferBytes = 4 << 20;

// async_write's completion condition: write until done, offering the kernel
// all that is left each time (asio's transfer_all offers 64 KiB per call).
size_t WholeBuffers(const boost::system::error_code& error, size_t) {
  return error ? 0 : size_t{1} << 30;
}

}  // namespace

// One raw data connection. Owns itself through the handlers in flight.
class RawSendConnection : public std::enable_shared_from_this<RawSendConnection> {
 public:
  RawSendConnection(tcp::socket socket, std::shared_ptr<SenderContext> senders,
                    std::shared_ptr<const std::string> token)
      : socket_(std::move(socket)), senders_(std::move(senders)), token_(std::move(token)) {}

  void Start() {
    boost::asio::async_read(socket_, boost::asio::buffer(magic_),
                            [self = shared_from_this()](boost::system::error_code error, size_t) {
                              if (error) return self->Close();
                              self->ReadFrameLength();
                            });
  }
  void Close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
    lease_.reset();
  }

 private:
  struct Outgoing {
    std::array<uint8_t, RawChunkHeader::kBytes> header;
    const uint8_t* data = nullptr;  // into the pinned object, or `message`
    size_t length = 0;
    std::string message;
  };

  void ReadFrameLength() {
    boost::asio::async_read(
        socket_, boost::asio::buffer(length_),
        [self = shared_from_this()](boost::system::error_code error, size_t) {
          if (error) return self->OnReceiverDone();
          const uint32_t length =
              static_cast<uint32_t>(RawChunkHeader::GetLittleEndian(self->length_.data(), 4));
          if (length > kMaxRawRequestBytes) {
            return self->Fail(grpc::StatusCode::INVALID_ARGUMENT, "oversized pull request");
          }
          self->ReadFrameBody(length);
        });
  }

  void ReadFrameBody(uint32_t length) {
    body_.resize(length);
    boost::asio::async_read(socket_, boost::asio::buffer(body_),
                            [self = shared_from_this()](boost::system::error_code error, size_t) {
                              if (error) return self->OnReceiverDone();
                              rpc::PullRequest request;
                              if (!request.ParseFromString(self->body_)) {
                                return self->Fail(grpc::StatusCode::INVALID_ARGUMENT,
                                                  "malformed pull request");
                              }
                              self->OnRequest(request);
                            });
  }

  void OnRequest(const rpc::PullRequest& request) {
    if (!opened_) {
      opened_ = true;
      grpc::Status allowed = CheckPresentedToken(
          request.token().empty() ? std::nullopt : std::optional<std::string_view>(request.token()),
          *token_);
      if (!allowed.ok()) return Fail(allowed.error_code(), allowed.error_message());
      if (request.object_id().size() != ObjectId::kSize) {
        return Fail(grpc::StatusCode::INVALID_ARGUMENT,
                    "the first pull request must name an object");
      }
      Pin(ObjectId::FromBinary(request.object_id()), request.object_size());
    }
    if (request.length() > 0) {
      if (lease_) {
        Send(request.offset(), request.length());
      } else {
        waiting_.push_back({request.offset(), request.length()});
      }
    }
    if (!failed_) ReadFrameLength();
  }

  // Pins on the loop; continues on this connection's thread.
  void Pin(const ObjectId& id, uint64_t size) {
    boost::asio::post(senders_->loop, [self = shared_from_this(), id, size] {
      {
        std::lock_guard<std::mutex> lock(self->senders_->mu);
        if (!self->senders_->alive) return;
      }
      // A spilled object is read back first, off the loop.
      self->senders_->objects.WhenSendable(id, [self, id, size] {
        {
          std::lock_guard<std::mutex> lock(self->senders_->mu);
          if (!self->senders_->alive) return;
        }
        auto lease = PinForSending(self->senders_, id, size);
        boost::asio::post(self->socket_.get_executor(),
                          [self, lease = std::move(lease)]() mutable { self->OnPinned(lease); });
      });
    });
  }

  void OnPinned(absl::StatusOr<std::shared_ptr<PinLease>>& lease) {
    if (failed_ || !socket_.is_open()) return;
    if (!lease.ok()) {
      return Fail(static_cast<grpc::StatusCode>(lease.status().code()),
                  std::string(lease.status().message()));
    }
    lease_ = std::move(*lease);
    for (const auto& [offset, length] : waiting_) Send(offset, length);
    waiting_.clear();
  }

  void Send(uint64_t offset, uint64_t length) {
    if (failed_) return;
    absl::Status valid = lease_->CheckRange(offset, length);
    if (!valid.ok()) return Fail(grpc::StatusCode::INVALID_ARGUMENT, std::string(valid.message()));
    Outgoing out;
    out.header = RawChunkHeader{offset, length, 0}.Encode();
    out.data = lease_->pinned().data + offset;
    out.length = length;
    Queue(std::move(out));
  }

  // Sends the error as the last thing on the connection, then closes it.
  void Fail(grpc::StatusCode code, std::string message) {
    if (failed_) return;
    failed_ = true;
    close_after_writes_ = true;
    Outgoing out;
    out.message = std::move(message);
    out.header = RawChunkHeader{0, out.message.size(), static_cast<uint32_t>(code)}.Encode();
    Queue(std::move(out));
  }

  void Queue(Outgoing out) {
    outgoing_.push_back(std::move(out));
    if (!writing_) WriteNext();
  }

  void WriteNext() {
    if (outgoing_.empty()) {
      writing_ = false;
      if (close_after_writes_) Close();
      return;
    }
    writing_ = true;
    Outgoing& out = outgoing_.front();
    const uint8_t* data =
        out.data != nullptr ? out.data : reinterpret_cast<const uint8_t*>(out.message.data());
    const size_t length = out.data != nullptr ? out.length : out.message.size();
    std::array<boost::asio::const_buffer, 2> buffers = {
        boost::asio::buffer(out.header), boost::asio::buffer(data, length)};
    boost::asio::async_write(socket_, buffers, WholeBuffers,
                             [self = shared_from_this()](boost::system::error_code error, size_t) {
                               if (error) return self->Close();
                               self->outgoing_.pop_front();
                               self->WriteNext();
                             });
  }

  // The receiver shut its side down (or the connection broke): finish the
  // writes under way, then close.
  void OnReceiverDone() {
    close_after_writes_ = true;
    if (!writing_) Close();
  }

  tcp::socket socket_;
  std::shared_ptr<SenderContext> senders_;
  std::shared_ptr<const std::string> token_;
  std::array<uint8_t, kRawMagicBytes> magic_;
  std::array<uint8_t, 4> length_;
  std::string body_;
  bool opened_ = false;
  bool failed_ = false;
  std::shared_ptr<PinLease> lease_;
  std::deque<std::pair<uint64_t, uint64_t>> waiting_;  // asked before the pin
  std::deque<Outgoing> outgoing_;                      // front: being written
  bool writing_ = false;
  bool close_after_writes_ = false;
};

RawSender::RawSender(boost::asio::io_context& io, std::shared_ptr<SenderContext> senders,
                     std::string token)
    : shared_(std::make_shared<Shared>(Shared{
          io, std::move(senders), std::make_shared<const std::string>(std::move(token)), {}})) {}

void RawSender::Adopt(int fd, int family) {
  boost::asio::post(shared_->io, [shared = shared_, fd, family] {
    tcp::socket socket(shared->io);
    boost::system::error_code error;
    socket.assign(family == AF_INET6 ? tcp::v6() : tcp::v4(), fd, error);
    if (error) {
      ::close(fd);
      return;
    }
    // A large send buffer: the thread then wakes to refill it once per
    // megabytes, not once per ~100 KiB as with the autotuned default.
    socket.set_option(boost::asio::socket_base::send_buffer_size(kSendBufferBytes), error);
    KeepRawConnectionAlive(socket.native_handle());
    auto connection =
        std::make_shared<RawSendConnection>(std::move(socket), shared->senders, shared->token);
    auto& connections = shared->connections;
    connections.erase(std::remove_if(connections.begin(), connections.end(),
                                     [](const auto& c) { return c.expired(); }),
                      connections.end());
    connections.push_back(connection);
    connection->Start();
  });
}

void RawSender::CloseAll() {
  boost::asio::post(shared_->io, [shared = shared_] {
    for (const auto& weak : shared->connections) {
      if (auto connection = weak.lock()) connection->Close();
    }
    shared->connections.clear();
  });
}

}  // namespace flare
