#include "rpc/gcs_link.h"

#include <algorithm>
#include <iostream>
#include <utility>

namespace flare {

namespace {

constexpr std::chrono::milliseconds kFirstRetry{100};
constexpr std::chrono::milliseconds kMaxRetry{2000};
constexpr std::chrono::milliseconds kExpireCheck{100};

}  // namespace

bool WaitsForHead(const absl::Status& why, bool joined, std::chrono::milliseconds reconnect_wait) {
  return joined && reconnect_wait.count() > 0 && absl::IsUnavailable(why);
}

GcsLink::GcsLink(boost::asio::io_context& loop, Options options,
                 std::function<void(const absl::Status&)> on_lost)
    : loop_(loop),
      options_(std::move(options)),
      on_lost_(std::move(on_lost)),
      retry_(loop),
      expire_(loop),
      backoff_(kFirstRetry) {
  RemoteGcsClient::Options client;
  client.max_request_bytes = options_.max_request_bytes;
  client.reconnect_wait = options_.reconnect_wait;
  client_ = std::make_unique<RemoteGcsClient>(
      [this](rpc::GcsRequest request) {
        return connection_ && connection_->Send(std::move(request)).ok();
      },
      std::move(client));
  Connect();
  ExpireEvery(kExpireCheck);
}

void GcsLink::Connect() {
  connection_.reset();  // the old stream ended: nothing of it runs any more
  GcsConnection::Callbacks callbacks;
  callbacks.on_message = [this](const rpc::GcsPush& push) {
    if (head_away_) {
      std::cerr << "flare-raylet: the head at " << options_.address << " is back\n";
      head_away_ = false;
      backoff_ = kFirstRetry;
    }
    client_->OnPush(push);
  };
  callbacks.on_closed = [this](const absl::Status& why) { OnClosed(why); };
  connection_ = std::make_unique<GcsConnection>(loop_, options_.address, options_.token,
                                                std::move(callbacks));
}

void GcsLink::OnClosed(const absl::Status& why) {
  if (closed_) return;
  if (!WaitsForHead(why, joined_, options_.reconnect_wait)) {
    client_->OnDisconnected(why);
    on_lost_(why);
    return;
  }
  if (!head_away_) {
    head_away_ = true;
    std::cerr << "flare-raylet: lost the head: " << why.message()
              << "; this node keeps running and dials it again (GCS requests wait up to "
              << options_.reconnect_wait.count() / 1000.0 << " s)\n";
  }
  client_->OnDisconnected(why);
  retry_.expires_after(backoff_);
  backoff_ = std::min(backoff_ * 2, kMaxRetry);
  retry_.async_wait([this](const boost::system::error_code& error) {
    if (error || closed_) return;
    Connect();
    client_->Reconnected();  // a stream that fails at once ends again: OnClosed retries
  });
}

void GcsLink::ExpireEvery(std::chrono::milliseconds period) {
  expire_.expires_after(period);
  expire_.async_wait([this, period](const boost::system::error_code& error) {
    if (error || closed_) return;
    client_->ExpireWaiting(RemoteGcsClient::Clock::now());
    ExpireEvery(period);
  });
}

void GcsLink::Close() {
  closed_ = true;
  retry_.cancel();
  expire_.cancel();
  connection_.reset();  // waits for the stream to end
}

}  // namespace flare
