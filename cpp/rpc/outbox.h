// The writes of one gRPC callback-API stream, from any thread. The API
// allows one write in flight per stream, so messages queue here and go out
// as each write completes; a `Packer` decides what one write carries (the
// default: one message; peer streams pack every queued message into one
// batch, peer_messages.h), so a burst of messages costs one write, not one
// each.
//
// Bounds: a message larger than `max_message_bytes` is refused at Push
// (gRPC would end the whole stream on it), and no write carries more. What
// waits to be written is bounded by `max_queued_bytes`: a push past it
// means the other end stopped reading, and the outbox gives up (Aborted;
// the owner then ends the stream) rather than grow without limit.
//
// `Reactor` is a grpc::ServerBidiReactor or ClientBidiReactor; its
// OnWriteDone must call OnWriteDone here. Thread-safe. StartWrite runs under
// the lock: gRPC runs a user reactor's OnWriteDone on its own threads, never
// inline, so that cannot deadlock, and it keeps Close() from racing a write.
#ifndef FLARE_RPC_OUTBOX_H_
#define FLARE_RPC_OUTBOX_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <utility>

#include <google/protobuf/message_lite.h>
#include <grpcpp/support/byte_buffer.h>

#include "absl/status/status.h"

namespace flare {

// A message's size on the wire.
inline size_t WireBytes(const google::protobuf::MessageLite& message) {
  return message.ByteSizeLong();
}
inline size_t WireBytes(const grpc::ByteBuffer& buffer) { return buffer.Length(); }

// One message per write.
template <typename Message>
struct OneByOne {
  // Moves what the next write carries from the front of `queue` (not
  // empty) into `out`; `sizes` runs parallel to `queue`. Never more than
  // `budget` bytes unless the first message alone is larger. Returns the
  // sizes taken, summed.
  static size_t Pack(std::deque<Message>& queue, std::deque<size_t>& sizes, size_t budget,
                     Message* out) {
    const size_t taken = sizes.front();
    *out = std::move(queue.front());
    queue.pop_front();
    sizes.pop_front();
    return taken;
  }
};

template <typename Message, typename Reactor, typename Packer = OneByOne<Message>>
class Outbox {
 public:
  explicit Outbox(Reactor* reactor, size_t max_message_bytes = SIZE_MAX,
                  size_t max_queued_bytes = SIZE_MAX)
      : reactor_(reactor),
        max_message_bytes_(max_message_bytes),
        max_queued_bytes_(max_queued_bytes) {}

  // Queues `message` and starts a write unless one is in flight. `held`:
  // queue it without starting one; it goes with the next write (Push of a
  // message not held, or Flush). OK; Unavailable once the stream is closed
  // or closing; ResourceExhausted, nothing queued, when the message is
  // larger than a write may carry; Aborted, and the outbox closed with
  // everything it held dropped, when more than `max_queued_bytes` would wait.
  absl::Status Push(Message message, bool held = false) {
    const size_t bytes = WireBytes(message);
    return Push(std::move(message), bytes, held);
  }
  // The same, `bytes` being WireBytes(message).
  absl::Status Push(Message message, size_t bytes, bool held) {
    if (bytes > max_message_bytes_) {
      return absl::ResourceExhaustedError(
          "a message of " + std::to_string(bytes) + " bytes is more than the " +
          std::to_string(max_message_bytes_) + " one message between nodes may carry");
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_) return absl::UnavailableError("the stream is closed");
    if (queued_bytes_ + bytes > max_queued_bytes_) {
      const size_t queued = queued_bytes_;
      closing_ = true;
      Drop();
      return absl::AbortedError("the other end does not read: " + std::to_string(queued) +
                                " bytes were waiting to be sent to it");
    }
    queue_.push_back(std::move(message));
    sizes_.push_back(bytes);
    queued_bytes_ += bytes;
    if (!held) MaybeStartWrite();
    return absl::OkStatus();
  }

  size_t max_message_bytes() const { return max_message_bytes_; }

  // Starts a write of whatever is queued, if no write is in flight.
  void Flush() {
    std::lock_guard<std::mutex> lock(mu_);
    MaybeStartWrite();
  }

  // The write in flight completed (`ok` false: the stream broke).
  void OnWriteDone(bool ok) {
    std::function<void()> finish;
    {
      std::lock_guard<std::mutex> lock(mu_);
      writing_ = false;
      if (!ok) {
        closing_ = true;
        Drop();
      }
      if (MaybeStartWrite()) return;
      finish = std::move(on_drained_);
    }
    if (finish) finish();
  }

  // Refuses later pushes and calls `then` once the queued messages are out
  // (at once when none are), e.g. to finish the stream. Only the first call
  // counts.
  void Close(std::function<void()> then) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (close_requested_) return;
      close_requested_ = true;
      closing_ = true;
      MaybeStartWrite();  // held messages go too
      if (writing_) {
        on_drained_ = std::move(then);
        return;
      }
    }
    if (then) then();
  }

 private:
  // REQUIRES: mu_ held. True when a write is (now) in flight.
  bool MaybeStartWrite() {
    if (writing_) return true;
    if (queue_.empty()) return false;
    writing_ = true;
    in_flight_ = Message();
    queued_bytes_ -= Packer::Pack(queue_, sizes_, max_message_bytes_, &in_flight_);
    reactor_->StartWrite(&in_flight_);
    return true;
  }

  // REQUIRES: mu_ held.
  void Drop() {
    queue_.clear();
    sizes_.clear();
    queued_bytes_ = 0;
  }

  Reactor* reactor_;
  const size_t max_message_bytes_;
  const size_t max_queued_bytes_;
  std::mutex mu_;
  std::deque<Message> queue_;  // not written yet
  std::deque<size_t> sizes_;   // each queued message's serialized size
  size_t queued_bytes_ = 0;    // their sum
  Message in_flight_;          // valid while writing_
  bool writing_ = false;
  bool closing_ = false;          // no more pushes
  bool close_requested_ = false;  // Close() was called
  std::function<void()> on_drained_;
};

}  // namespace flare

#endif  // FLARE_RPC_OUTBOX_H_
