#include "rpc/peer_pool.h"

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
    PeerConnection::Callbacks callbacks;
    callbacks.on_message = [this, node](rpc::Message& message) {
      if (callbacks_.on_message) callbacks_.on_message(node, message);
    };
    callbacks.on_closed = [this, node](const absl::Status& status) {
      // Not dialed again until the GCS's view says it is alive.
      Forget(node);
      if (callbacks_.on_lost) callbacks_.on_lost(node, std::string(status.message()));
    };
    it = links_
             .emplace(node, std::make_unique<PeerConnection>(loop_, address->second, token_, self_,
                                                             std::move(callbacks)))
             .first;
  }
  const bool held = IsHousekeeping(message);
  if (!it->second->SendFitted(message, held).ok()) return false;
  if (held) ScheduleFlush();
  return true;
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
