#include "object_store/arena.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace flare {

namespace {

absl::StatusOr<uint8_t*> MapShared(int fd, uint64_t size) {
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    return absl::InternalError(std::string("mmap of the object arena failed: ") +
                               std::strerror(errno));
  }
  // Large objects are written and read sequentially; ask for huge pages where
  // the kernel allows them for shmem, which cuts page faults on first touch.
  madvise(base, size, MADV_HUGEPAGE);
  return static_cast<uint8_t*>(base);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Arena>> Arena::Create(uint64_t size,
                                                     const std::string& name) {
  int fd = memfd_create(name.c_str(), MFD_CLOEXEC);
  if (fd < 0) {
    return absl::InternalError(std::string("memfd_create failed: ") +
                               std::strerror(errno));
  }
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    const int err = errno;
    close(fd);
    return absl::ResourceExhaustedError(
        "cannot size the object arena to " + std::to_string(size) +
        " bytes: " + std::strerror(err));
  }
  auto base = MapShared(fd, size);
  if (!base.ok()) {
    close(fd);
    return base.status();
  }
  return std::unique_ptr<Arena>(new Arena(fd, *base, size));
}

absl::StatusOr<std::unique_ptr<Arena>> Arena::Map(int fd, uint64_t size) {
  auto base = MapShared(fd, size);
  if (!base.ok()) {
    close(fd);
    return base.status();
  }
  return std::unique_ptr<Arena>(new Arena(fd, *base, size));
}

Arena::~Arena() {
  munmap(base_, size_);
  close(fd_);
}

}  // namespace flare
