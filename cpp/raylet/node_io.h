// What the raylet's units ask of the operating system — signalling
// processes, running something later, keeping spilled objects in files —
// behind small interfaces. The daemon passes the POSIX/Asio implementations
// (posix_io.h); unit tests pass fakes, so they need no processes, timers or
// files.
#ifndef FLARE_RAYLET_NODE_IO_H_
#define FLARE_RAYLET_NODE_IO_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "common/ids.h"

namespace flare {

// Sends signals to processes the raylet started.
class ProcessControl {
 public:
  virtual ~ProcessControl() = default;
  // REQUIRES: `pid` > 0 is a process this raylet started (a worker).
  virtual void Kill(pid_t pid, int signal) = 0;
  // Whether process `pid` still exists (the driver a raylet serves).
  virtual bool Exists(pid_t pid) = 0;
};

// Runs actions later on the raylet's event loop.
class Timers {
 public:
  virtual ~Timers() = default;
  virtual void After(std::chrono::milliseconds delay, std::function<void()> action) = 0;
  // Runs `action` after the event being handled now.
  virtual void Post(std::function<void()> action) = 0;
};

// Where spilled objects' bytes go: one file (or anything) per object.
class SpillFiles {
 public:
  virtual ~SpillFiles() = default;
  virtual absl::Status Write(const ObjectId& id, const uint8_t* data, uint64_t size) = 0;
  // Reads exactly `size` bytes written for `id` into `data`.
  virtual absl::Status Read(const ObjectId& id, uint8_t* data, uint64_t size) = 0;
  virtual void Remove(const ObjectId& id) = 0;
};

// Everything above, as the raylet's NodeManager takes it.
struct NodeIo {
  std::unique_ptr<ProcessControl> processes;
  std::unique_ptr<Timers> timers;
  std::unique_ptr<SpillFiles> spill_files;
};

}  // namespace flare

#endif  // FLARE_RAYLET_NODE_IO_H_
