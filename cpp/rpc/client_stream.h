// This raylet's end of a bidirectional stream it opened to another node:
// the GCS on the head (GcsConnection) or another raylet (PeerConnection).
// What the other end sends and the stream's end are posted onto this
// raylet's event loop; Send may be called from any thread and queues on
// the stream's Outbox.
//
// Bounds (StreamLimits): a message larger than gRPC's limit is refused at
// Send instead of ending the stream; what was read and posted but not yet
// handled by the loop is bounded by a ReadBudget, past which the stream
// stops reading (the sender is then held back by gRPC's flow control).
//
// One stream per object: when it ends (the other side went, refused the
// token, or declared this node dead) `on_closed` gets the reason and the
// object is finished. Subclasses open the call in their constructor
// (`stub->async()->Connect(&context(), this)`, then Begin()).
#ifndef FLARE_RPC_CLIENT_STREAM_H_
#define FLARE_RPC_CLIENT_STREAM_H_

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/client_callback.h>

#include "absl/status/status.h"
#include "rpc/channel_args.h"
#include "rpc/loop_reads.h"
#include "rpc/outbox.h"
#include "rpc/peer_messages.h"
#include "rpc/read_budget.h"
#include "rpc/token.h"

namespace flare {

// gRPC's status as an absl::Status with a message a user can act on;
// `peer` names what was dialed ("head", "node").
absl::Status FromGrpc(const grpc::Status& status, const std::string& address,
                      const std::string& peer = "head");

// The log line for a stream this node ends because the other end stopped
// reading.
void LogStreamEnd(const std::string& peer, const std::string& address, const absl::Status& why);

// Calls `handle` with each message `message` carries (a peer stream's
// batches are unpacked, peer_messages.h).
template <typename Message, typename Handle>
void ForEachCarried(Message& message, Handle&& handle) {
  handle(message);
}
template <typename Handle>
void ForEachCarried(rpc::Message& message, Handle&& handle) {
  ForEachPeerMessage(message, handle);
}

template <typename Request, typename Response, typename Packer = OneByOne<Request>>
class ClientStream : public grpc::ClientBidiReactor<Request, Response> {
 public:
  struct Callbacks {
    std::function<void(Response&)> on_message;
    std::function<void(const absl::Status&)> on_closed;
  };

  // Cancels the stream and waits until gRPC is done with it. REQUIRES: the
  // event loop no longer runs, or runs nothing this stream posted
  // (callbacks posted refer to this object).
  ~ClientStream() override {
    context_.TryCancel();
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [this] { return done_; });
  }

  // Queues `request` (`held`: it may wait for the next one, see Outbox).
  // Unavailable once the stream has ended; ResourceExhausted, nothing sent,
  // when it is larger than a message between nodes may be.
  absl::Status Send(Request request, bool held = false) {
    return Checked(outbox_.Push(std::move(request), held));
  }
  // Writes what Send held back.
  void Flush() { outbox_.Flush(); }

  void OnReadDone(bool ok) override {
    if (!ok) {
      outbox_.Close(nullptr);
      return;
    }
    Response message = std::move(incoming_);
    incoming_.Clear();
    const bool read_on = PostToLoop(
        loop_, budget_, std::move(message),
        [this](Response& received) {
          ForEachCarried(received, [this](auto& one) {
            if (callbacks_.on_message) callbacks_.on_message(one);
          });
        },
        [this] { ResumeReading(); });
    if (read_on) this->StartRead(&incoming_);
  }
  void OnWriteDone(bool ok) override { outbox_.OnWriteDone(ok); }
  void OnDone(const grpc::Status& status) override {
    outbox_.Close(nullptr);
    boost::asio::post(loop_, [this, status = FromGrpc(status, address_, peer_name_)] {
      if (callbacks_.on_closed) callbacks_.on_closed(status);
    });
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    done_cv_.notify_all();
  }

 protected:
  // `peer_name` names the other end in errors ("head", "node").
  ClientStream(boost::asio::io_context& loop, const std::string& address,
               const std::string& token, std::string peer_name, Callbacks callbacks,
               StreamLimits limits)
      : loop_(loop),
        address_(address),
        peer_name_(std::move(peer_name)),
        callbacks_(std::move(callbacks)),
        channel_(NewChannel(address)),
        outbox_(this, limits.max_message_bytes, limits.max_queued_bytes),
        budget_(std::make_shared<ReadBudget>(limits.max_unhandled_bytes)) {
    AttachToken(context_, token);
  }

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  Outbox<Request, ClientStream, Packer>& outbox() { return outbox_; }
  grpc::ClientContext* context() { return &context_; }
  // What a push to the outbox said; ends the stream when the other end
  // stopped reading (Aborted).
  absl::Status Checked(absl::Status pushed) {
    if (absl::IsAborted(pushed)) {
      LogStreamEnd(peer_name_, address_, pushed);
      context_.TryCancel();
    }
    return pushed;
  }
  // Starts reading and the call. REQUIRES: the call was opened on context().
  void Begin() {
    this->StartRead(&incoming_);
    this->StartCall();
  }

 private:
  // The loop caught up with a paused stream.
  void ResumeReading() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!done_) this->StartRead(&incoming_);
  }

  boost::asio::io_context& loop_;
  const std::string address_;
  const std::string peer_name_;
  Callbacks callbacks_;
  std::shared_ptr<grpc::Channel> channel_;
  grpc::ClientContext context_;
  Response incoming_;  // the read in flight
  Outbox<Request, ClientStream, Packer> outbox_;
  std::shared_ptr<ReadBudget> budget_;
  std::mutex mu_;
  std::condition_variable done_cv_;
  bool done_ = false;
};

}  // namespace flare

#endif  // FLARE_RPC_CLIENT_STREAM_H_
