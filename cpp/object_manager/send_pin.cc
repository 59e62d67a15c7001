#include "object_manager/send_pin.h"

#include <string>
#include <utility>

#include <boost/asio/post.hpp>

#include "object_manager/chunk_codec.h"

namespace flare {

PinLease::PinLease(std::shared_ptr<SenderContext> context, const ObjectId& id,
                   LocalObjects::Pinned pinned)
    : context_(std::move(context)), id_(id), pinned_(pinned) {
  std::lock_guard<std::mutex> lock(context_->mu);
  ++context_->active_sends;
}

PinLease::~PinLease() {
  std::lock_guard<std::mutex> lock(context_->mu);
  if (!context_->alive) return;
  boost::asio::post(context_->loop, [context = context_, id = id_] {
    std::lock_guard<std::mutex> lock(context->mu);
    if (!context->alive) return;
    context->objects.UnpinSent(id);
    --context->active_sends;
  });
}

absl::Status PinLease::CheckRange(uint64_t offset, uint64_t length) const {
  if (length <= kMaxChunkBytes && offset <= pinned_.size && length <= pinned_.size - offset) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError("asked for bytes [" + std::to_string(offset) + ", +" +
                                    std::to_string(length) + ") of an object of " +
                                    std::to_string(pinned_.size) + " bytes (chunks up to " +
                                    std::to_string(kMaxChunkBytes) + ")");
}

absl::StatusOr<std::shared_ptr<PinLease>> PinForSending(
    const std::shared_ptr<SenderContext>& context, const ObjectId& id, uint64_t expected_size) {
  absl::StatusOr<LocalObjects::Pinned> pinned = context->objects.PinForSend(id);
  if (!pinned.ok()) return pinned.status();
  auto lease = std::make_shared<PinLease>(context, id, *pinned);
  if (pinned->size != expected_size) {
    return absl::FailedPreconditionError("object " + id.Hex() + " has " +
                                         std::to_string(pinned->size) + " bytes here, not the " +
                                         std::to_string(expected_size) +
                                         " the receiver expects");
  }
  return lease;
}

}  // namespace flare
