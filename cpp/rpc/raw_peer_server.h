// The answering end of raw links between raylets (raw_peer_protocol.h): the
// node's port hands it each connection that opens with the raw peer magic
// (route()); on the event loop it reads the hello, checks the cluster token
// (constant time) and answers, then gives the link to the local IPC server,
// which handles the peer exactly like a local client (kind PEER). A
// connection that does not finish its hello within `hello_timeout` is
// closed; a wrong or missing token gets the reason and is closed, and none
// of its frames is read.
//
// Lifetime: create it before the port that routes to it and destroy it
// after that port has shut down.
#ifndef FLARE_RPC_RAW_PEER_SERVER_H_
#define FLARE_RPC_RAW_PEER_SERVER_H_

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "raylet/local_server.h"
#include "rpc/channel_args.h"
#include "rpc/shared_port.h"

namespace flare {

class RawPeerServer {
 public:
  RawPeerServer(boost::asio::io_context& loop, LocalServer& clients, std::string token,
                StreamLimits limits = {},
                std::chrono::milliseconds hello_timeout = std::chrono::seconds(10))
      : loop_(loop),
        clients_(clients),
        token_(std::move(token)),
        limits_(limits),
        hello_timeout_(hello_timeout) {}

  // Where the port sends raw peer connections (from its own thread).
  SharedPort::RawRoute route();

 private:
  struct Hello;
  // On the loop: the hello was right; the link goes to the local server.
  void Accept(boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& loop_;
  LocalServer& clients_;
  const std::string token_;
  const StreamLimits limits_;
  const std::chrono::milliseconds hello_timeout_;
};

}  // namespace flare

#endif  // FLARE_RPC_RAW_PEER_SERVER_H_
