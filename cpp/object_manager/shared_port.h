// One TCP port for gRPC and for raw data connections, so that a node keeps
// listening on a single port (DESIGN.md, Cluster) while bulk bytes bypass
// HTTP/2. It owns the listening socket and looks at the first 8 bytes of
// each accepted connection without reading them: kRawMagic hands the socket
// to the raw handler (RawSender::Adopt), anything else (gRPC's HTTP/2
// preface) to the gRPC server, which has no listening port of its own.
//
// The node's ClusterServer can adopt this by building its server through
// Start's `configure` instead of AddListeningPort.
//
// Thread rules: accepting and sniffing run on a thread of its own; `raw`
// is called there. Start and Shutdown from any one thread.
#ifndef FLARE_OBJECT_MANAGER_SHARED_PORT_H_
#define FLARE_OBJECT_MANAGER_SHARED_PORT_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"

namespace flare {

class SharedPort {
 public:
  // Called with a connected socket (and its address family) whose unread
  // bytes start with kRawMagic; takes ownership of it.
  using RawHandler = std::function<void(int fd, int family)>;

  // Listens on host:port (0: the kernel picks). `configure` registers the
  // gRPC services and settings. A port already in use is an error naming it.
  static absl::StatusOr<std::unique_ptr<SharedPort>> Start(
      const std::string& host, int port,
      const std::function<void(grpc::ServerBuilder&)>& configure, RawHandler raw);
  ~SharedPort() { Shutdown(); }

  int port() const { return port_; }
  grpc::Server* grpc_server() { return server_.get(); }
  // Stops accepting and ends every gRPC call, waiting at most `grace` for
  // them. Raw connections belong to their handler. Idempotent.
  void Shutdown(std::chrono::milliseconds grace = std::chrono::milliseconds(200));

 private:
  SharedPort(std::unique_ptr<grpc::Server> server, RawHandler raw);
  void Accept();
  // Waits for the connection's first bytes and hands it on.
  void Sniff(std::shared_ptr<boost::asio::ip::tcp::socket> socket,
             std::chrono::steady_clock::time_point deadline);

  std::unique_ptr<grpc::Server> server_;
  RawHandler raw_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace flare

#endif  // FLARE_OBJECT_MANAGER_SHARED_PORT_H_
