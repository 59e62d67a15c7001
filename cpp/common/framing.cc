#include "common/framing.h"

#include <cstring>

namespace flare {

void AppendFrame(const rpc::Message& message, std::string* out) {
  const size_t size = message.ByteSizeLong();
  const size_t start = out->size();
  out->resize(start + 4 + size);
  char* dst = out->data() + start;
  const uint32_t length = static_cast<uint32_t>(size);
  std::memcpy(dst, &length, 4);
  message.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(dst + 4));
}

void FrameDecoder::Append(const char* data, size_t size) {
  if (consumed_ > 0 && consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  } else if (consumed_ > (1u << 20) && consumed_ * 2 > buffer_.size()) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(data, size);
}

bool FrameDecoder::Next(rpc::Message* message, absl::Status* status) {
  const size_t available = buffer_.size() - consumed_;
  if (available < 4) return false;
  uint32_t length = 0;
  std::memcpy(&length, buffer_.data() + consumed_, 4);
  if (length > max_frame_bytes_) {
    *status = absl::DataLossError("frame of " + std::to_string(length) +
                                  " bytes exceeds the limit");
    return false;
  }
  if (available < 4 + static_cast<size_t>(length)) return false;
  if (!message->ParseFromArray(buffer_.data() + consumed_ + 4,
                               static_cast<int>(length))) {
    *status = absl::DataLossError("malformed frame");
    return false;
  }
  consumed_ += 4 + length;
  return true;
}

}  // namespace flare
