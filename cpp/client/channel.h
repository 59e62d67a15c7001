// The client end of the local socket: framed, batched writes from any
// thread and framed reads by the client's I/O thread.
//
// Task submissions, reference-count updates and pin releases are deferred:
// they queue up in order and
// go out in front of the next message (so the raylet always sees a process's
// references before anything that depends on them), or within a few
// milliseconds, when a one-shot timer armed by the first of them fires. An
// idle client has nothing deferred and no timer armed: its I/O thread sleeps
// in poll until the raylet, a sender or a signal wakes it.
//
// Thread-safe.
#ifndef FLARE_CLIENT_CHANNEL_H_
#define FLARE_CLIENT_CHANNEL_H_

#include <atomic>
#include <functional>
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

  // Has Poll also watch `fd` (e.g. the read end of a signal wake-up pipe)
  // and call `on_readable` on the I/O thread whenever it is readable; the
  // callback must drain it. REQUIRES: before the I/O thread first polls.
  void WatchFd(int fd, std::function<void()> on_readable);

  // I/O thread: waits for incoming messages (appending them to `out`),
  // flushes deferred updates and backlogged writes. Returns false once the
  // connection is closed or Shutdown() was called; `error` says why.
  bool Poll(std::vector<rpc::Message>* out, std::string* error);
  void Shutdown();
  bool closed() const { return closed_.load(); }

 private:
  Channel(int fd, int wake_fd, int flush_timer_fd)
      : fd_(fd), wake_fd_(wake_fd), flush_timer_fd_(flush_timer_fd) {}
  // REQUIRES: write_mu_ held.
  absl::Status WriteLocked(std::string&& bytes);
  // Sends what the backlog holds until the socket takes no more; a failed
  // send closes the channel. REQUIRES: write_mu_ held.
  absl::Status SendBacklogLocked();
  void AppendDeferredLocked(std::string* out);
  // Something was deferred: arms the flush timer unless it is armed.
  // REQUIRES: write_mu_ held.
  void MarkDeferredLocked();
  // The flush timer fired: sends what is deferred.
  void OnFlushTimer();
  void Wake();

  int fd_;
  int wake_fd_;
  int flush_timer_fd_;  // a timerfd: deferred updates go out when it fires
  int watched_fd_ = -1;
  std::function<void()> on_watched_readable_;
  std::atomic<bool> closed_{false};
  std::atomic<bool> shutdown_{false};

  std::mutex write_mu_;
  SendBuffer backlog_;  // bytes the socket did not take yet
  std::string deferred_frames_;  // whole frames waiting for the next write
  rpc::Message deferred_refs_;   // a RefUpdate
  rpc::Message deferred_pins_;   // a ReleasePins
  bool has_deferred_ = false;
  bool flush_armed_ = false;  // the flush timer will fire

  FrameDecoder decoder_;  // I/O thread only
};

}  // namespace flare

#endif  // FLARE_CLIENT_CHANNEL_H_
