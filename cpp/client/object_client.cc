#include "client/object_client.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <utility>

namespace flare {

namespace {

// How long a create waits for a full arena to make room before failing.
constexpr auto kCreateRetryFor = std::chrono::milliseconds(1000);

}  // namespace

// ---- references ------------------------------------------------------------

void ObjectClient::AddRef(const ObjectId& id, const std::shared_ptr<const OwnerAddress>& owner) {
  bool first;
  {
    std::lock_guard<std::mutex> lock(waiter_.mutex());
    first = refs_.AddRef(id, owner);
  }
  // Another node's object: named with its owner, so that the raylet can
  // borrow it from there if it does not know it.
  if (first) connection_.DeferRefAdd(id, *owner != *local_owner_ ? owner->node_id : NodeId());
}

void ObjectClient::RemoveRef(const ObjectId& id) {
  std::optional<ObjectValue> dropped;  // released outside the lock
  {
    std::lock_guard<std::mutex> lock(waiter_.mutex());
    if (!refs_.RemoveRef(id)) return;
    dropped = cache_.Erase(id);
  }
  connection_.DeferRefRemove(id);
}

void ObjectClient::ExpectObject(const ObjectId& id) {
  std::lock_guard<std::mutex> lock(waiter_.mutex());
  refs_.AddRef(id, local_owner_);
}

void ObjectClient::ForgetObject(const ObjectId& id) {
  std::optional<ObjectValue> dropped;  // released outside the lock
  std::lock_guard<std::mutex> lock(waiter_.mutex());
  if (refs_.RemoveRef(id)) dropped = cache_.Erase(id);
}

void ObjectClient::ExpectReturns(const TaskId& task, uint32_t num_returns) {
  std::lock_guard<std::mutex> lock(waiter_.mutex());
  for (uint32_t i = 1; i <= num_returns; ++i) {
    const ObjectId id = ObjectIdFor(task, i);
    refs_.AddRef(id, local_owner_);
    cache_.ExpectPush(id);  // the raylet pushes results to their caller
  }
}

size_t ObjectClient::NumLocalRefs() const {
  std::lock_guard<std::mutex> lock(waiter_.mutex());
  return refs_.NumReferenced();
}

// ---- puts ------------------------------------------------------------------

absl::Status ObjectClient::PutInline(const ObjectId& id, std::string data,
                                     const std::vector<ObjectId>& contained) {
  {
    std::lock_guard<std::mutex> lock(waiter_.mutex());
    refs_.AddRef(id, local_owner_);
  }
  rpc::Message message;
  auto* put = message.mutable_put_inline();
  put->mutable_data()->set_object_id(id.Data(), ObjectId::kSize);
  put->mutable_data()->set_inline_data(std::move(data));
  for (const auto& inner : contained) put->add_contained_refs(inner.Data(), ObjectId::kSize);
  return connection_.Send(message);
}

absl::StatusOr<uint8_t*> ObjectClient::Create(const ObjectId& id, uint64_t size, int timeout_ms) {
  rpc::Message message;
  auto* create = message.mutable_create_object();
  create->set_object_id(id.Data(), ObjectId::kSize);
  create->set_size(size);
  auto reply = connection_.Call(message, timeout_ms);
  // A full arena may free up: the raylet spills what no client has mapped,
  // and asks clients to unpin what they only cache. Retry for a while.
  auto pause = std::chrono::milliseconds(5);
  const auto give_up = std::chrono::steady_clock::now() + kCreateRetryFor;
  while (reply.ok() && reply->create_reply().error() != rpc::ERROR_NONE &&
         size <= arena_->size() && std::chrono::steady_clock::now() + pause < give_up) {
    connection_.FlushDeferred();  // our own pin releases first
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(100));
    reply = connection_.Call(message, timeout_ms);
  }
  if (!reply.ok()) return reply.status();
  const auto& body = reply->create_reply();
  if (body.error() != rpc::ERROR_NONE) return absl::ResourceExhaustedError(body.error_message());
  if (size > arena_->size() || body.offset() > arena_->size() - size) {
    return absl::InternalError("the raylet returned a span outside the arena");
  }
  return arena_->base() + body.offset();
}

absl::Status ObjectClient::Seal(const ObjectId& id, const std::vector<ObjectId>& contained) {
  rpc::Message message;
  auto* seal = message.mutable_seal_object();
  seal->set_object_id(id.Data(), ObjectId::kSize);
  for (const auto& inner : contained) seal->add_contained_refs(inner.Data(), ObjectId::kSize);
  if (IsPutObject(id)) {
    // A put's creator holds its first reference (see ObjectTable::Create).
    std::lock_guard<std::mutex> lock(waiter_.mutex());
    refs_.AddRef(id, local_owner_);
  }
  return connection_.Send(message);
}

void ObjectClient::Abort(const ObjectId& id) {
  rpc::Message message;
  message.mutable_abort_object()->set_object_id(id.Data(), ObjectId::kSize);
  (void)connection_.Send(message);
}

// ---- reads -----------------------------------------------------------------

void ObjectClient::SubscribeLocked(const std::vector<ObjectId>& ids, ObjectCache::Need need,
                                   rpc::Message* subscribe) {
  for (const ObjectId& id : ids) {
    if (cache_.Subscribe(id, need)) {
      subscribe->mutable_subscribe()->add_object_ids(id.Data(), ObjectId::kSize);
    }
  }
  // Only whether it exists: one on another node is not pulled here.
  if (subscribe->has_subscribe() && need == ObjectCache::Need::kExists) {
    subscribe->mutable_subscribe()->set_location_only(true);
  }
}

absl::StatusOr<std::vector<ObjectValue>> ObjectClient::Get(const std::vector<ObjectId>& ids,
                                                           int64_t timeout_ms,
                                                           const InterruptCheck& interrupted) {
  rpc::Message subscribe;
  // Values never become unready while the caller holds their refs, so the
  // scan resumes where it stopped: O(n) over the whole wait, not per wake.
  // Stops early when a value must be asked for again (it is on another
  // node, or was dropped): the loop below asks.
  size_t cursor = 0;
  auto all_ready = [&] {
    for (; cursor < ids.size(); ++cursor) {
      if (cache_.Find(ids[cursor]) == nullptr &&
          !cache_.MustAskAgain(ids[cursor], ObjectCache::Need::kValue)) {
        return false;
      }
    }
    return true;
  };
  std::unique_lock<std::mutex> lock(waiter_.mutex());
  SubscribeLocked(ids, ObjectCache::Need::kValue, &subscribe);
  const bool ready_now = all_ready();
  lock.unlock();
  absl::Status status;
  if (subscribe.has_subscribe()) status = connection_.Send(subscribe);
  bool blocked = false;
  if (status.ok() && !ready_now) {
    // With a deadline, first learn what is ready right now, so that a short
    // timeout never fails an object that already exists.
    if (timeout_ms >= 0 && subscribe.has_subscribe()) status = connection_.Barrier();
    lock.lock();
    const bool ready_after_barrier = all_ready();
    lock.unlock();
    if (status.ok() && !ready_after_barrier) {
      blocking_.SetBlocked(true);  // a worker gives its CPU back while waiting
      blocked = true;
    }
  }
  connection_.FlushDeferred();  // submissions this get may wait for
  lock.lock();
  if (status.ok()) status = waiter_.Wait(lock, timeout_ms, interrupted, all_ready);
  std::vector<ObjectValue> values;
  while (status.ok()) {
    values.clear();
    values.reserve(ids.size());
    for (const ObjectId& id : ids) {
      const ObjectValue* value = cache_.Find(id);
      if (value == nullptr) break;
      values.push_back(*value);
    }
    if (values.size() == ids.size()) {
      for (const ObjectId& id : ids) cache_.MarkHandedOut(id);
      break;
    }
    // A value is on another node, or was dropped meanwhile
    // (DropUnreadValues): ask again.
    rpc::Message again;
    SubscribeLocked(ids, ObjectCache::Need::kValue, &again);
    cursor = 0;
    lock.unlock();
    if (again.has_subscribe()) status = connection_.Send(again);
    lock.lock();
    if (status.ok()) status = waiter_.Wait(lock, timeout_ms, interrupted, all_ready);
  }
  lock.unlock();
  if (blocked) blocking_.SetBlocked(false);
  if (absl::IsDeadlineExceeded(status)) {
    return absl::DeadlineExceededError("get() timed out after " + std::to_string(timeout_ms / 1000.0) +
                                       " s waiting for " + std::to_string(ids.size()) + " object(s)");
  }
  if (!status.ok()) return status;
  return values;
}

absl::StatusOr<std::vector<bool>> ObjectClient::Wait(const std::vector<ObjectId>& ids,
                                                     size_t num_returns, int64_t timeout_ms,
                                                     const InterruptCheck& interrupted,
                                                     bool lend_cpu, bool fetch_local) {
  const ObjectCache::Need need =
      fetch_local ? ObjectCache::Need::kHere : ObjectCache::Need::kExists;
  auto ready_now = [&](const ObjectId& id) {
    return fetch_local ? cache_.IsHere(id) : cache_.IsReady(id);
  };
  auto count_ready = [&] {
    size_t ready = 0;
    for (const ObjectId& id : ids) ready += ready_now(id) ? 1 : 0;
    return ready;
  };
  // Ready on another node, and wanted here: asked for again.
  auto must_ask = [&] {
    if (!fetch_local) return false;
    for (const ObjectId& id : ids) {
      if (cache_.MustAskAgain(id, need)) return true;
    }
    return false;
  };
  // Asking again (an object is on another node) keeps the one deadline.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::unique_lock<std::mutex> lock(waiter_.mutex());
  rpc::Message subscribe;
  SubscribeLocked(ids, need, &subscribe);
  absl::Status status;
  bool blocked = false;
  bool first = true;
  while (subscribe.has_subscribe() || first) {
    if (subscribe.has_subscribe()) {
      lock.unlock();
      status = connection_.Send(subscribe);
      if (status.ok() && timeout_ms >= 0 && first) status = connection_.Barrier();
      lock.lock();
    }
    first = false;
    subscribe.Clear();
    if (!status.ok() || count_ready() >= num_returns || timeout_ms == 0) break;
    if (!blocked) {
      lock.unlock();
      connection_.FlushDeferred();
      if (lend_cpu) {
        blocking_.SetBlocked(true);
        blocked = true;
      }
      lock.lock();
    }
    int64_t left = timeout_ms;
    if (timeout_ms > 0) {
      left = std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadline - std::chrono::steady_clock::now())
                                      .count());
    }
    status = waiter_.Wait(lock, left, interrupted,
                          [&] { return count_ready() >= num_returns || must_ask(); });
    if (absl::IsDeadlineExceeded(status)) {
      status = absl::OkStatus();
      break;
    }
    if (status.ok() && count_ready() < num_returns) SubscribeLocked(ids, need, &subscribe);
  }
  std::vector<bool> ready;
  ready.reserve(ids.size());
  for (const ObjectId& id : ids) ready.push_back(ready_now(id));
  lock.unlock();
  if (blocked) blocking_.SetBlocked(false);
  if (!status.ok()) return status;
  return ready;
}

// ---- I/O thread ------------------------------------------------------------

void ObjectClient::OnObjectReady(const rpc::ObjectData& data) {
  if (data.elsewhere()) {
    const ObjectId id = ObjectId::FromBinary(data.object_id());
    std::lock_guard<std::mutex> lock(waiter_.mutex());
    if (cache_.Contains(id) || refs_.RefCount(id) > 0) cache_.MarkElsewhere(id);
    return;
  }
  ObjectValue value = MakeValue(data);
  std::lock_guard<std::mutex> lock(waiter_.mutex());
  // Nobody here refers to it any more: dropping the value (after the lock
  // is released) releases the pin.
  if (!cache_.Contains(value.id) && refs_.RefCount(value.id) == 0) return;
  cache_.Store(std::move(value));
}

void ObjectClient::DropUnreadValues() {
  std::vector<ObjectValue> dropped;  // released outside the lock
  std::lock_guard<std::mutex> lock(waiter_.mutex());
  dropped = cache_.DropUnreadValues();
}

}  // namespace flare
