// A node's link to the GCS on the head: the stream (GcsConnection) and the
// RemoteGcsClient the node manager calls through it.
//
// When the stream ends, what happens depends on why (WaitsForHead):
//   - the head became unreachable (its process died: Unavailable) after
//     this node had joined, and a reconnect wait is set: the node keeps
//     running. The link dials the head again with backoff (100 ms, doubling
//     up to 2 s) for as long as it takes; each new stream registers the
//     node again and sends what waited (RemoteGcsClient). GCS calls wait
//     meanwhile, up to the reconnect wait each.
//   - anything else (the head declared this node dead, refused it, or
//     stopped on purpose; or it never answered before the node joined):
//     `on_lost` is told, and the node stops, as before head restarts.
//
// Owns the stream and the client. Thread-compatible: the raylet's event
// loop is its only user; Close must run after the loop stopped.
#ifndef FLARE_RPC_GCS_LINK_H_
#define FLARE_RPC_GCS_LINK_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/status/status.h"
#include "gcs/remote_gcs_client.h"
#include "rpc/gcs_connection.h"

namespace flare {

// Whether a node whose GCS stream ended for `why` waits for the head to
// come back (true) or stops (false).
bool WaitsForHead(const absl::Status& why, bool joined, std::chrono::milliseconds reconnect_wait);

class GcsLink {
 public:
  struct Options {
    std::string address;  // the head's host:port
    std::string token;
    std::chrono::milliseconds reconnect_wait{20000};
    size_t max_request_bytes = 64 << 20;
  };

  // Opens the stream. `on_lost` is called (on the loop) when the node must
  // stop; it may be called more than once.
  GcsLink(boost::asio::io_context& loop, Options options,
          std::function<void(const absl::Status&)> on_lost);

  RemoteGcsClient& client() { return *client_; }
  // The GCS's view holds this node: from now on a lost head is waited for.
  void Joined() { joined_ = true; }
  bool joined() const { return joined_; }
  // Ends the stream and the retries. REQUIRES: the loop no longer runs.
  void Close();

 private:
  void Connect();
  void OnClosed(const absl::Status& why);
  void ExpireEvery(std::chrono::milliseconds period);

  boost::asio::io_context& loop_;
  Options options_;
  std::function<void(const absl::Status&)> on_lost_;
  std::unique_ptr<RemoteGcsClient> client_;
  std::unique_ptr<GcsConnection> connection_;
  boost::asio::steady_timer retry_;
  boost::asio::steady_timer expire_;
  std::chrono::milliseconds backoff_;
  bool joined_ = false;
  bool head_away_ = false;  // lost, and nothing heard from a new stream yet
  bool closed_ = false;
};

}  // namespace flare

#endif  // FLARE_RPC_GCS_LINK_H_
