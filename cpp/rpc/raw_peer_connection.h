// This raylet as a client of another node's raylet over a raw link
// (raw_peer_protocol.h): it dials the node's port, says hello with the
// cluster token, registers as a PEER and sends the local protocol's
// messages, pipelined behind the hello. The event loop does all of it
// (RawLink); the answer, and every message after, arrive there.
//
// A node that does not accept the connection and answer the hello within
// `answer_timeout` (a dead or unreachable machine) ends the link
// with a message naming its address; so does a refused token, with the
// other node's reason. Event loop only.
#ifndef FLARE_RPC_RAW_PEER_CONNECTION_H_
#define FLARE_RPC_RAW_PEER_CONNECTION_H_

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "common/ids.h"
#include "rpc/channel_args.h"
#include "rpc/peer_link.h"
#include "rpc/raw_link.h"

namespace flare {

inline constexpr std::chrono::seconds kRawPeerAnswerTimeout{5};

class RawPeerConnection : public PeerLink {
 public:
  // Dials `address` ("host:port") and registers as the peer `self`.
  RawPeerConnection(boost::asio::io_context& loop, const std::string& address,
                    const std::string& token, const NodeId& self, PeerCallbacks callbacks,
                    StreamLimits limits = {},
                    std::chrono::milliseconds answer_timeout = kRawPeerAnswerTimeout);
  // Closes the link; the callbacks are not called.
  ~RawPeerConnection() override;

  absl::Status SendFitted(rpc::Message message, bool held) override;
  void Flush() override { link_->Flush(); }

 private:
  struct Dial;
  std::shared_ptr<RawLink> link_;
};

}  // namespace flare

#endif  // FLARE_RPC_RAW_PEER_CONNECTION_H_
