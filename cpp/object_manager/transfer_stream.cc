#include "object_manager/transfer_stream.h"

#include <algorithm>
#include <string>

namespace flare {

AskedChunks::Range AskedChunks::Ask(uint64_t index) {
  const uint64_t offset = index * target_.chunk_bytes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    asked_.insert(index);
  }
  return Range{offset, std::min(target_.chunk_bytes, target_.size - offset)};
}

absl::StatusOr<uint64_t> AskedChunks::Receive(uint64_t offset, uint64_t length) {
  const uint64_t index = offset / target_.chunk_bytes;
  if (offset % target_.chunk_bytes != 0 || offset >= target_.size ||
      length != std::min(target_.chunk_bytes, target_.size - offset)) {
    return absl::InvalidArgumentError("the sender sent bytes [" + std::to_string(offset) + ", +" +
                                      std::to_string(length) + "), which is no chunk of object " +
                                      target_.object.Hex());
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (asked_.erase(index) == 0) {
    return absl::InvalidArgumentError("the sender sent chunk " + std::to_string(index) +
                                      " of object " + target_.object.Hex() +
                                      ", which was not asked for");
  }
  return index;
}

}  // namespace flare
