#include "object_manager/object_manager.h"

#include <condition_variable>
#include <mutex>
#include <utility>

#include <boost/asio/post.hpp>

#include "object_manager/raw_protocol.h"
#include "object_manager/raw_pull_stream.h"

namespace flare {

// How many streams gRPC has not finished with; the destructor waits for none.
class ObjectManager::StreamTracker {
 public:
  void Opened() {
    std::lock_guard<std::mutex> lock(mu_);
    ++open_;
  }
  void Ended() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--open_ == 0) none_open_.notify_all();
  }
  void WaitUntilNoneOpen() {
    std::unique_lock<std::mutex> lock(mu_);
    none_open_.wait(lock, [this] { return open_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable none_open_;
  size_t open_ = 0;
};

ObjectManager::ObjectManager(boost::asio::io_context& loop, LocalObjects& objects,
                             ObjectManagerOptions options)
    : loop_(loop),
      objects_(objects),
      options_(std::move(options)),
      pulls_(options_.pull),
      senders_(std::make_shared<SenderContext>(loop, objects)),
      service_(senders_, options_.token),
      raw_sender_(transfer_thread_.io(), senders_, options_.token),
      timer_(loop),
      tracker_(std::make_shared<StreamTracker>()),
      alive_(std::make_shared<bool>(true)) {}

ObjectManager::~ObjectManager() {
  *alive_ = false;
  {
    std::lock_guard<std::mutex> lock(senders_->mu);
    senders_->alive = false;  // pins are not released into a table going away
  }
  for (auto& [attempt, stream] : streams_) stream->Cancel();
  tracker_->WaitUntilNoneOpen();
  raw_sender_.CloseAll();  // the transfer thread stops with the members
  timer_.cancel();
  for (const auto& [object, buffer] : buffers_) objects_.AbortPulled(object);
}

SharedPort::RawRoute ObjectManager::raw_route() {
  return {std::string(kRawMagic, kRawMagicBytes),
          [this](int fd, int family) { raw_sender_.Adopt(fd, family); }};
}

size_t ObjectManager::active_sends() const {
  std::lock_guard<std::mutex> lock(senders_->mu);
  return senders_->active_sends;
}

void ObjectManager::Post(std::function<void()> event) {
  boost::asio::post(loop_, [alive = std::weak_ptr<bool>(alive_), event = std::move(event)] {
    std::shared_ptr<bool> still = alive.lock();
    if (still && *still) event();
  });
}

void ObjectManager::Pull(const ObjectId& object, uint64_t size,
                         const std::vector<Holder>& holders, PullCallback done) {
  std::vector<NodeId> nodes;
  nodes.reserve(holders.size());
  for (const Holder& holder : holders) {
    addresses_[holder.node] = holder.address;
    nodes.push_back(holder.node);
  }
  const PullWaiterId waiter = next_waiter_++;
  waiters_[waiter] = std::move(done);
  Execute(pulls_.Pull(object, size, nodes, waiter, PullClock::now()));
}

void ObjectManager::OnSpaceFreed() { Execute(pulls_.OnSpaceFreed()); }

void ObjectManager::OnNodeDead(const NodeId& node) { Execute(pulls_.OnNodeDead(node)); }

void ObjectManager::Execute(PullActions actions) {
  for (PullAction& action : actions) queue_.push_back(std::move(action));
  if (executing_) return;  // the outer call runs them
  executing_ = true;
  while (!queue_.empty()) {
    PullAction action = std::move(queue_.front());
    queue_.pop_front();
    Perform(action);
  }
  executing_ = false;
  ArmTimer();
}

void ObjectManager::Perform(const PullAction& action) {
  using Kind = PullAction::Kind;
  switch (action.kind) {
    case Kind::kAllocate: {
      absl::StatusOr<uint8_t*> buffer = objects_.CreateForPull(action.object, action.size);
      if (buffer.ok()) buffers_[action.object] = *buffer;
      Execute(pulls_.OnAllocated(action.object, buffer.status(), PullClock::now()));
      break;
    }
    case Kind::kAskForSpace:
      if (space_requester_) space_requester_(action.size);
      break;
    case Kind::kOpen:
      Open(action);
      break;
    case Kind::kRequest: {
      auto stream = streams_.find(action.attempt);
      if (stream != streams_.end()) stream->second->Request(action.chunks);
      break;
    }
    case Kind::kClose: {
      auto stream = streams_.find(action.attempt);
      if (stream == streams_.end()) break;
      if (action.status.ok()) {
        stream->second->Close();
      } else {
        stream->second->Cancel();
      }
      break;
    }
    case Kind::kSeal: {
      absl::Status sealed = objects_.SealPulled(action.object);
      if (!sealed.ok()) seal_failures_[action.object] = sealed;
      buffers_.erase(action.object);
      break;
    }
    case Kind::kAbort:
      objects_.AbortPulled(action.object);
      buffers_.erase(action.object);
      break;
    case Kind::kNotify:
      Notify(action);
      break;
  }
}

void ObjectManager::Open(const PullAction& action) {
  const AttemptId attempt = action.attempt;
  auto address = addresses_.find(action.holder);
  if (address == addresses_.end()) {
    Post([this, attempt, node = action.holder] {
      Execute(pulls_.OnAttemptEnded(
          attempt, absl::NotFoundError("no address is known for node " + node.Hex()),
          PullClock::now()));
    });
    return;
  }
  StreamTarget target{action.object, buffers_.at(action.object), action.size,
                      options_.pull.chunk_bytes};
  StreamEvents events;
  events.on_chunk = [this, attempt](uint64_t chunk) {
    Post([this, attempt, chunk] { Execute(pulls_.OnChunk(attempt, chunk, PullClock::now())); });
  };
  events.on_ended = [this, attempt, tracker = tracker_](absl::Status status) {
    Post([this, attempt, status = std::move(status)] {
      streams_.erase(attempt);
      Execute(pulls_.OnAttemptEnded(attempt, status, PullClock::now()));
    });
    tracker->Ended();  // last: the destructor may go ahead from here
  };
  tracker_->Opened();
  if (options_.transport == TransferTransport::kRawTcp) {
    auto stream = std::make_shared<RawPullStream>(transfer_thread_.io(), target, std::move(events));
    streams_[attempt] = stream;
    stream->Start(address->second, options_.token);
  } else {
    auto stream = std::make_shared<GrpcPullStream>(target, std::move(events));
    streams_[attempt] = stream;
    stream->Start(StubFor(address->second), options_.token);
  }
}

void ObjectManager::Notify(const PullAction& action) {
  absl::Status status = action.status;
  if (auto failed = seal_failures_.find(action.object); failed != seal_failures_.end()) {
    status = std::move(failed->second);
    seal_failures_.erase(failed);
  }
  for (PullWaiterId waiter : action.waiters) {
    auto it = waiters_.find(waiter);
    if (it == waiters_.end()) continue;
    PullCallback done = std::move(it->second);
    waiters_.erase(it);
    if (done) done(status);
  }
}

void ObjectManager::ArmTimer() {
  std::optional<PullClock::time_point> deadline = pulls_.NextDeadline();
  if (!deadline) {
    timer_.cancel();
    return;
  }
  timer_.expires_at(*deadline);
  auto alive = std::weak_ptr<bool>(alive_);
  timer_.async_wait([this, alive](const boost::system::error_code& error) {
    std::shared_ptr<bool> still = alive.lock();
    if (error || !still || !*still) return;
    Execute(pulls_.OnTimer(PullClock::now()));
  });
}

grpc::GenericStub& ObjectManager::StubFor(const std::string& address) {
  std::unique_ptr<grpc::GenericStub>& stub = stubs_[address];
  if (!stub) {
    stub = std::make_unique<grpc::GenericStub>(NewTransferChannel(address, options_.channel_args));
  }
  return *stub;
}

}  // namespace flare
