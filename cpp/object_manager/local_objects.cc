#include "object_manager/local_objects.h"

#include <utility>

namespace flare {

absl::StatusOr<uint8_t*> ObjectTableObjects::CreateForPull(const ObjectId& id, uint64_t size) {
  if (size > table_.capacity()) {
    // No amount of spilling makes room: fail now rather than wait for space
    // (and hold back the pulls behind it).
    return absl::OutOfRangeError("object " + id.Hex() + " is said to have " +
                                 std::to_string(size) + " bytes, more than this node's store (" +
                                 std::to_string(table_.capacity()) + " bytes) can hold");
  }
  absl::StatusOr<uint64_t> offset = table_.Create(self_, id, size);
  if (!offset.ok()) return offset.status();
  return arena_base_ + *offset;
}

absl::Status ObjectTableObjects::SealPulled(const ObjectId& id) {
  absl::StatusOr<std::vector<ClientId>> waiting = table_.Seal(id, {});
  if (!waiting.ok()) return waiting.status();
  if (on_sealed_) on_sealed_(id, std::move(*waiting));
  return absl::OkStatus();
}

void ObjectTableObjects::AbortPulled(const ObjectId& id) { table_.Abort(id); }

absl::StatusOr<LocalObjects::Pinned> ObjectTableObjects::PinForSend(const ObjectId& id) {
  if (!table_.IsReady(id) || table_.IsError(id)) {
    return absl::NotFoundError("object " + id.Hex() + " is not sealed on this node");
  }
  rpc::ObjectData where;
  table_.DescribeAndPin(self_, id, &where);
  if (where.error() != rpc::ERROR_NONE || !where.in_store()) {
    // DescribeAndPin pins only objects in the arena.
    return absl::NotFoundError("object " + id.Hex() + " is not in this node's arena" +
                               (where.error_message().empty() ? "" : ": " + where.error_message()));
  }
  return Pinned{arena_base_ + where.offset(), where.size()};
}

void ObjectTableObjects::UnpinSent(const ObjectId& id) { table_.Unpin(self_, id); }

}  // namespace flare
