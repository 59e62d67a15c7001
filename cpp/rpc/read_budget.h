// Bounds what one stream from another node has read and handed to the
// event loop but the loop has not handled yet. Past `max_bytes` the stream
// stops reading: gRPC's flow control then holds the sender back, so a peer
// that sends faster than this node handles (or floods it) cannot grow this
// node's memory without limit. Reading resumes once the loop has caught up
// to half the bound. One message larger than the bound is let through
// alone (gRPC already caps a message's size).
//
// Thread-safe: the stream's gRPC thread reads, the event loop handles.
#ifndef FLARE_RPC_READ_BUDGET_H_
#define FLARE_RPC_READ_BUDGET_H_

#include <cstddef>
#include <mutex>

namespace flare {

// What a stream queues for its loop by default: many thousands of tasks'
// worth, far more than a loop that keeps up ever holds.
inline constexpr size_t kStreamUnhandledBytes = 32 << 20;

class ReadBudget {
 public:
  explicit ReadBudget(size_t max_bytes = kStreamUnhandledBytes) : max_bytes_(max_bytes) {}

  // A message of `bytes` was read and handed to the loop. True: read the
  // next one now; false: the stream pauses (and OnHandled says when to
  // resume).
  bool OnRead(size_t bytes);
  // The same, handing it to the loop by `post()` under the budget's lock:
  // the loop cannot resume the stream between the count and the hand-over,
  // so a read it resumes cannot overtake this message.
  template <typename Post>
  bool OnRead(size_t bytes, Post&& post) {
    std::lock_guard<std::mutex> lock(mu_);
    unhandled_ += bytes;
    if (unhandled_ > max_bytes_) paused_ = true;
    post();
    return !paused_;
  }
  // The loop handled a message of `bytes` (counted by OnRead). True exactly
  // once per pause, when reading should resume now.
  bool OnHandled(size_t bytes);

  size_t unhandled() const;
  bool paused() const;

 private:
  const size_t max_bytes_;
  mutable std::mutex mu_;
  size_t unhandled_ = 0;
  bool paused_ = false;
};

}  // namespace flare

#endif  // FLARE_RPC_READ_BUDGET_H_
