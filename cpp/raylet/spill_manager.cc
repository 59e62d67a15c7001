#include "raylet/spill_manager.h"

#include <algorithm>
#include <iostream>
#include <utility>

namespace flare {

namespace {

bool Contains(const std::vector<ObjectId>& ids, const ObjectId& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace

SpillManager::SpillManager(ObjectTable& objects, uint8_t* arena_base, SpillFiles& files,
                           Timers& timers, std::function<void()> ask_clients_to_unpin)
    : objects_(objects),
      arena_base_(arena_base),
      files_(files),
      timers_(timers),
      ask_clients_to_unpin_(std::move(ask_clients_to_unpin)) {}

bool SpillManager::EvictOne() {
  const std::vector<ObjectId> candidates = objects_.EvictCandidates();
  if (candidates.empty()) return false;
  objects_.Evict(candidates.front());
  return true;
}

bool SpillManager::AskForMappedCopies() {
  if (asked_for_copies_ || !objects_.AnyMappedCopy()) return false;
  asked_for_copies_ = true;
  unpin_wait_armed_ = true;
  if (ask_clients_to_unpin_) ask_clients_to_unpin_();
  timers_.After(kUnpinWait, [this, wait = unpin_waits_] {
    if (wait != unpin_waits_) return;  // ended by an unpin
    unpin_wait_armed_ = false;
    ++unpin_waits_;
    if (on_room_) on_room_();
  });
  return true;
}

void SpillManager::OnUnpinned() {
  if (!unpin_wait_armed_ || objects_.EvictCandidates().empty()) return;
  unpin_wait_armed_ = false;
  ++unpin_waits_;
  if (on_room_) on_room_();
}

bool SpillManager::SpillFor(uint64_t bytes, const std::vector<ObjectId>& keep) {
  if (writing_bytes_ < bytes) {
    for (const ObjectId& id : objects_.SpillCandidates()) {
      if (writing_bytes_ >= bytes) break;
      if (Contains(keep, id) || unwritable_.contains(id)) continue;
      const ObjectEntry* entry = objects_.Find(id);
      const uint64_t size = entry->size;
      objects_.BeginSpill(id);
      writing_[id] = size;
      writing_bytes_ += size;
      files_.Write(id, arena_base_ + entry->offset, size,
                   [this, id, size](const absl::Status& status) { OnWritten(id, size, status); });
    }
  }
  // Nothing under way: objects whose write failed may be tried again next
  // time (the disk may have room by then).
  if (writing_.empty()) unwritable_.clear();
  return !writing_.empty();
}

void SpillManager::OnWritten(const ObjectId& id, uint64_t size, const absl::Status& status) {
  writing_.erase(id);
  writing_bytes_ -= size;
  if (status.ok()) {
    spilled_.insert(id);
  } else {
    std::cerr << "flare-raylet: cannot spill " << id.Hex() << ": " << status.message() << "\n";
    unwritable_.insert(id);
  }
  // Mapped by a client meanwhile, or freed: it stays (or went) and its file
  // is of no use. (A free from here has removed the file already.)
  if (!objects_.EndSpill(id, status.ok()) && spilled_.erase(id) > 0) files_.Remove(id);
  Progress(/*room_made=*/true);
}

void SpillManager::OnRead(const ObjectId& id, const absl::Status& status) {
  reading_.erase(id);
  spilled_.erase(id);
  files_.Remove(id);
  objects_.EndUnspill(id, status);  // a failed read frees its block
  Progress(/*room_made=*/!status.ok());
}

SpillManager::Created SpillManager::Create(ClientId creator, const ObjectId& id, uint64_t size) {
  Created created{objects_.Create(creator, id, size)};
  auto full = [&] {
    return !created.offset.ok() && absl::IsResourceExhausted(created.offset.status());
  };
  if (created.offset.ok()) asked_for_copies_ = false;  // the arena had room
  // Larger than the whole arena: nothing can help.
  if (!full() || size > objects_.capacity()) return created;
  while (full() && EvictOne()) created.offset = objects_.Create(creator, id, size);
  if (!full()) return created;
  if (AskForMappedCopies() || SpillFor(size, {id})) {
    created.wait_for_room = true;
  } else {
    created.ask_clients_to_unpin = true;
  }
  return created;
}

SpillManager::Room SpillManager::MakeRoom(uint64_t bytes) {
  if (EvictOne()) return Room::kMade;
  if (AskForMappedCopies()) return Room::kComing;
  return SpillFor(bytes, {}) ? Room::kComing : Room::kNone;
}

SpillManager::Restored SpillManager::Restore(std::vector<ObjectId> ids, RestoreDone done) {
  if (spilled_.empty()) return Restored::kInArena;  // the common case: nothing is on disk
  const uint64_t key = next_request_++;
  Request request{std::move(ids), std::move(done)};
  const Restored now = Step(key, request);
  if (now != Restored::kPending) return now;
  requests_.emplace(key, std::move(request));
  return now;
}

SpillManager::Restored SpillManager::Step(uint64_t key, Request& request) {
  bool reading = false;
  bool no_room = false;
  for (const ObjectId& id : request.ids) {
    if (reading_.contains(id)) {
      reading = true;
      continue;
    }
    if (!objects_.IsSpilled(id)) continue;
    absl::StatusOr<uint64_t> offset = objects_.Unspill(id);
    while (!offset.ok() && absl::IsResourceExhausted(offset.status()) && EvictOne()) {
      offset = objects_.Unspill(id);
    }
    if (offset.ok()) {
      reading_.insert(id);
      reading = true;
      files_.Read(id, arena_base_ + *offset, objects_.Find(id)->size,
                  [this, id](const absl::Status& status) { OnRead(id, status); });
      continue;
    }
    // Room comes when a spill under way ends (Progress steps this again).
    if (SpillFor(objects_.Find(id)->size, request.ids)) {
      reading = true;
      continue;
    }
    no_room = true;
  }
  if (!reading && !no_room) {
    for (const ObjectId& id : request.ids) {
      const ObjectEntry* entry = objects_.Find(id);
      if (entry != nullptr && entry->error == rpc::OBJECT_LOST) return Restored::kLost;
    }
    return Restored::kInArena;
  }
  if (no_room && !reading && !request.timer_armed) {
    // Nothing to spill or evict: clients are asked to unpin what they only
    // cache, and it is tried again shortly, a bounded number of times.
    if (request.attempts >= kRestoreAttempts) return Restored::kNoRoom;
    ++request.attempts;
    request.timer_armed = true;
    if (ask_clients_to_unpin_) ask_clients_to_unpin_();
    timers_.After(kRestoreRetry, [this, key] {
      auto it = requests_.find(key);
      if (it == requests_.end()) return;
      it->second.timer_armed = false;
      const Restored now = Step(key, it->second);
      if (now == Restored::kPending) return;
      RestoreDone done = std::move(it->second.done);
      requests_.erase(it);
      done(now);
    });
  }
  return Restored::kPending;
}

void SpillManager::Progress(bool room_made) {
  for (auto it = requests_.begin(); it != requests_.end();) {
    const Restored now = Step(it->first, it->second);
    if (now == Restored::kPending) {
      ++it;
      continue;
    }
    RestoreDone done = std::move(it->second.done);
    it = requests_.erase(it);
    done(now);  // may add requests (later keys): they are stepped too
  }
  if (room_made && on_room_) on_room_();
}

void SpillManager::OnObjectFreed(const ObjectId& id) {
  unwritable_.erase(id);
  // (An object being written or read is not freed before that ends.)
  if (spilled_.erase(id) > 0) files_.Remove(id);
}

}  // namespace flare
