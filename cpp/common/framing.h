// Length-prefixed protobuf framing for the local IPC socket.
//
// A frame is [u32 little-endian body length][serialized rpc::Message]. Many
// frames may share one write; FrameDecoder accepts arbitrary byte chunks and
// yields whole messages.
#ifndef FLARE_COMMON_FRAMING_H_
#define FLARE_COMMON_FRAMING_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "flare.pb.h"

namespace flare {

// Frames larger than this are a protocol error (objects this big travel
// through shared memory, never inline).
constexpr uint32_t kMaxFrameSize = 512u << 20;

// Appends one frame holding `message` to `out`.
void AppendFrame(const rpc::Message& message, std::string* out);

class FrameDecoder {
 public:
  // Frames longer than `max_frame_bytes` are a protocol error.
  explicit FrameDecoder(uint32_t max_frame_bytes = kMaxFrameSize)
      : max_frame_bytes_(max_frame_bytes) {}

  // Appends received bytes.
  void Append(const char* data, size_t size);

  // Parses the next complete frame into `*message`. Returns true when one was
  // parsed, false when more bytes are needed; sets `*status` on a malformed
  // stream (after which the connection must be dropped).
  bool Next(rpc::Message* message, absl::Status* status);

  size_t buffered() const { return buffer_.size() - consumed_; }

 private:
  uint32_t max_frame_bytes_;
  std::string buffer_;
  size_t consumed_ = 0;
};

}  // namespace flare

#endif  // FLARE_COMMON_FRAMING_H_
