// The writes of one gRPC callback-API stream, from any thread. The API
// allows one write in flight per stream, so messages queue here and go out
// one after another as each write completes.
//
// `Reactor` is a grpc::ServerBidiReactor or ClientBidiReactor; its
// OnWriteDone must call OnWriteDone here. Thread-safe. StartWrite runs under
// the lock: gRPC runs a user reactor's OnWriteDone on its own threads, never
// inline, so that cannot deadlock, and it keeps Close() from racing a write.
#ifndef FLARE_RPC_OUTBOX_H_
#define FLARE_RPC_OUTBOX_H_

#include <deque>
#include <functional>
#include <mutex>
#include <utility>

namespace flare {

template <typename Message, typename Reactor>
class Outbox {
 public:
  explicit Outbox(Reactor* reactor) : reactor_(reactor) {}

  // Queues `message`; false once the stream is closed or closing.
  bool Push(Message message) {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_) return false;
    queue_.push_back(std::move(message));
    if (!writing_) {
      writing_ = true;
      reactor_->StartWrite(&queue_.front());
    }
    return true;
  }

  // The write in flight completed (`ok` false: the stream broke).
  void OnWriteDone(bool ok) {
    std::function<void()> finish;
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.pop_front();
      if (!ok) {
        closing_ = true;
        queue_.clear();
      }
      if (!queue_.empty() && ok) {
        reactor_->StartWrite(&queue_.front());
        return;
      }
      writing_ = false;
      finish = std::move(on_drained_);
    }
    if (finish) finish();
  }

  // Refuses later pushes and calls `then` once the queued messages are out
  // (at once when none are), e.g. to finish the stream. Only the first call
  // counts.
  void Close(std::function<void()> then) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (close_requested_) return;
      close_requested_ = true;
      closing_ = true;
      if (writing_) {
        on_drained_ = std::move(then);
        return;
      }
    }
    if (then) then();
  }

 private:
  Reactor* reactor_;
  std::mutex mu_;
  std::deque<Message> queue_;  // front: the write in flight
  bool writing_ = false;
  bool closing_ = false;          // no more pushes
  bool close_requested_ = false;  // Close() was called
  std::function<void()> on_drained_;
};

}  // namespace flare

#endif  // FLARE_RPC_OUTBOX_H_
