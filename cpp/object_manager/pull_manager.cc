#include "object_manager/pull_manager.h"

#include <algorithm>
#include <utility>

namespace flare {

namespace {

PullAction Action(PullAction::Kind kind, const ObjectId& object) {
  PullAction action;
  action.kind = kind;
  action.object = object;
  return action;
}

template <typename T>
void EraseValue(std::deque<T>& queue, const T& value) {
  queue.erase(std::remove(queue.begin(), queue.end(), value), queue.end());
}

}  // namespace

PullManager::PullManager(PullOptions options) : options_(options) {}

uint64_t PullManager::NumChunks(uint64_t size) const {
  return (size + options_.chunk_bytes - 1) / options_.chunk_bytes;
}

PullActions PullManager::Pull(const ObjectId& object, uint64_t size,
                              const std::vector<NodeId>& holders, PullWaiterId waiter,
                              PullClock::time_point now) {
  PullActions out;
  auto it = pulls_.find(object);
  if (it != pulls_.end()) {
    PullState& pull = it->second;
    pull.waiters.push_back(waiter);
    for (const NodeId& holder : holders) {
      const bool known = std::find(pull.holders.begin(), pull.holders.end(), holder) !=
                         pull.holders.end();
      if (!known && !(pull.attempt != 0 && pull.attempt_holder == holder)) {
        pull.holders.push_back(holder);
      }
    }
    return out;
  }
  if (holders.empty()) {
    PullAction notify = Action(PullAction::Kind::kNotify, object);
    notify.status = absl::NotFoundError("cannot pull object " + object.Hex() +
                                        ": no node is known to hold a copy");
    notify.waiters = {waiter};
    out.push_back(std::move(notify));
    return out;
  }
  PullState& pull = pulls_[object];
  pull.size = size;
  pull.waiters.push_back(waiter);
  for (const NodeId& holder : holders) {
    if (std::find(pull.holders.begin(), pull.holders.end(), holder) == pull.holders.end()) {
      pull.holders.push_back(holder);
    }
  }
  pull.space_deadline = now + options_.admission_timeout;
  admission_.push_back(object);
  Admit(out);
  return out;
}

void PullManager::Admit(PullActions& out) {
  if (admission_blocked_ || admission_.empty()) return;
  const ObjectId& head = admission_.front();
  PullState& pull = pulls_.at(head);
  if (pull.phase != Phase::kWaitingForSpace) return;  // its kAllocate is pending
  pull.phase = Phase::kAllocating;
  PullAction allocate = Action(PullAction::Kind::kAllocate, head);
  allocate.size = pull.size;
  out.push_back(std::move(allocate));
}

PullActions PullManager::OnAllocated(const ObjectId& object, const absl::Status& status,
                                     PullClock::time_point now) {
  PullActions out;
  auto it = pulls_.find(object);
  if (it == pulls_.end() || it->second.phase != Phase::kAllocating) return out;
  PullState& pull = it->second;
  if (absl::IsResourceExhausted(status)) {
    pull.phase = Phase::kWaitingForSpace;
    admission_blocked_ = true;
    PullAction ask = Action(PullAction::Kind::kAskForSpace, object);
    ask.size = pull.size;
    out.push_back(std::move(ask));
    return out;
  }
  EraseValue(admission_, object);
  if (!status.ok()) {
    Finish(object, absl::Status(status.code(), "cannot pull object " + object.Hex() +
                                                   ": " + std::string(status.message())),
           out);
  } else {
    pull.allocated = true;
    StartTransfer(object, pull, now, out);
  }
  Admit(out);
  RequestChunks(out);
  return out;
}

PullActions PullManager::OnSpaceFreed() {
  PullActions out;
  admission_blocked_ = false;
  Admit(out);
  return out;
}

void PullManager::StartTransfer(const ObjectId& object, PullState& pull,
                                PullClock::time_point now, PullActions& out) {
  pull.phase = Phase::kTransferring;
  pull.space_deadline.reset();
  pull.chunks.assign(NumChunks(pull.size), ChunkState::kMissing);
  if (pull.chunks.empty()) {  // nothing to fetch
    Finish(object, absl::OkStatus(), out);
    return;
  }
  transferring_.push_back(object);
  OpenNextHolder(object, pull, now, out);
}

void PullManager::OpenNextHolder(const ObjectId& object, PullState& pull,
                                 PullClock::time_point now, PullActions& out) {
  if (pull.holders.empty()) {
    Finish(object, NoHolderLeft(object, pull), out);
    return;
  }
  pull.attempt = next_attempt_++;
  pull.attempt_holder = pull.holders.front();
  pull.holders.erase(pull.holders.begin());
  pull.closing = false;
  pull.close_reason.clear();
  pull.attempt_deadline = now + options_.chunk_timeout;
  attempts_[pull.attempt] = object;
  PullAction open = Action(PullAction::Kind::kOpen, object);
  open.size = pull.size;
  open.attempt = pull.attempt;
  open.holder = pull.attempt_holder;
  out.push_back(std::move(open));
}

void PullManager::RequestChunks(PullActions& out) {
  if (transferring_.empty()) return;
  // Level the pulls: first every pull gets its first chunk, then its
  // second, and so on, so a pull with nothing in flight is served first.
  std::vector<std::vector<uint64_t>> asked(transferring_.size());
  for (size_t level = 0; level < options_.max_chunks_in_flight_per_pull; ++level) {
    for (size_t i = 0; i < transferring_.size(); ++i) {
      if (in_flight_ >= options_.max_chunks_in_flight) break;
      PullState& pull = pulls_.at(transferring_[i]);
      if (pull.attempt == 0 || pull.closing || pull.in_flight > level) continue;
      while (pull.next_missing < pull.chunks.size() &&
             pull.chunks[pull.next_missing] != ChunkState::kMissing) {
        ++pull.next_missing;
      }
      if (pull.next_missing == pull.chunks.size()) continue;
      pull.chunks[pull.next_missing] = ChunkState::kInFlight;
      asked[i].push_back(pull.next_missing);
      ++pull.in_flight;
      ++in_flight_;
    }
  }
  for (size_t i = 0; i < transferring_.size(); ++i) {
    if (asked[i].empty()) continue;
    const PullState& pull = pulls_.at(transferring_[i]);
    PullAction request = Action(PullAction::Kind::kRequest, transferring_[i]);
    request.attempt = pull.attempt;
    request.chunks = std::move(asked[i]);
    out.push_back(std::move(request));
  }
  // The next round starts with the next pull.
  transferring_.push_back(transferring_.front());
  transferring_.pop_front();
}

PullActions PullManager::OnChunk(AttemptId attempt, uint64_t index, PullClock::time_point now) {
  PullActions out;
  auto found = attempts_.find(attempt);
  if (found == attempts_.end()) return out;
  const ObjectId object = found->second;
  PullState& pull = pulls_.at(object);
  if (index >= pull.chunks.size() || pull.chunks[index] != ChunkState::kInFlight) return out;
  pull.chunks[index] = ChunkState::kReceived;
  --pull.in_flight;
  --in_flight_;
  ++pull.received;
  pull.attempt_deadline = now + options_.chunk_timeout;
  if (pull.received == pull.chunks.size()) {
    PullAction close = Action(PullAction::Kind::kClose, object);
    close.attempt = attempt;
    out.push_back(std::move(close));
    attempts_.erase(found);
    Finish(object, absl::OkStatus(), out);
  }
  RequestChunks(out);
  return out;
}

void PullManager::GiveUpAttempt(PullState& pull, std::string reason, PullActions& out) {
  if (pull.attempt == 0 || pull.closing) return;
  pull.closing = true;
  pull.close_reason = std::move(reason);
  PullAction close = Action(PullAction::Kind::kClose, attempts_.at(pull.attempt));
  close.attempt = pull.attempt;
  close.status = absl::CancelledError(pull.close_reason);
  out.push_back(std::move(close));
}

PullActions PullManager::OnAttemptEnded(AttemptId attempt, const absl::Status& status,
                                        PullClock::time_point now) {
  PullActions out;
  auto found = attempts_.find(attempt);
  if (found == attempts_.end()) return out;
  const ObjectId object = found->second;
  attempts_.erase(found);
  PullState& pull = pulls_.at(object);
  // What it was asked and did not send goes to the next holder.
  for (uint64_t i = 0; i < pull.chunks.size(); ++i) {
    if (pull.chunks[i] != ChunkState::kInFlight) continue;
    pull.chunks[i] = ChunkState::kMissing;
    pull.next_missing = std::min(pull.next_missing, i);
  }
  in_flight_ -= pull.in_flight;
  pull.in_flight = 0;
  std::string reason = pull.closing ? pull.close_reason
                       : status.ok() ? "it ended the transfer before sending every chunk"
                                     : std::string(status.message());
  if (!pull.failures.empty()) pull.failures += "; ";
  pull.failures += "node " + pull.attempt_holder.Hex() + ": " + reason;
  pull.attempt = 0;
  pull.closing = false;
  OpenNextHolder(object, pull, now, out);
  RequestChunks(out);
  return out;
}

PullActions PullManager::OnNodeDead(const NodeId& node) {
  PullActions out;
  std::vector<ObjectId> orphans;
  for (auto& [object, pull] : pulls_) {
    pull.holders.erase(std::remove(pull.holders.begin(), pull.holders.end(), node),
                       pull.holders.end());
    if (pull.attempt != 0 && pull.attempt_holder == node) {
      GiveUpAttempt(pull, "its node died", out);
    }
    // A pull still waiting for space has nobody left to pull from. (One
    // being allocated finds out once it has its buffer.)
    if (pull.phase == Phase::kWaitingForSpace && pull.holders.empty()) {
      orphans.push_back(object);
    }
  }
  for (const ObjectId& object : orphans) {
    EraseValue(admission_, object);
    Finish(object, NoHolderLeft(object, pulls_.at(object)), out);
  }
  if (!orphans.empty()) {
    admission_blocked_ = false;  // the next pull may be smaller
    Admit(out);
  }
  return out;
}

PullActions PullManager::OnTimer(PullClock::time_point now) {
  PullActions out;
  std::vector<ObjectId> expired;
  for (const ObjectId& object : admission_) {
    const PullState& pull = pulls_.at(object);
    if (pull.phase == Phase::kWaitingForSpace && pull.space_deadline &&
        now >= *pull.space_deadline) {
      expired.push_back(object);
    }
  }
  for (const ObjectId& object : expired) {
    EraseValue(admission_, object);
    const uint64_t waited_ms = options_.admission_timeout.count();
    Finish(object,
           absl::ResourceExhaustedError(
               "cannot pull object " + object.Hex() + ": the object store found no room for its " +
               std::to_string(pulls_.at(object).size) + " bytes within " +
               std::to_string(waited_ms) + " ms, even after asking to spill or evict"),
           out);
  }
  if (!expired.empty()) {
    admission_blocked_ = false;
    Admit(out);
  }
  for (const ObjectId& object : transferring_) {
    PullState& pull = pulls_.at(object);
    if (pull.attempt != 0 && !pull.closing && pull.in_flight > 0 &&
        now >= pull.attempt_deadline) {
      GiveUpAttempt(pull,
                    "it sent nothing for " + std::to_string(options_.chunk_timeout.count()) +
                        " ms",
                    out);
    }
  }
  return out;
}

std::optional<PullClock::time_point> PullManager::NextDeadline() const {
  std::optional<PullClock::time_point> next;
  auto consider = [&next](PullClock::time_point t) {
    if (!next || t < *next) next = t;
  };
  for (const ObjectId& object : admission_) {
    const PullState& pull = pulls_.at(object);
    if (pull.phase == Phase::kWaitingForSpace && pull.space_deadline) {
      consider(*pull.space_deadline);
    }
  }
  for (const ObjectId& object : transferring_) {
    const PullState& pull = pulls_.at(object);
    if (pull.attempt != 0 && !pull.closing && pull.in_flight > 0) {
      consider(pull.attempt_deadline);
    }
  }
  return next;
}

void PullManager::Finish(const ObjectId& object, absl::Status status, PullActions& out) {
  auto it = pulls_.find(object);
  PullState& pull = it->second;
  if (status.ok()) {
    out.push_back(Action(PullAction::Kind::kSeal, object));
  } else if (pull.allocated) {
    out.push_back(Action(PullAction::Kind::kAbort, object));
  }
  PullAction notify = Action(PullAction::Kind::kNotify, object);
  notify.status = std::move(status);
  notify.waiters = std::move(pull.waiters);
  out.push_back(std::move(notify));
  in_flight_ -= pull.in_flight;
  EraseValue(transferring_, object);
  EraseValue(admission_, object);
  pulls_.erase(it);
}

absl::Status PullManager::NoHolderLeft(const ObjectId& object, const PullState& pull) const {
  std::string message = "cannot pull object " + object.Hex() + ": no node holding it could send it";
  if (!pull.failures.empty()) message += " (" + pull.failures + ")";
  return absl::UnavailableError(message);
}

absl::Status PullManager::Validate() const {
  size_t total_in_flight = 0;
  for (const auto& [object, pull] : pulls_) {
    size_t in_flight = 0, received = 0;
    for (ChunkState state : pull.chunks) {
      in_flight += state == ChunkState::kInFlight;
      received += state == ChunkState::kReceived;
    }
    if (in_flight != pull.in_flight || received != pull.received) {
      return absl::InternalError("chunk counts of " + object.Hex() + " disagree with its chunks");
    }
    if (pull.in_flight > options_.max_chunks_in_flight_per_pull) {
      return absl::InternalError(object.Hex() + " has more chunks in flight than allowed");
    }
    if (pull.in_flight > 0 && pull.attempt == 0) {
      return absl::InternalError(object.Hex() + " has chunks in flight without a stream");
    }
    if (pull.attempt != 0 && attempts_.find(pull.attempt) == attempts_.end()) {
      return absl::InternalError(object.Hex() + "'s stream is not registered");
    }
    if (pull.allocated != (pull.phase == Phase::kTransferring)) {
      return absl::InternalError(object.Hex() + " is transferring without a buffer");
    }
    total_in_flight += pull.in_flight;
  }
  if (total_in_flight != in_flight_ || in_flight_ > options_.max_chunks_in_flight) {
    return absl::InternalError("chunks in flight over all pulls disagree with the pulls");
  }
  return absl::OkStatus();
}

}  // namespace flare
