#include "gcs/actor_directory.h"

#include <algorithm>

namespace flare {

absl::Status ActorDirectory::Register(rpc::ActorInfo actor) {
  if (actor.actor_id().size() != TaskId::kSize) {
    return absl::InvalidArgumentError("actor id must be " + std::to_string(TaskId::kSize) +
                                      " bytes, got " + std::to_string(actor.actor_id().size()));
  }
  if (actor.name().empty()) return absl::InvalidArgumentError("a named actor needs a name");
  const TaskId id = TaskId::FromBinary(actor.actor_id());
  if (actors_.contains(id)) {
    return absl::AlreadyExistsError("actor " + id.Hex() + " is already registered");
  }
  NameKey key(actor.namespace_(), actor.name());
  if (live_names_.contains(key)) {
    return absl::AlreadyExistsError("an actor named '" + actor.name() +
                                    "' already exists in namespace '" + actor.namespace_() + "'");
  }
  actor.set_state(rpc::ACTOR_PENDING_CREATION);
  live_names_.emplace(std::move(key), id);
  actors_.emplace(id, std::move(actor));
  return absl::OkStatus();
}

void ActorDirectory::SetState(const TaskId& id, rpc::ActorState state) {
  auto it = actors_.find(id);
  if (it == actors_.end() || it->second.state() == rpc::ACTOR_DEAD ||
      state == rpc::ACTOR_PENDING_CREATION) {
    return;
  }
  rpc::ActorInfo& actor = it->second;
  actor.set_state(state);
  if (state != rpc::ACTOR_DEAD) return;
  live_names_.erase(NameKey(actor.namespace_(), actor.name()));
  dead_.push_back(id);
  while (dead_.size() > max_dead_) {
    actors_.erase(dead_.front());
    dead_.pop_front();
  }
}

const rpc::ActorInfo* ActorDirectory::Lookup(const std::string& name_space,
                                             const std::string& name) const {
  auto it = live_names_.find(NameKey(name_space, name));
  return it == live_names_.end() ? nullptr : Find(it->second);
}

const rpc::ActorInfo* ActorDirectory::Find(const TaskId& id) const {
  auto it = actors_.find(id);
  return it == actors_.end() ? nullptr : &it->second;
}

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
