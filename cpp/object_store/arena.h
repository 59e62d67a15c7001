// A shared-memory arena: one memfd mapped by the raylet and by every client
// of the node. The raylet creates it and hands the descriptor to clients over
// the Unix socket (SCM_RIGHTS), so nothing is ever named in /dev/shm and the
// memory goes away with the last process that maps it, even after SIGKILL.
#ifndef FLARE_OBJECT_STORE_ARENA_H_
#define FLARE_OBJECT_STORE_ARENA_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace flare {

class Arena {
 public:
  // Creates an anonymous shared-memory file of `size` bytes and maps it.
  static absl::StatusOr<std::unique_ptr<Arena>> Create(uint64_t size,
                                                       const std::string& name);
  // Maps an arena received from the raylet. Takes ownership of `fd`.
  static absl::StatusOr<std::unique_ptr<Arena>> Map(int fd, uint64_t size);

  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  int fd() const { return fd_; }
  uint8_t* base() const { return base_; }
  uint64_t size() const { return size_; }

 private:
  Arena(int fd, uint8_t* base, uint64_t size) : fd_(fd), base_(base), size_(size) {}

  int fd_;
  uint8_t* base_;
  uint64_t size_;
};

}  // namespace flare

#endif  // FLARE_OBJECT_STORE_ARENA_H_
