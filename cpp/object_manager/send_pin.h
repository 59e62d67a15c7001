// What every sending transport (the gRPC service, the raw data stream)
// shares: pinning the object on the event loop, checking the ranges a
// receiver asks for, and releasing the pin on the loop once nothing points
// into the object's bytes any more.
//
// Thread rules: PinForSending runs on the loop; a PinLease may be dropped on
// any thread (its release is posted onto the loop).
#ifndef FLARE_OBJECT_MANAGER_SEND_PIN_H_
#define FLARE_OBJECT_MANAGER_SEND_PIN_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include <boost/asio/io_context.hpp>

#include "absl/status/statusor.h"
#include "common/ids.h"
#include "object_manager/local_objects.h"

namespace flare {

// What the transports' calls share with their owner, kept alive by the
// last of them.
struct SenderContext {
  SenderContext(boost::asio::io_context& loop, LocalObjects& objects)
      : loop(loop), objects(objects) {}
  boost::asio::io_context& loop;
  LocalObjects& objects;
  std::mutex mu;
  bool alive = true;        // false once the owner is gone: pins are not released
  size_t active_sends = 0;  // pins held now
};

// An object pinned for sending. Unpinned on the loop when the last owner
// lets go (a call, or a buffer the network stack still holds).
class PinLease {
 public:
  PinLease(std::shared_ptr<SenderContext> context, const ObjectId& id,
           LocalObjects::Pinned pinned);
  ~PinLease();
  PinLease(const PinLease&) = delete;
  PinLease& operator=(const PinLease&) = delete;

  const LocalObjects::Pinned& pinned() const { return pinned_; }
  // OK when [offset, offset + length) lies in the object and is at most
  // kMaxChunkBytes long; InvalidArgument naming the range otherwise.
  absl::Status CheckRange(uint64_t offset, uint64_t length) const;

 private:
  std::shared_ptr<SenderContext> context_;
  ObjectId id_;
  LocalObjects::Pinned pinned_;
};

// On the loop: pins `id` and checks that it has `expected_size` bytes.
// NotFound when this node does not hold it, FailedPrecondition when its
// size differs (the pin is released again).
absl::StatusOr<std::shared_ptr<PinLease>> PinForSending(
    const std::shared_ptr<SenderContext>& context, const ObjectId& id, uint64_t expected_size);

}  // namespace flare

#endif  // FLARE_OBJECT_MANAGER_SEND_PIN_H_
