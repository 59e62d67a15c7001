// The client end of the local socket: framed, batched writes from any
// thread and framed reads by the client's I/O thread.
//
// Task submissions, reference-count updates and pin releases are deferred:
// they queue up in order and
// go out in front of the next message (so the raylet always sees a process's
// references before anything that depends on them), or within a few
// milliseconds when the I/O thread's poll times out.
//
// Thread-safe.
#ifndef FLARE_CLIENT_CHANNEL_H_
#define FLARE_CLIENT_CHANNEL_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/framing.h"
#include "common/send_buffer.h"
#include "client/object_value.h"
#include "common/ids.h"
#include "flare.pb.h"

namespace flare {

class Channel : public PinReleaser {
 public:
  // Connects to the raylet's socket, retrying until `timeout_ms` passes.
  static absl::StatusOr<std::shared_ptr<Channel>> Connect(const std::string& path, int timeout_ms);
  ~Channel() override;

  // Sends `request` and reads the reply and the file descriptor attached to
  // it. REQUIRES: the first exchange, before the I/O thread reads.
  absl::StatusOr<rpc::Message> Handshake(const rpc::Message& request, int* fd, int timeout_ms);

  absl::Status Send(const rpc::Message& message);
  // Queues `message` behind everything deferred so far; it goes out with the
  // next Send or flush. Used for task submissions, so that a burst of
  // .remote() calls costs one write.
  absl::Status SendDeferred(const rpc::Message& message);
  // `owner`: the object's owner node when it is not this node's raylet
  // (nil otherwise).
  void DeferRefAdd(const ObjectId& id, const NodeId& owner = NodeId());
  void DeferRefRemove(const ObjectId& id);
  void DeferPinRelease(const ObjectId& id);
  void ReleasePin(const ObjectId& id) override { DeferPinRelease(id); }
  void FlushDeferred();

  // I/O thread: waits for incoming messages (appending them to `out`),
  // flushes deferred updates and backlogged writes. Returns false once the
  // connection is closed or Shutdown() was called; `error` says why.
  bool Poll(std::vector<rpc::Message>* out, std::string* error);
  void Shutdown();
  bool closed() const { return closed_.load(); }

 private:
  Channel(int fd, int wake_fd) : fd_(fd), wake_fd_(wake_fd) {}
  // REQUIRES: write_mu_ held.
  absl::Status WriteLocked(std::string&& bytes);
  // Sends what the backlog holds until the socket takes no more; a failed
  // send closes the channel. REQUIRES: write_mu_ held.
  absl::Status SendBacklogLocked();
  void AppendDeferredLocked(std::string* out);
  void Wake();

  int fd_;
  int wake_fd_;
  std::atomic<bool> closed_{false};
  std::atomic<bool> shutdown_{false};

  std::mutex write_mu_;
  SendBuffer backlog_;  // bytes the socket did not take yet
  std::string deferred_frames_;  // whole frames waiting for the next write
  rpc::Message deferred_refs_;   // a RefUpdate
  rpc::Message deferred_pins_;   // a ReleasePins
  bool has_deferred_ = false;

  FrameDecoder decoder_;  // I/O thread only
};

}  // namespace flare

#endif  // FLARE_CLIENT_CHANNEL_H_
