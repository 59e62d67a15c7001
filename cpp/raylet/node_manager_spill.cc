// Spilling: when the arena has no room for a new object, sealed objects no
// client has mapped are written to files under <session dir>/spill and their
// memory is reused; a spilled object comes back into the arena (spilling
// others if need be) before any client reads it. Only when nothing can be
// spilled does a create fail with ObjectStoreFullError.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "raylet/node_manager.h"

namespace flare {

namespace {

bool WriteAll(int fd, const uint8_t* data, uint64_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<uint64_t>(n);
  }
  return true;
}

bool ReadAll(int fd, uint8_t* data, uint64_t size) {
  while (size > 0) {
    const ssize_t n = ::read(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<uint64_t>(n);
  }
  return true;
}

}  // namespace

std::string NodeManager::SpillPath(const ObjectId& id) const {
  return options_.session_dir + "/spill/" + id.Hex();
}

bool NodeManager::SpillOne(const ObjectId& keep) {
  for (const ObjectId& id : objects_.SpillCandidates()) {
    if (id == keep) continue;
    const ObjectEntry* entry = objects_.Find(id);
    if (entry == nullptr) continue;
    ::mkdir((options_.session_dir + "/spill").c_str(), 0700);
    const std::string path = SpillPath(id);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
      std::cerr << "flare-raylet: cannot spill to " << path << ": " << std::strerror(errno) << "\n";
      return false;
    }
    const bool written = WriteAll(fd, arena_->base() + entry->offset, entry->size);
    ::close(fd);
    if (!written) {
      std::cerr << "flare-raylet: cannot spill to " << path << ": " << std::strerror(errno) << "\n";
      ::unlink(path.c_str());
      return false;
    }
    objects_.MarkSpilled(id);
    spilled_.insert(id);
    return true;
  }
  return false;
}

absl::StatusOr<uint64_t> NodeManager::CreateObject(ClientId creator, const ObjectId& id,
                                                   uint64_t size) {
  auto offset = objects_.Create(creator, id, size);
  // Larger than the whole arena: spilling cannot help.
  while (!offset.ok() && absl::IsResourceExhausted(offset.status()) &&
         size <= objects_.capacity() && SpillOne(id)) {
    offset = objects_.Create(creator, id, size);
  }
  if (!offset.ok() && absl::IsResourceExhausted(offset.status()) && size <= objects_.capacity()) {
    // Everything left is pinned. Clients pin what they have fetched until
    // they drop the ref; ask them to let go of what no reader holds, so the
    // creator's retry finds something to spill.
    AskClientsToUnpin();
  }
  return offset;
}

void NodeManager::AskClientsToUnpin() {
  rpc::Message release;
  release.mutable_release_cached_pins();
  for (auto& [client, connection] : connections_) connection->Send(release);
}

bool NodeManager::Restore(const ObjectId& id) {
  if (!objects_.IsSpilled(id)) return true;
  auto offset = objects_.Unspill(id);
  while (!offset.ok() && absl::IsResourceExhausted(offset.status()) && SpillOne(id)) {
    offset = objects_.Unspill(id);
  }
  if (!offset.ok()) {  // still spilled: readers get ObjectStoreFullError
    AskClientsToUnpin();
    return false;
  }
  const ObjectEntry* entry = objects_.Find(id);
  const std::string path = SpillPath(id);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  const bool read = fd >= 0 && ReadAll(fd, arena_->base() + *offset, entry->size);
  if (fd >= 0) ::close(fd);
  if (!read) {
    std::cerr << "flare-raylet: cannot restore " << path << ": " << std::strerror(errno) << "\n";
    return true;  // the bytes in the arena are garbage, but nothing better exists
  }
  ::unlink(path.c_str());
  spilled_.erase(id);
  return true;
}

bool NodeManager::RestoreArgs(const rpc::TaskSpec& spec) {
  if (spilled_.empty()) return true;
  std::vector<ObjectId> args;
  for (const auto& dep : spec.dependencies()) args.push_back(ObjectId::FromBinary(dep));
  if (!spec.args_object_id().empty()) args.push_back(ObjectId::FromBinary(spec.args_object_id()));
  for (const ObjectId& id : args) {
    if (!Restore(id)) return false;
  }
  // Bringing one back may have spilled another.
  for (const ObjectId& id : args) {
    if (objects_.IsSpilled(id)) return false;
  }
  return true;
}

void NodeManager::OnObjectFreed(const ObjectId& id) {
  if (spilled_.erase(id) > 0) ::unlink(SpillPath(id).c_str());
}

}  // namespace flare
