// What the raylet's units ask of the operating system — signalling
// processes, running something later, keeping spilled objects in files —
// behind small interfaces. The daemon passes the POSIX/Asio implementations
// (posix_io.h); unit tests pass fakes, so they need no processes, timers or
// files.
#ifndef FLARE_RAYLET_NODE_IO_H_
#define FLARE_RAYLET_NODE_IO_H_

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "common/ids.h"
#include "flare.pb.h"

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
// Writing or reading one takes long (tens of milliseconds for 100 MiB), so
// it runs off the event loop: a call starts it, and `done` runs later on
// the loop with how it went, never inside the call that started it.
// Operations end in the order they were started.
// REQUIRES: the `size` bytes at `data` stay allocated and, for a write,
// unchanged until `done` runs; no two operations on one object at a time.
class SpillFiles {
 public:
  using Done = std::function<void(const absl::Status&)>;
  virtual ~SpillFiles() = default;
  virtual void Write(const ObjectId& id, const uint8_t* data, uint64_t size, Done done) = 0;
  // Reads exactly `size` bytes written for `id` into `data`.
  virtual void Read(const ObjectId& id, uint8_t* data, uint64_t size, Done done) = 0;
  // Deletes what was written for `id` (after the operations started
  // before this call).
  virtual void Remove(const ObjectId& id) = 0;
};

// Messages to other nodes' raylets, by node id.
// The largest message between nodes (gRPC refuses larger ones); a task
// whose spec is larger cannot be sent to another node.
inline constexpr size_t kMaxPeerMessageBytes = 64 << 20;

class PeerChannel {
 public:
  virtual ~PeerChannel() = default;
  // Queues `message` for `node`'s raylet (connecting first if needed);
  // false when the node is unknown or its link is gone. A message larger
  // than kMaxPeerMessageBytes is split, or its inline value replaced by an
  // error, where that keeps its meaning, else dropped (false).
  virtual bool Send(const NodeId& node, const rpc::Message& message) = 0;
};

// Brings objects of other nodes into this node's arena (the object
// manager). `done` runs on the event loop: OK once the object is sealed here
// (and its waiters woken), else why it could not be.
class ObjectPuller {
 public:
  virtual ~ObjectPuller() = default;
  virtual void Pull(const ObjectId& id, uint64_t size, const NodeId& from,
                    std::function<void(const absl::Status&)> done) = 0;
  // From any of `holders` (not empty), the first first; one that fails or
  // does not answer passes the pull to the next.
  virtual void PullFromAny(const ObjectId& id, uint64_t size, const std::vector<NodeId>& holders,
                           std::function<void(const absl::Status&)> done) {
    Pull(id, size, holders.front(), std::move(done));
  }
};

// Everything above, as the raylet's NodeManager takes it.
struct NodeIo {
  std::unique_ptr<ProcessControl> processes;
  std::unique_ptr<Timers> timers;
  std::unique_ptr<SpillFiles> spill_files;
  // Other nodes' raylets and objects. Borrowed from the node's cluster link,
  // which outlives the NodeManager; null where the node has no cluster
  // link (unit tests): nothing is then sent or pulled anywhere.
  PeerChannel* peers = nullptr;
  ObjectPuller* puller = nullptr;
};

}  // namespace flare

#endif  // FLARE_RAYLET_NODE_IO_H_
