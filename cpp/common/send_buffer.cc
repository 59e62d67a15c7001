#include "common/send_buffer.h"

#include <cassert>
#include <utility>

namespace flare {

namespace {
// An emptied buffer keeps its memory for the next message up to this size;
// past it the memory goes (one huge message must not pin its size for the
// connection's life).
constexpr size_t kKeptCapacity = 1 << 20;
}  // namespace

void SendBuffer::Append(std::string&& bytes) {
  if (bytes.empty()) return;
  if (empty()) {
    bytes_ = std::move(bytes);
    sent_ = 0;
    return;
  }
  if (sent_ > 0 && sent_ >= bytes_.size() / 2) {
    // Moves at most as many bytes as were sent since the last reclaim.
    bytes_.erase(0, sent_);
    sent_ = 0;
  }
  bytes_.append(bytes);
}

void SendBuffer::Consume(size_t n) {
  assert(n <= size());
  sent_ += n;
  if (sent_ < bytes_.size()) return;
  if (bytes_.capacity() > kKeptCapacity) {
    std::string().swap(bytes_);
  } else {
    bytes_.clear();
  }
  sent_ = 0;
}

}  // namespace flare
