// This raylet's links to the other nodes' raylets, one PeerLink per node
// (raw by default, or gRPC), opened on first use at the address the GCS's
// view gives. Implements
// the raylet's PeerChannel; what peers send back, and a link that breaks,
// go to the callbacks. Messages the other node is in no hurry for
// (IsHousekeeping: pins and references let go of) wait up to
// kHousekeepingDelay to ride in the batch of the next message to that node.
// Event loop only.
#ifndef FLARE_RPC_PEER_POOL_H_
#define FLARE_RPC_PEER_POOL_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/container/flat_hash_map.h"
#include "raylet/node_io.h"
#include "rpc/peer_link.h"

namespace flare {

// How long a housekeeping message may wait for company.
inline constexpr std::chrono::microseconds kHousekeepingDelay{1000};

class PeerPool : public PeerChannel {
 public:
  struct Callbacks {
    std::function<void(const NodeId&, rpc::Message&)> on_message;
    std::function<void(const NodeId&, const std::string& why)> on_lost;
  };

  PeerPool(boost::asio::io_context& loop, std::string token, const NodeId& self,
           PeerTransport transport = PeerTransport::kRaw)
      : loop_(loop),
        token_(std::move(token)),
        self_(self),
        transport_(transport),
        flush_timer_(loop) {}
  // REQUIRES: the loop no longer runs.
  ~PeerPool() = default;

  void set_callbacks(Callbacks callbacks) { callbacks_ = std::move(callbacks); }
  // Where `node` listens ("host:port"), from the GCS's view.
  void SetAddress(const NodeId& node, const std::string& address);
  // The node is gone: its link closes and it is not dialed again.
  void Forget(const NodeId& node);

  bool Send(const NodeId& node, const rpc::Message& message) override;
  const std::string* AddressOf(const NodeId& node) const;

 private:
  // Writes what the links hold back, soon.
  void ScheduleFlush();
  std::unique_ptr<PeerLink> Dial(const NodeId& node, const std::string& address);

  boost::asio::io_context& loop_;
  const std::string token_;
  const NodeId self_;
  const PeerTransport transport_;
  Callbacks callbacks_;
  absl::flat_hash_map<NodeId, std::string, IdHash> addresses_;
  absl::flat_hash_map<NodeId, std::unique_ptr<PeerLink>, IdHash> links_;
  // Links that ended: destroyed with the pool (their callbacks may still be
  // queued on the loop).
  std::vector<std::unique_ptr<PeerLink>> closed_;
  boost::asio::steady_timer flush_timer_;
  bool flush_scheduled_ = false;
};

}  // namespace flare

#endif  // FLARE_RPC_PEER_POOL_H_
