// One object as a reader sees it (ObjectValue), and the pin that keeps an
// arena span readable while any reader holds it (Pin).
#ifndef FLARE_CLIENT_OBJECT_VALUE_H_
#define FLARE_CLIENT_OBJECT_VALUE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "common/ids.h"
#include "flare.pb.h"
#include "object_store/arena.h"

namespace flare {

// Tells the raylet that this process no longer reads an object's arena
// span. Implemented by the Channel (it batches the releases).
class PinReleaser {
 public:
  virtual ~PinReleaser() = default;
  // Thread-safe; must not block.
  virtual void ReleasePin(const ObjectId& id) = 0;
};

// Keeps a sealed object's bytes mapped and pinned at the raylet while any
// reader holds it; the destructor releases the pin (unless the connection
// is gone, which releases every pin anyway).
class Pin {
 public:
  Pin(std::weak_ptr<PinReleaser> releaser, std::shared_ptr<Arena> arena, ObjectId id)
      : releaser_(std::move(releaser)), arena_(std::move(arena)), id_(id) {}
  ~Pin();
  Pin(const Pin&) = delete;
  Pin& operator=(const Pin&) = delete;

 private:
  std::weak_ptr<PinReleaser> releaser_;
  std::shared_ptr<Arena> arena_;  // the mapping outlives every reader
  ObjectId id_;
};

// One object as a reader sees it: an error, inline bytes or a pinned span of
// the arena. Copies share the bytes and the pin.
struct ObjectValue {
  ObjectId id;
  rpc::ErrorCode error = rpc::ERROR_NONE;
  std::string error_message;
  std::shared_ptr<const std::string> inline_data;  // set unless in the arena
  const uint8_t* data = nullptr;
  uint64_t size = 0;
  std::shared_ptr<Pin> pin;  // set when data points into the arena
};

// Turns ObjectData received from the raylet into a value. An arena span is
// pinned (the raylet pinned it for this process when it sent it).
// REQUIRES: an in-store `data` lies inside `arena`.
ObjectValue MakeObjectValue(const rpc::ObjectData& data, const std::shared_ptr<Arena>& arena,
                            const std::weak_ptr<PinReleaser>& releaser);

}  // namespace flare

#endif  // FLARE_CLIENT_OBJECT_VALUE_H_
