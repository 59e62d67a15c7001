// How the local protocol's messages (flare.proto Message) travel on a
// stream between two raylets: packed into batches (one write for every
// message queued meanwhile), unpacked in order on the other side, and kept
// within the size one gRPC message may have. No I/O; thread-compatible.
#ifndef FLARE_RPC_PEER_MESSAGES_H_
#define FLARE_RPC_PEER_MESSAGES_H_

#include <cstddef>
#include <deque>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "flare.pb.h"

namespace flare {

// The most one batch carries (a message larger than this goes alone): big
// enough that a burst of tasks is a handful of writes, small enough that a
// batch never holds up the loop that unpacks it for long.
inline constexpr size_t kPeerBatchBytes = 1 << 20;

// An Outbox packer (outbox.h): the queued messages, in order, as one batch
// of at most min(budget, kPeerBatchBytes) bytes; a lone message goes as it
// is.
struct PeerBatching {
  static size_t Pack(std::deque<rpc::Message>& queue, std::deque<size_t>& sizes, size_t budget,
                     rpc::Message* out);
};

// Calls `handle` with each message `message` carries, in order: the
// messages of a batch, or the message itself. A batch inside a batch is
// passed on as it is (the receiver's checks refuse it).
template <typename Handle>
void ForEachPeerMessage(rpc::Message& message, Handle&& handle) {
  if (message.body_case() != rpc::Message::kBatch) {
    handle(message);
    return;
  }
  for (rpc::Message& inner : *message.mutable_batch()->mutable_messages()) handle(inner);
}

// Messages the receiver is in no hurry for (pins and references let go
// of): a stream may hold them back to ride with the next message.
bool IsHousekeeping(const rpc::Message& message);

// `message` made to fit in messages of at most `max_bytes` each, meaning
// the same: lists (reference updates, pin releases, subscriptions, log
// lines) split over several messages; an object's value too large to
// travel inline replaced by an error saying so (the reader's get raises
// it). ResourceExhausted naming the message for anything else (a task
// whose spec is that large).
absl::StatusOr<std::vector<rpc::Message>> FitForPeer(rpc::Message message, size_t max_bytes);

// The log line for a message PushToPeer could not send.
void LogDropped(const char* stream, const absl::Status& why);

// Queues `message` on a peer stream's Outbox, fitted first (FitForPeer)
// when it is larger than one message may be; one that cannot be fitted is
// dropped with a log line naming `stream` (ResourceExhausted). `held` and
// the other errors as for Outbox::Push.
template <typename Outbox>
absl::Status PushToPeer(Outbox& outbox, rpc::Message message, const char* stream,
                        bool held = false) {
  const size_t bytes = message.ByteSizeLong();
  if (bytes <= outbox.max_message_bytes()) return outbox.Push(std::move(message), bytes, held);
  absl::StatusOr<std::vector<rpc::Message>> pieces =
      FitForPeer(std::move(message), outbox.max_message_bytes());
  if (!pieces.ok()) {
    LogDropped(stream, pieces.status());
    return pieces.status();
  }
  for (rpc::Message& piece : *pieces) {
    if (absl::Status pushed = outbox.Push(std::move(piece), held); !pushed.ok()) return pushed;
  }
  return absl::OkStatus();
}

}  // namespace flare

#endif  // FLARE_RPC_PEER_MESSAGES_H_
