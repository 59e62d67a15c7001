#include "rpc/raw_peer_server.h"

#include <unistd.h>

#include <array>
#include <cstring>
#include <iostream>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "raylet/client_link.h"
#include "rpc/peer_messages.h"
#include "rpc/raw_link.h"
#include "rpc/raw_peer_protocol.h"
#include "rpc/tcp_options.h"
#include "rpc/token.h"

namespace flare {

using boost::asio::ip::tcp;

namespace {

// A peer's raw link as the local server sees it.
class RawPeerClient : public ClientLink {
 public:
  void Send(const rpc::Message& message) override { Push(message); }
  bool SendWithFd(const rpc::Message& message, int) override {
    return Push(message);  // a peer maps no arena of ours
  }
  void Close() override { link->CloseAfterWrites(); }
  void Refuse(const absl::Status& why) override {
    std::cerr << "flare-raylet: dropping a node's link: " << why.message() << "\n";
    link->CloseAfterWrites();
  }

  std::shared_ptr<RawLink> link;
  ClientId id = 0;

 private:
  bool Push(const rpc::Message& message) {
    return PushToPeer(*link, message, "a node's link").ok();
  }
};

}  // namespace

// One connection's hello; its handlers hold it.
struct RawPeerServer::Hello : std::enable_shared_from_this<Hello> {
  Hello(RawPeerServer& server, tcp::socket socket)
      : server(server), socket(std::move(socket)), timer(server.loop_) {}

  void Start() {
    timer.expires_after(server.hello_timeout_);
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
      if (error || self->done) return;
      boost::system::error_code ignored;
      self->socket.close(ignored);  // cancels the read below
    });
    boost::asio::async_read(
        socket, boost::asio::buffer(header),
        [self = shared_from_this()](const boost::system::error_code& error, size_t) {
          if (error) return;
          const uint32_t length = GetU32(self->header.data() + kRawPeerMagicBytes);
          if (std::memcmp(self->header.data(), kRawPeerMagic, kRawPeerMagicBytes) != 0 ||
              length > kMaxRawPeerTokenBytes) {
            self->Refuse(absl::InvalidArgumentError("the hello is not a flare node's"));
            return;
          }
          self->token.resize(length);
          boost::asio::async_read(
              self->socket, boost::asio::buffer(self->token),
              [self](const boost::system::error_code& error, size_t) {
                if (error) return;
                const grpc::Status allowed = CheckPresentedToken(
                    self->token.empty() ? std::nullopt
                                        : std::optional<std::string_view>(self->token),
                    self->server.token_);
                if (!allowed.ok()) {
                  self->Refuse(absl::Status(static_cast<absl::StatusCode>(allowed.error_code()),
                                            allowed.error_message()));
                  return;
                }
                self->done = true;
                self->timer.cancel();
                self->server.Accept(std::move(self->socket));
              });
        });
  }

  // Answers with `why` and closes once it is written.
  void Refuse(const absl::Status& why) {
    done = true;
    timer.cancel();
    answer = EncodePeerAnswer(why);
    boost::asio::async_write(socket, boost::asio::buffer(answer),
                             [self = shared_from_this()](const boost::system::error_code&, size_t) {
                               boost::system::error_code ignored;
                               self->socket.shutdown(tcp::socket::shutdown_both, ignored);
                               self->socket.close(ignored);
                             });
  }

  RawPeerServer& server;
  tcp::socket socket;
  boost::asio::steady_timer timer;
  std::array<char, kRawPeerHelloHeaderBytes> header{};
  std::string token;
  std::string answer;
  bool done = false;
};

SharedPort::RawRoute RawPeerServer::route() {
  return {std::string(kRawPeerMagic, kRawPeerMagicBytes), [this](int fd, int family) {
            boost::asio::post(loop_, [this, fd, family] {
              boost::system::error_code error;
              tcp::socket socket(loop_);
              socket.assign(family == AF_INET6 ? tcp::v6() : tcp::v4(), fd, error);
              if (error) {
                ::close(fd);
                return;
              }
              SendSmallWritesAtOnce(fd);
              KeepConnectionAlive(fd);
              std::make_shared<Hello>(*this, std::move(socket))->Start();
            });
          }};
}

void RawPeerServer::Accept(tcp::socket socket) {
  auto client = std::make_shared<RawPeerClient>();
  RawLink::Callbacks callbacks;
  LocalServer& clients = clients_;
  callbacks.on_message = [&clients, client](rpc::Message& message) {
    clients.OnLinkMessage(client->id, message);
  };
  callbacks.on_closed = [&clients, client](const absl::Status& why) {
    if (absl::IsAborted(why) || absl::IsDataLoss(why)) {
      std::cerr << "flare-raylet: ending a node's link: " << why.message() << "\n";
    }
    clients.OnLinkClosed(client->id);
  };
  client->link = std::make_shared<RawLink>(
      std::move(socket), RawLink::Limits{limits_.max_message_bytes, limits_.max_queued_bytes},
      std::move(callbacks));
  client->link->QueueBytes(EncodePeerAnswer(absl::OkStatus()));
  client->id = clients_.AddLink(client);
  client->link->StartWriting();
  client->link->StartReading();
}

}  // namespace flare
