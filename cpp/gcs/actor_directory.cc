#include "gcs/actor_directory.h"

#include <algorithm>

namespace flare {

absl::Status ActorDirectory::Load() {
  absl::Status status = actors_.Load(
      [](const rpc::ActorInfo& actor) { return actor.state() == rpc::ACTOR_DEAD; });
  for (const auto& [id, actor] : actors_.records()) {
    if (actor.state() != rpc::ACTOR_DEAD) {
      live_names_.emplace(NameKey(actor.namespace_(), actor.name()), id);
    }
  }
  return status;
}

absl::Status ActorDirectory::Register(rpc::ActorInfo actor) {
  if (actor.actor_id().size() != ActorId::kSize) {
    return absl::InvalidArgumentError("actor id must be " + std::to_string(ActorId::kSize) +
                                      " bytes, got " + std::to_string(actor.actor_id().size()));
  }
  if (actor.name().empty()) return absl::InvalidArgumentError("a named actor needs a name");
  const ActorId id = ActorId::FromBinary(actor.actor_id());
  if (actors_.Contains(id)) {
    return absl::AlreadyExistsError("actor " + id.Hex() + " is already registered");
  }
  NameKey key(actor.namespace_(), actor.name());
  if (live_names_.contains(key)) {
    return absl::AlreadyExistsError("an actor named '" + actor.name() +
                                    "' already exists in namespace '" + actor.namespace_() + "'");
  }
  actor.set_state(rpc::ACTOR_PENDING_CREATION);
  if (absl::Status status = actors_.Put(id, std::move(actor)); !status.ok()) return status;
  live_names_.emplace(std::move(key), id);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<rpc::ActorInfo>> ActorDirectory::SetState(const ActorId& id,
                                                                       rpc::ActorState state) {
  const rpc::ActorInfo* actor = actors_.Find(id);
  if (actor == nullptr || actor->state() == rpc::ACTOR_DEAD || actor->state() == state ||
      state == rpc::ACTOR_PENDING_CREATION) {
    return std::nullopt;
  }
  rpc::ActorInfo changed = *actor;
  changed.set_state(state);
  if (absl::Status status = actors_.Put(id, changed); !status.ok()) return status;
  if (state == rpc::ACTOR_DEAD) {
    live_names_.erase(NameKey(changed.namespace_(), changed.name()));
    if (absl::Status status = actors_.End(id); !status.ok()) return status;
  }
  return changed;
}

const rpc::ActorInfo* ActorDirectory::Lookup(const std::string& name_space,
                                             const std::string& name) const {
  auto it = live_names_.find(NameKey(name_space, name));
  return it == live_names_.end() ? nullptr : Find(it->second);
}

const rpc::ActorInfo* ActorDirectory::Find(const ActorId& id) const { return actors_.Find(id); }

std::vector<const rpc::ActorInfo*> ActorDirectory::ListNamed(
    const std::optional<std::string>& name_space) const {
  std::vector<std::pair<NameKey, const rpc::ActorInfo*>> found;
  for (const auto& [key, id] : live_names_) {
    if (name_space && key.first != *name_space) continue;
    found.emplace_back(key, Find(id));
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<const rpc::ActorInfo*> actors;
  actors.reserve(found.size());
  for (const auto& [key, actor] : found) actors.push_back(actor);
  return actors;
}

}  // namespace flare
