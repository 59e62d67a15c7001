#include "rpc/peer_pool.h"

#include "rpc/peer_connection.h"
#include "rpc/raw_peer_connection.h"

namespace flare {

void PeerPool::SetAddress(const NodeId& node, const std::string& address) {
  addresses_[node] = address;
}

const std::string* PeerPool::AddressOf(const NodeId& node) const {
  auto it = addresses_.find(node);
  return it == addresses_.end() ? nullptr : &it->second;
}

void PeerPool::Forget(const NodeId& node) {
  addresses_.erase(node);
  auto it = links_.find(node);
  if (it == links_.end()) return;
  closed_.push_back(std::move(it->second));
  links_.erase(it);
}

bool PeerPool::Send(const NodeId& node, const rpc::Message& message) {
  auto it = links_.find(node);
  if (it == links_.end()) {
    auto address = addresses_.find(node);
    if (address == addresses_.end()) return false;
    it = links_.emplace(node, Dial(node, address->second)).first;
  }
  const bool held = IsHousekeeping(message);
  if (!it->second->SendFitted(message, held).ok()) return false;
  if (held) ScheduleFlush();
  return true;
}

std::unique_ptr<PeerLink> PeerPool::Dial(const NodeId& node, const std::string& address) {
  auto on_message = [this, node](rpc::Message& message) {
    if (callbacks_.on_message) callbacks_.on_message(node, message);
  };
  // The link, once made: a link that ends after another replaced it leaves
  // that one alone.
  auto made = std::make_shared<const PeerLink*>(nullptr);
  auto on_closed = [this, node, made](const absl::Status& status) {
    auto it = links_.find(node);
    // Not dialed again until the GCS's view says it is alive.
    if (it != links_.end() && it->second.get() == *made) Forget(node);
    if (callbacks_.on_lost) callbacks_.on_lost(node, std::string(status.message()));
  };
  std::unique_ptr<PeerLink> link;
  if (transport_ == PeerTransport::kRaw) {
    link = std::make_unique<RawPeerConnection>(loop_, address, token_, self_,
                                               PeerCallbacks{on_message, on_closed});
  } else {
    link = std::make_unique<PeerConnection>(loop_, address, token_, self_,
                                            PeerConnection::Callbacks{on_message, on_closed});
  }
  *made = link.get();
  return link;
}

void PeerPool::ScheduleFlush() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  flush_timer_.expires_after(kHousekeepingDelay);
  flush_timer_.async_wait([this](const boost::system::error_code& error) {
    flush_scheduled_ = false;
    if (error) return;
    for (auto& [node, link] : links_) link->Flush();
  });
}

}  // namespace flare
