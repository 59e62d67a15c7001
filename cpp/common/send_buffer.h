// Bytes queued for a non-blocking socket: appended at the back, sent from
// the front.
//
// A partial send consumes a prefix and leaves the rest where it is, so a
// message is copied into the buffer at most once however many writes it
// takes (re-copying the unsent rest after each write made sending n bytes
// cost O(n^2)). The sent prefix is reclaimed when the buffer empties, or on
// an append once it is at least half of the buffer, which keeps the cost of
// moving bytes linear in the bytes sent.
//
// Thread-compatible: its owner serializes access (the Channel's write lock).
#ifndef FLARE_COMMON_SEND_BUFFER_H_
#define FLARE_COMMON_SEND_BUFFER_H_

#include <cstddef>
#include <string>

namespace flare {

class SendBuffer {
 public:
  // Queues `bytes` behind what is unsent. An empty buffer takes the string
  // as it is (no copy).
  void Append(std::string&& bytes);

  bool empty() const { return sent_ == bytes_.size(); }
  // The unsent bytes: [data(), data() + size()).
  const char* data() const { return bytes_.data() + sent_; }
  size_t size() const { return bytes_.size() - sent_; }

  // Marks the first `n` unsent bytes as sent; the rest do not move.
  // REQUIRES: n <= size().
  void Consume(size_t n);

 private:
  std::string bytes_;
  size_t sent_ = 0;  // bytes_[0, sent_) went out already
};

}  // namespace flare

#endif  // FLARE_COMMON_SEND_BUFFER_H_
