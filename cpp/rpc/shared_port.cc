#include "rpc/shared_port.h"

#include <sys/socket.h>

#include <cstring>
#include <utility>

#include <boost/asio/steady_timer.hpp>
#include <grpcpp/server_posix.h>

namespace flare {

using boost::asio::ip::tcp;

namespace {

constexpr size_t kMaxMagicBytes = 64;

// "10.0.0.2" or "::1" (maybe "[::1]") as a resolver wants it.
std::string Unbracketed(const std::string& host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

void SetLowWater(tcp::socket& socket, int bytes) {
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof(bytes));
}

}  // namespace

SharedPort::SharedPort(std::unique_ptr<grpc::Server> server, RawRoutes raw,
                       SharedPortOptions options)
    : server_(std::move(server)),
      raw_(std::move(raw)),
      options_(options),
      guard_(io_.get_executor()),
      acceptor_(io_),
      retry_(io_) {}

absl::StatusOr<std::unique_ptr<SharedPort>> SharedPort::Start(
    const std::string& host, int port,
    const std::function<void(grpc::ServerBuilder&)>& configure, RawRoutes raw,
    SharedPortOptions options) {
  const std::string address = host + ":" + std::to_string(port);
  for (const RawRoute& route : raw) {
    if (!route.handler || route.magic.empty() || route.magic.size() > kMaxMagicBytes) {
      return absl::InvalidArgumentError("a raw route needs a handler and a magic of 1-64 bytes");
    }
    if (route.magic.size() != raw.front().magic.size()) {
      return absl::InvalidArgumentError("the raw routes of one port need magics of one length");
    }
  }
  grpc::ServerBuilder builder;
  configure(builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) return absl::InternalError("cannot start the gRPC server for " + address);
  std::unique_ptr<SharedPort> shared(
      new SharedPort(std::move(server), std::move(raw), options));
  if (!shared->raw_.empty()) shared->magic_bytes_ = shared->raw_.front().magic.size();

  boost::system::error_code error;
  tcp::resolver resolver(shared->io_);
  tcp::resolver::results_type found =
      resolver.resolve(Unbracketed(host), std::to_string(port), error);
  if (error || found.empty()) {
    return absl::InvalidArgumentError("cannot listen on " + address + ": " + error.message());
  }
  const tcp::endpoint endpoint = *found.begin();
  shared->acceptor_.open(endpoint.protocol(), error);
  // SO_REUSEADDR only lets a restarted node take its port back from
  // connections in TIME_WAIT; on Linux it never shares a port that is
  // listening.
  if (!error) shared->acceptor_.set_option(tcp::acceptor::reuse_address(true), error);
  if (!error) shared->acceptor_.bind(endpoint, error);
  if (!error) shared->acceptor_.listen(SOMAXCONN, error);
  if (error) {
    return absl::UnavailableError("cannot listen on " + address +
                                  ": the port is in use or the address is not this machine's (" +
                                  error.message() + ")");
  }
  shared->port_ = shared->acceptor_.local_endpoint().port();
  shared->acceptor_.native_non_blocking(true, error);
  shared->Accept();
  shared->thread_ = std::thread([raw_port = shared.get()] { raw_port->io_.run(); });
  return shared;
}

void SharedPort::Accept() {
  acceptor_.async_accept([this](const boost::system::error_code& error, tcp::socket socket) {
    if (error == boost::asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!error) {
      reserve_.Accepted("connections to port " + std::to_string(port_));
      if (!raw_.empty()) {
        Sniff(std::make_shared<tcp::socket>(std::move(socket)));
      } else {
        HandOn(socket);
      }
    } else if (IsOutOfDescriptors(error.value())) {
      // Refused (closed at once) rather than left to hang, and no spin.
      reserve_.RefuseWhileOut(acceptor_.native_handle(),
                              "connections to port " + std::to_string(port_));
      retry_.expires_after(std::chrono::milliseconds(100));
      retry_.async_wait([this](const boost::system::error_code& error) {
        if (!error) Accept();
      });
      return;
    }
    Accept();
  });
}

void SharedPort::Sniff(std::shared_ptr<tcp::socket> socket) {
  // The socket becomes readable once the whole magic is there, or the
  // peer closed: no polling for a magic that arrives in pieces.
  SetLowWater(*socket, static_cast<int>(magic_bytes_));
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, options_.first_bytes_timeout);
  timer->async_wait([socket](const boost::system::error_code& error) {
    boost::system::error_code ignored;
    if (!error) socket->close(ignored);  // too slow to say anything: cancels the wait below
  });
  sniffing_.insert(socket);
  socket->async_wait(tcp::socket::wait_read, [this, socket,
                                              timer](const boost::system::error_code& error) {
    timer->cancel();
    sniffing_.erase(socket);
    if (error || !socket->is_open()) return;
    char first[kMaxMagicBytes];
    const size_t want = magic_bytes_;
    const ssize_t n = ::recv(socket->native_handle(), first, want, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 || static_cast<size_t>(n) < want) return;  // closed before saying enough
    SetLowWater(*socket, 1);
    for (const RawRoute& route : raw_) {
      if (std::memcmp(first, route.magic.data(), want) == 0) {
        const int family = socket->local_endpoint().protocol().family();
        route.handler(socket->release(), family);
        return;
      }
    }
    HandOn(*socket);
  });
}

void SharedPort::HandOn(tcp::socket& socket) {
  // gRPC reads a handed-on socket on its poller threads and expects it not
  // to block: an accepted socket does, and one read that waits for bytes
  // stalls every call that poller serves, keepalive acks included (the
  // peer's watchdog then ends the connection).
  boost::system::error_code ignored;
  socket.native_non_blocking(true, ignored);
  socket.set_option(tcp::no_delay(true), ignored);
  grpc::AddInsecureChannelFromFd(server_.get(), socket.release());
}

void SharedPort::Shutdown(std::chrono::milliseconds grace) {
  if (shut_down_) return;
  shut_down_ = true;
  guard_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
  // The thread is gone: what it owned is this thread's now.
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  for (const auto& socket : sniffing_) socket->close(ignored);
  sniffing_.clear();
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  server_->Wait();
}

}  // namespace flare
