#include "rpc/raw_peer_connection.h"

#include <unistd.h>

#include <array>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>

#include "rpc/peer_messages.h"
#include "rpc/raw_peer_protocol.h"
#include "rpc/tcp_options.h"

namespace flare {

using boost::asio::ip::tcp;

// The dial and the hello's answer; its handlers hold it (and the link).
struct RawPeerConnection::Dial : std::enable_shared_from_this<Dial> {
  Dial(boost::asio::io_context& loop, std::string address, std::shared_ptr<RawLink> link,
       std::chrono::milliseconds timeout)
      : address(std::move(address)),
        link(std::move(link)),
        timeout(timeout),
        resolver(loop),
        timer(loop) {}

  void Start() {
    std::string host, port;
    if (absl::Status valid = SplitHostPort(address, &host, &port); !valid.ok()) {
      link->Close(valid);
      return;
    }
    timer.expires_after(timeout);
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
      if (error || self->answered) return;
      self->resolver.cancel();
      self->link->Close(absl::DeadlineExceededError(
          "no flare node answered at " + self->address + " within " +
          std::to_string(self->timeout.count()) + " ms"));
    });
    resolver.async_resolve(
        host, port,
        [self = shared_from_this()](const boost::system::error_code& error,
                                    tcp::resolver::results_type found) {
          if (self->link->closed()) return;
          if (error) {
            self->Fail("cannot resolve it: " + error.message());
            return;
          }
          boost::asio::async_connect(
              self->link->socket(), found,
              [self](const boost::system::error_code& error, const tcp::endpoint&) {
                if (self->link->closed()) return;
                if (error) {
                  self->Fail(error.message());
                  return;
                }
                const int fd = self->link->socket().native_handle();
                SendSmallWritesAtOnce(fd);
                KeepConnectionAlive(fd);
                self->link->StartWriting();  // the hello, then what was sent meanwhile
                self->ReadAnswer();
              });
        });
  }

  void ReadAnswer() {
    boost::asio::async_read(
        link->socket(), boost::asio::buffer(header),
        [self = shared_from_this()](const boost::system::error_code& error, size_t) {
          if (self->link->closed()) return;
          if (error) {
            self->Fail("it closed the connection before answering (" + error.message() + ")");
            return;
          }
          const uint32_t code = GetU32(self->header.data());
          const uint32_t length = GetU32(self->header.data() + 4);
          if (code == 0 && length == 0) {
            self->answered = true;
            self->timer.cancel();
            self->link->StartReading();
            return;
          }
          if (code == 0 || code > 16 || length > kMaxRawPeerRefusalBytes) {
            self->Fail("it answered the hello with bytes that are not flare's");
            return;
          }
          self->refusal.resize(length);
          boost::asio::async_read(
              self->link->socket(), boost::asio::buffer(self->refusal),
              [self, code](const boost::system::error_code& error, size_t) {
                if (self->link->closed()) return;
                self->link->Close(absl::Status(
                    static_cast<absl::StatusCode>(code),
                    "the node at " + self->address + " refused this node: " +
                        (error ? "(its reason was cut short)" : self->refusal)));
              });
        });
  }

  void Fail(const std::string& why) {
    link->Close(absl::UnavailableError("no flare node answered at " + address + " (" + why + ")"));
  }

  const std::string address;
  std::shared_ptr<RawLink> link;
  const std::chrono::milliseconds timeout;
  tcp::resolver resolver;
  boost::asio::steady_timer timer;
  std::array<char, kRawPeerAnswerHeaderBytes> header{};
  std::string refusal;
  bool answered = false;
};

RawPeerConnection::RawPeerConnection(boost::asio::io_context& loop, const std::string& address,
                                     const std::string& token, const NodeId& self,
                                     PeerCallbacks callbacks, StreamLimits limits,
                                     std::chrono::milliseconds answer_timeout) {
  RawLink::Callbacks link_callbacks;
  link_callbacks.on_message = std::move(callbacks.on_message);
  link_callbacks.on_closed = std::move(callbacks.on_closed);
  link_ = std::make_shared<RawLink>(tcp::socket(loop),
                                    RawLink::Limits{limits.max_message_bytes,
                                                    limits.max_queued_bytes},
                                    std::move(link_callbacks));
  link_->QueueBytes(EncodePeerHello(token));
  rpc::Message hello;
  auto* registration = hello.mutable_register_client();
  registration->set_kind(rpc::PEER);
  registration->set_pid(getpid());
  registration->set_node_id(self.Binary());
  SendFitted(std::move(hello), false).IgnoreError();  // a fresh link takes it
  std::make_shared<Dial>(loop, address, link_, answer_timeout)->Start();
}

RawPeerConnection::~RawPeerConnection() { link_->Abandon(); }

absl::Status RawPeerConnection::SendFitted(rpc::Message message, bool held) {
  return PushToPeer(*link_, std::move(message), "a link to another node", held);
}

}  // namespace flare
