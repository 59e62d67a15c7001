// One TCP port for gRPC and for raw connections, so that a node listens on a
// single port (DESIGN.md, Cluster) while bulk bytes bypass HTTP/2. It owns
// the listening socket and looks at the first bytes of each accepted
// connection without reading them: a connection that opens with a raw
// route's magic goes to that route's handler (the object manager's raw data
// connections, cpp/object_manager/raw_protocol.h; the links between raylets,
// rpc/raw_peer_protocol.h), anything else (gRPC's HTTP/2 preface) to the
// gRPC server, which has no listening port of its own.
// A connection that says too little within `first_bytes_timeout` is closed.
//
// Thread rules: accepting and sniffing run on a thread of its own; the raw
// handler is called there. Start and Shutdown from any one thread.
#ifndef FLARE_RPC_SHARED_PORT_H_
#define FLARE_RPC_SHARED_PORT_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "common/fd_reserve.h"

namespace flare {

struct SharedPortOptions {
  // How long a connection may take to send as many bytes as the raw magic has.
  std::chrono::milliseconds first_bytes_timeout{10000};
};

class SharedPort {
 public:
  // Called with a connected socket (and its address family) whose unread
  // bytes start with the route's magic; takes ownership of it.
  using RawHandler = std::function<void(int fd, int family)>;
  // Where raw connections that open with `magic` go. The routes of one
  // port have magics of one length. No route: every connection is gRPC's.
  struct RawRoute {
    std::string magic;  // 1-64 bytes that no HTTP/2 preface starts with
    RawHandler handler;
  };
  using RawRoutes = std::vector<RawRoute>;

  // Listens on host:port (0: the kernel picks) and on nothing else.
  // `configure` registers the gRPC services and settings. A port already in
  // use is an error naming it (no SO_REUSEPORT sharing).
  static absl::StatusOr<std::unique_ptr<SharedPort>> Start(
      const std::string& host, int port,
      const std::function<void(grpc::ServerBuilder&)>& configure, RawRoutes raw = {},
      SharedPortOptions options = {});
  ~SharedPort() { Shutdown(); }
  SharedPort(const SharedPort&) = delete;
  SharedPort& operator=(const SharedPort&) = delete;

  int port() const { return port_; }
  grpc::Server* grpc_server() { return server_.get(); }
  // Stops accepting, closes connections not yet handed on and ends every
  // gRPC call, waiting at most `grace` for them. Raw connections belong to
  // their handler. Idempotent.
  void Shutdown(std::chrono::milliseconds grace = std::chrono::milliseconds(200));

 private:
  SharedPort(std::unique_ptr<grpc::Server> server, RawRoutes raw, SharedPortOptions options);
  void Accept();
  // Waits for the connection's first bytes (or its end, or the timeout)
  // and hands it on.
  void Sniff(std::shared_ptr<boost::asio::ip::tcp::socket> socket);
  void HandOn(boost::asio::ip::tcp::socket& socket);

  std::unique_ptr<grpc::Server> server_;
  const RawRoutes raw_;
  size_t magic_bytes_ = 0;  // of every route's magic
  const SharedPortOptions options_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;  // out of descriptors: accepting again
  FdReserve reserve_;
  std::unordered_set<std::shared_ptr<boost::asio::ip::tcp::socket>> sniffing_;  // on the thread
  std::thread thread_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace flare

#endif  // FLARE_RPC_SHARED_PORT_H_
