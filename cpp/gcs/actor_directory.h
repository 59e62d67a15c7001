// The GCS actor directory: named actors by (namespace, name), with the
// class name and method table a handle needs, and each actor's state
// PENDING_CREATION -> ALIVE <-> RESTARTING -> DEAD. A name belongs to one
// live actor of its namespace; death frees it. Dead actors are remembered,
// the most recent `max_dead` of them, so that asking after a death says DEAD
// while memory stays bounded.
//
// Each change is written through to the store (table kTable, keyed by actor
// id) before it is applied, so a failed write changes nothing; Load reads
// the table back after a restart (the dead actors then go oldest-first in
// the order the store lists them).
//
// Borrows the store, which must outlive it. Thread-compatible: the GCS's
// owner is its only user.
#ifndef FLARE_GCS_ACTOR_DIRECTORY_H_
#define FLARE_GCS_ACTOR_DIRECTORY_H_

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/ids.h"
#include "flare.pb.h"
#include "gcs/record_table.h"

namespace flare {

class ActorDirectory {
 public:
  static constexpr size_t kDefaultMaxDead = 1000;
  static constexpr char kTable[] = "actors";

  explicit ActorDirectory(Store& store, size_t max_dead = kDefaultMaxDead)
      : actors_(store, kTable, max_dead) {}

  // Loads every actor the store holds.
  // REQUIRES: the directory is empty (nothing was recorded since construction).
  absl::Status Load();

  // Records a named actor as PENDING_CREATION (whatever `actor.state` says).
  // REQUIRES: `actor.actor_id` is an ActorId and `actor.name` is not empty.
  // AlreadyExists when a live actor of the namespace has the name, or the id
  // is known; InvalidArgument when the requirements do not hold.
  absl::Status Register(rpc::ActorInfo actor);

  // Moves a live actor to `state`; DEAD frees its name for good. Returns the
  // actor's record after the change, or nullopt when nothing changed: ids
  // that are unknown (unnamed actors) or dead, PENDING_CREATION, and the
  // state the actor is already in are ignored.
  absl::StatusOr<std::optional<rpc::ActorInfo>> SetState(const ActorId& id, rpc::ActorState state);

  // The live actor holding `name` in `name_space`, or nullptr.
  const rpc::ActorInfo* Lookup(const std::string& name_space, const std::string& name) const;
  // The actor's record, live or dead, or nullptr when unknown (or forgotten).
  const rpc::ActorInfo* Find(const ActorId& id) const;
  // The live named actors of `name_space`, or of every namespace when it is
  // nullopt, ordered by namespace then name.
  std::vector<const rpc::ActorInfo*> ListNamed(const std::optional<std::string>& name_space) const;

  size_t size() const { return actors_.size(); }

 private:
  using NameKey = std::pair<std::string, std::string>;  // (namespace, name)

  RecordTable<ActorId, rpc::ActorInfo> actors_;  // dead ones count as ended
  absl::flat_hash_map<NameKey, ActorId> live_names_;
};

}  // namespace flare

#endif  // FLARE_GCS_ACTOR_DIRECTORY_H_
