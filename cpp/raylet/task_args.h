// The objects a task reads before it runs: its top-level ObjectRef
// arguments, in order, then — when its arguments were too large to travel
// inline — the object holding them. Every walk over a task's arguments
// (holding them, waiting for them, restoring them, failing on them) uses
// this one list.
#ifndef FLARE_RAYLET_TASK_ARGS_H_
#define FLARE_RAYLET_TASK_ARGS_H_

#include <vector>

#include "common/ids.h"
#include "flare.pb.h"
#include "object_store/object_table.h"

namespace flare {

inline std::vector<ObjectId> ArgumentIds(const rpc::TaskSpec& spec) {
  std::vector<ObjectId> ids;
  ids.reserve(spec.dependencies_size() + 1);
  for (const auto& dep : spec.dependencies()) ids.push_back(ObjectId::FromBinary(dep));
  if (!spec.args_object_id().empty()) ids.push_back(ObjectId::FromBinary(spec.args_object_id()));
  return ids;
}

// A top-level argument of `spec` that holds an error, if any.
inline const ObjectEntry* FailedArgument(const ObjectTable& objects, const rpc::TaskSpec& spec) {
  for (const ObjectId& id : ArgumentIds(spec)) {
    const ObjectEntry* entry = objects.Find(id);
    if (entry != nullptr && entry->state == ObjectState::kReady &&
        entry->error != rpc::ERROR_NONE) {
      return entry;
    }
  }
  return nullptr;
}

}  // namespace flare

#endif  // FLARE_RAYLET_TASK_ARGS_H_
