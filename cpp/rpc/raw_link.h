// Framed messages (common/framing.h) both ways over one TCP connection to
// another node, driven by this raylet's event loop: no thread of its own,
// so a message costs the loop one read or write and nothing else. Both ends
// of a raw link between raylets use it (RawPeerConnection dials,
// RawPeerServer answers).
//
// Writes: every message pushed while the loop is busy goes out in one
// write; a `held` message waits for the next one that is not (or Flush).
// A message larger than `max_message_bytes` is refused at Push; when more
// than `max_queued_bytes` wait to be written the other end has stopped
// reading, and the link ends (Aborted) rather than grow without limit.
// Reads: handled as they arrive, on the loop, a read's worth at a time, so
// what is read and not handled is at most one frame; a frame over
// `max_message_bytes` ends the link.
//
// Bytes queued before StartWriting (a hello) go out first. `on_closed` runs
// once, posted to the loop, with the reason, whatever ends the link; no
// message is handed on once the link is closed. Event loop only; owned by shared_ptr (pending I/O holds it).
#ifndef FLARE_RPC_RAW_LINK_H_
#define FLARE_RPC_RAW_LINK_H_

#include <array>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>

#include "absl/status/status.h"
#include "common/framing.h"
#include "flare.pb.h"

namespace flare {

class RawLink : public std::enable_shared_from_this<RawLink> {
 public:
  using Socket = boost::asio::ip::tcp::socket;
  struct Callbacks {
    std::function<void(rpc::Message&)> on_message;  // each message, batches unpacked
    std::function<void(const absl::Status&)> on_closed;
  };
  struct Limits {
    size_t max_message_bytes;
    size_t max_queued_bytes;
  };

  RawLink(Socket socket, Limits limits, Callbacks callbacks);

  Socket& socket() { return socket_; }
  bool closed() const { return closed_; }

  // Queues raw bytes (a handshake) ahead of every frame. REQUIRES: before
  // StartWriting.
  void QueueBytes(const std::string& bytes) { pending_ += bytes; }
  // The socket is connected: writes begin.
  void StartWriting();
  // Reads frames from here on (a handshake read exactly its own bytes).
  void StartReading();

  // The Outbox interface PushToPeer (peer_messages.h) fits messages to.
  size_t max_message_bytes() const { return limits_.max_message_bytes; }
  // OK; ResourceExhausted, nothing queued, for a message over the limit;
  // Unavailable once the link is closing; Aborted, and the link ended, when
  // the other end has stopped reading.
  absl::Status Push(rpc::Message message, size_t bytes, bool held);
  absl::Status Push(rpc::Message message, bool held = false) {
    const size_t bytes = message.ByteSizeLong();
    return Push(std::move(message), bytes, held);
  }
  // Writes what Push held back.
  void Flush();

  // Ends the link once what is queued is written (on_closed: OK).
  void CloseAfterWrites();
  // Ends the link now; on_closed gets `why`.
  void Close(const absl::Status& why);
  // Ends the link now without calling back (its owner is going).
  void Abandon() {
    callbacks_ = {};
    Close(absl::OkStatus());
  }

 private:
  void ScheduleWrite();
  void Write();
  void ReadSome();

  Socket socket_;
  const Limits limits_;
  Callbacks callbacks_;
  FrameDecoder decoder_;
  std::array<char, 64 * 1024> read_buffer_;
  std::string pending_;   // not written yet
  std::string inflight_;  // being written
  bool writable_ = false;
  bool writing_ = false;
  bool write_posted_ = false;
  bool closing_ = false;  // no more pushes; close once written
  bool closed_ = false;
};

}  // namespace flare

#endif  // FLARE_RPC_RAW_LINK_H_
