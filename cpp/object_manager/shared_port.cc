#include "object_manager/shared_port.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <grpcpp/server_posix.h>

#include "object_manager/raw_protocol.h"

namespace flare {

using boost::asio::ip::tcp;

namespace {

// How long a new connection may take to send its first 8 bytes.
constexpr std::chrono::seconds kSniffTimeout(10);

}  // namespace

SharedPort::SharedPort(std::unique_ptr<grpc::Server> server, RawHandler raw)
    : server_(std::move(server)),
      raw_(std::move(raw)),
      guard_(io_.get_executor()),
      acceptor_(io_) {}

absl::StatusOr<std::unique_ptr<SharedPort>> SharedPort::Start(
    const std::string& host, int port,
    const std::function<void(grpc::ServerBuilder&)>& configure, RawHandler raw) {
  const std::string address = host + ":" + std::to_string(port);
  grpc::ServerBuilder builder;
  configure(builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) return absl::InternalError("cannot start the gRPC server for " + address);
  std::unique_ptr<SharedPort> shared(new SharedPort(std::move(server), std::move(raw)));

  boost::system::error_code error;
  tcp::resolver resolver(shared->io_);
  tcp::resolver::results_type found = resolver.resolve(host, std::to_string(port), error);
  if (error || found.empty()) {
    return absl::InvalidArgumentError("cannot listen on " + address + ": " + error.message());
  }
  const tcp::endpoint endpoint = *found.begin();
  shared->acceptor_.open(endpoint.protocol(), error);
  if (!error) shared->acceptor_.set_option(tcp::acceptor::reuse_address(true), error);
  if (!error) shared->acceptor_.bind(endpoint, error);
  if (!error) shared->acceptor_.listen(SOMAXCONN, error);
  if (error) {
    return absl::UnavailableError("cannot listen on " + address +
                                  ": the port is in use or the address is not this machine's (" +
                                  error.message() + ")");
  }
  shared->port_ = shared->acceptor_.local_endpoint().port();
  shared->Accept();
  shared->thread_ = std::thread([raw_port = shared.get()] { raw_port->io_.run(); });
  return shared;
}

void SharedPort::Accept() {
  acceptor_.async_accept([this](const boost::system::error_code& error, tcp::socket socket) {
    if (error == boost::asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!error) {
      Sniff(std::make_shared<tcp::socket>(std::move(socket)),
            std::chrono::steady_clock::now() + kSniffTimeout);
    }
    Accept();
  });
}

void SharedPort::Sniff(std::shared_ptr<tcp::socket> socket,
                       std::chrono::steady_clock::time_point deadline) {
  socket->async_wait(tcp::socket::wait_read, [this, socket,
                                              deadline](const boost::system::error_code& error) {
    if (error) return;
    char first[kRawMagicBytes];
    const ssize_t n = ::recv(socket->native_handle(), first, sizeof(first), MSG_PEEK);
    if (n <= 0) return;  // closed before saying anything
    if (static_cast<size_t>(n) < sizeof(first)) {
      if (std::chrono::steady_clock::now() >= deadline) return;
      // The rest is on its way; look again shortly (the socket stays readable).
      auto timer = std::make_shared<boost::asio::steady_timer>(io_, std::chrono::milliseconds(1));
      timer->async_wait([this, socket, deadline, timer](const boost::system::error_code&) {
        Sniff(socket, deadline);
      });
      return;
    }
    const int family = socket->local_endpoint().protocol().family();
    const int fd = socket->release();
    if (std::memcmp(first, kRawMagic, kRawMagicBytes) == 0 && raw_) {
      raw_(fd, family);
    } else {
      grpc::AddInsecureChannelFromFd(server_.get(), fd);
    }
  });
}

void SharedPort::Shutdown(std::chrono::milliseconds grace) {
  if (shut_down_) return;
  shut_down_ = true;
  boost::asio::post(io_, [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
  guard_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  server_->Wait();
}

}  // namespace flare
