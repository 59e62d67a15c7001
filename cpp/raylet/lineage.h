// What an owner keeps to rebuild the results of its tasks that only other
// nodes hold (lineage reconstruction). A task that ran on another node
// leaves its large returns there, and that copy is the only one. When the
// task finishes, the owner keeps what running it again needs — its spec,
// owner and demand, and a reference on each of its arguments so they stay
// readable — for as long as one of those returns lives here. If the copy is
// lost (its node died, or pulling it failed), TakeForRebuild hands the task
// back to run again, which spends one of its retries, and its returns are
// made anew; a rebuilt task whose arguments were lost too waits for them to
// be rebuilt first. Tasks that may not run again (no retries left, actor
// tasks, generators, tasks owned by another node) are not kept, and what
// they made is lost with its node: WhyNot says why.
//
// No I/O. Event loop only.
#ifndef FLARE_RAYLET_LINEAGE_H_
#define FLARE_RAYLET_LINEAGE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "common/ids.h"
#include "object_store/object_table.h"
#include "raylet/task_record.h"

namespace flare {

// Holds the arguments of the tasks a Lineage keeps.
constexpr ClientId kLineageHolder = ~ClientId{2};

class Lineage {
 public:
  explicit Lineage(ObjectTable& objects) : objects_(objects) {}

  // `record` finished; `only_elsewhere` are its returns whose only copy is
  // on another node. Kept if it may run again.
  void Keep(const TaskId& task_id, const TaskRecord& record,
            const std::vector<ObjectId>& only_elsewhere);
  // `id` left the table: its task is let go of (its arguments released)
  // with the last of its kept returns. Calls RemoveRef: not from inside the
  // table's free listener.
  void Release(const ObjectId& id);
  // Whether `id`'s task is kept and may run again.
  bool CanRebuild(const ObjectId& id) const;
  // How many returns the kept task has (0: not kept).
  uint32_t NumReturns(const TaskId& task_id) const {
    auto it = tasks_.find(task_id);
    return it == tasks_.end() ? 0 : it->second.record.spec.num_returns();
  }
  // Why `id` cannot be rebuilt, for its error.
  std::string WhyNot(const ObjectId& id) const;
  // The error it then holds: OBJECT_LOST for a put (no task made it),
  // OBJECT_UNRECONSTRUCTABLE for a task's result.
  static rpc::ErrorCode LostCode(const ObjectId& id) {
    return IsPutObject(id) ? rpc::OBJECT_LOST : rpc::OBJECT_UNRECONSTRUCTABLE;
  }
  // Takes `id`'s task out to run again: its record with the attempt moved
  // on and one retry spent, holding its arguments under kTaskArgHolder.
  // nullopt unless CanRebuild.
  std::optional<TaskRecord> TakeForRebuild(const ObjectId& id);

  size_t size() const { return tasks_.size(); }

 private:
  struct Kept {
    TaskRecord record;
    absl::flat_hash_set<ObjectId, IdHash> returns;  // kept returns still here
  };

  ObjectTable& objects_;
  absl::flat_hash_map<TaskId, Kept, IdHash> tasks_;
};

}  // namespace flare

#endif  // FLARE_RAYLET_LINEAGE_H_
