// RayletConnection: a client's link to its raylet once registered — the I/O
// thread that reads the socket, the table of requests waiting for replies,
// and sending.
//
// The I/O thread completes replies (messages carrying a request id, see
// pending_requests.h) itself and hands every other message to the
// Handler, then wakes the waiters once per batch. When the socket
// closes it closes the Waiter, so every wait fails fast.
//
// Thread-safe. The handler is called on the I/O thread only, without the
// client's lock.
#ifndef FLARE_CLIENT_RAYLET_CONNECTION_H_
#define FLARE_CLIENT_RAYLET_CONNECTION_H_

#include <functional>
#include <memory>
#include <thread>

#include "absl/status/statusor.h"
#include "client/channel.h"
#include "client/pending_requests.h"
#include "client/waiter.h"
#include "common/ids.h"
#include "flare.pb.h"

namespace flare {

class RayletConnection {
 public:
  // What the client does with a message from the raylet that is not a reply.
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void OnMessage(rpc::Message& message) = 0;
  };

  // `waiter` is borrowed and must outlive the connection.
  RayletConnection(std::shared_ptr<Channel> channel, Waiter& waiter)
      : channel_(std::move(channel)), waiter_(waiter) {}
  // Stops the I/O thread.
  ~RayletConnection();
  RayletConnection(const RayletConnection&) = delete;
  RayletConnection& operator=(const RayletConnection&) = delete;

  // Has the I/O thread also watch `fd` (see Channel::WatchFd).
  // REQUIRES: before Start.
  void WatchFd(int fd, std::function<void()> on_readable) {
    channel_->WatchFd(fd, std::move(on_readable));
  }
  // Starts the I/O thread. `handler` is borrowed until Stop.
  // REQUIRES: called once, after the channel's handshake.
  void Start(Handler& handler);
  // Sends what is deferred and stops the I/O thread; the handler is not
  // called after it returns. Idempotent.
  void Stop();

  bool alive() const { return !channel_->closed(); }

  // Sends `message` now, after everything deferred.
  absl::Status Send(const rpc::Message& message);
  // Queues `message` behind everything deferred (see Channel::SendDeferred).
  absl::Status SendDeferred(const rpc::Message& message);
  // Sends `request` with a fresh request id and waits for its reply.
  // InvalidArgument when `request`'s kind carries no request id.
  absl::StatusOr<rpc::Message> Call(rpc::Message request, int timeout_ms);
  // Returns once the raylet has handled everything sent before.
  absl::Status Barrier();

  // Reference-count updates and pin releases, batched (see Channel).
  void DeferRefAdd(const ObjectId& id, const NodeId& owner = NodeId()) {
    channel_->DeferRefAdd(id, owner);
  }
  void DeferRefRemove(const ObjectId& id) { channel_->DeferRefRemove(id); }
  void DeferPinRelease(const ObjectId& id) { channel_->DeferPinRelease(id); }
  void FlushDeferred() { channel_->FlushDeferred(); }

  // What pins of values read through this connection release themselves
  // through; it may outlive the connection (the pins are then moot).
  std::weak_ptr<PinReleaser> pin_releaser() const { return channel_; }

 private:
  void IoLoop(Handler& handler);
  // A send failed with `status`: the error names why the connection is gone.
  absl::Status SendError(const absl::Status& status) const;

  std::shared_ptr<Channel> channel_;
  Waiter& waiter_;
  PendingRequests pending_;  // guarded by waiter_.mutex()
  std::thread io_thread_;
};

}  // namespace flare

#endif  // FLARE_CLIENT_RAYLET_CONNECTION_H_
