// One task a raylet owns, as the TaskManager (and the Lineage that keeps
// finished tasks to run again) records it.
#ifndef FLARE_RAYLET_TASK_RECORD_H_
#define FLARE_RAYLET_TASK_RECORD_H_

#include <sys/types.h>

#include <vector>

#include "common/ids.h"
#include "flare.pb.h"
#include "object_store/object_table.h"
#include "raylet/resources.h"

namespace flare {

// One task this raylet owns, until its returns are stored.
struct TaskRecord {
  rpc::TaskSpec spec;
  ClientId owner = 0;  // 0: the raylet's own (an actor's restart)
  ResourceSet demand;
  std::vector<ObjectId> arg_refs;  // counted under kTaskArgHolder
  bool running = false;            // sent to a worker (running, or queued there)
  ClientId worker = 0;
  pid_t worker_pid = 0;
  bool cancelled = false;
  bool timed_out = false;      // killed by its timeout_s, to be retried
  bool waited_infeasible = false;  // waited its grace for a node that fits
  bool clock_started = false;  // timeout_s counts from when it reaches a worker's front
  int retries_left = 0;        // negative: unlimited
  NodeId remote;               // not nil: placed on that node (sent, or waiting for arguments)
  bool owner_is_peer = false;  // another node placed it here: it runs here
  uint64_t seq = 0;            // submission order on this node
  int resends = 0;             // an actor call: times sent again after its actor restarted
  // An actor call sent straight to its actor's node on a route the node
  // that placed the actor told (TaskManager::OnActorLocation): that node,
  // where the call goes back to if the actor's node is lost.
  NodeId via;

  bool is_actor_creation() const { return spec.has_actor(); }
  bool is_actor_call() const { return !spec.actor_id().empty() && !spec.has_actor(); }
};

}  // namespace flare

#endif  // FLARE_RAYLET_TASK_RECORD_H_
