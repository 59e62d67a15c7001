// The tasks this raylet owns that run on other nodes. The task manager
// decides where a task goes; when that is another node, this unit sends it
// there over the peer link (the other raylet sees this one as a client of
// kind PEER): first the argument values (or where they are), then the task.
// That node subscribes us to the task's returns. A small one is stored here
// (the owner's copy) and the other node's released; a large one stays in
// that node's arena, held there for us until it is freed here, and is
// pulled here only when something here reads it (Fetch). Cancels follow the
// task; when a node goes, the tasks that ran there are handed back for a
// retry, and the results that only it held are handed back to be made
// again or marked lost (OnlyOn).
//
// No I/O: messages go out through PeerChannel. Thread-compatible: the
// raylet's event loop is its only user.
#ifndef FLARE_RAYLET_REMOTE_TASKS_H_
#define FLARE_RAYLET_REMOTE_TASKS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "common/ids.h"
#include "flare.pb.h"
#include "object_store/object_table.h"
#include "raylet/borrowed_objects.h"
#include "raylet/node_io.h"
#include "raylet/resources.h"
#include "raylet/return_store.h"

namespace flare {

class RemoteTasks {
 public:
  // Borrows all; they must outlive this.
  RemoteTasks(const NodeId& self, ObjectTable& objects, ReturnStore& returns, PeerChannel& peers,
              ObjectPuller& puller)
      : self_(self),
        objects_(objects),
        returns_(returns),
        peers_(peers),
        puller_(puller),
        borrowed_(objects, returns, peers, puller) {
    borrowed_.SetCopyListeners(
        [this](const ObjectId& id, const NodeId& owner) { OnCopyMade(id, owner); },
        [this](const ObjectId& id, std::vector<NodeId> copies) {
          if (copies.size() > kMaxCopies) copies.resize(kMaxCopies);
          copies_[id] = std::move(copies);
        });
  }

  // The objects this node borrows from others (refs that came in values or
  // tasks they sent).
  BorrowedObjects& borrowed() { return borrowed_; }

  // Sends the task to `node`: each top-level argument (a small value or an
  // error travels with it; an arena object is pulled from here by that
  // node), then the task. REQUIRES: every argument is ready here. An error
  // status leaves nothing pending: FailedPrecondition when no attempt could
  // succeed (an argument is not on this node, the task is larger than a
  // message between nodes), Unavailable when the link broke.
  absl::Status Send(const NodeId& node, const TaskId& task_id, const rpc::TaskSpec& spec,
                    const ResourceSet& demand);
  // `node` sent an object (a return of a task sent there). Stores it as
  // this node's copy (an arena object is pulled here first) and releases
  // the other's. Returns the task when this was its last return.
  std::optional<TaskId> OnObject(const NodeId& node, const rpc::ObjectData& data);
  // Whether `task_id` is a streaming generator sent to `node`.
  bool Streams(const NodeId& node, const TaskId& task_id) const {
    auto it = tasks_.find(task_id);
    return it != tasks_.end() && it->second.node == node && it->second.streaming;
  }
  // `node` sent an item of a generator sent there: stored here (pulled
  // first) when `wanted`, and released there either way.
  void OnItem(const NodeId& node, const rpc::ObjectData& data, bool wanted);
  // Asks the node running `task_id` to cancel it (its returns are already
  // failed here). Nothing happens if it does not run elsewhere.
  void Cancel(const TaskId& task_id, bool force);
  // Sends a kill (or a release: no handle is left here) of an actor this
  // node placed on `node`.
  void SendKill(const NodeId& node, const rpc::KillActor& kill) {
    rpc::Message message;
    *message.mutable_kill_actor() = kill;
    peers_.Send(node, message);
  }
  // Pulls a copy of `id` (ready, its bytes on another node) here, unless
  // one is on its way. The fetch listener hears when it ends: OK once it is
  // sealed here.
  void Fetch(const ObjectId& id);
  void SetFetchListener(std::function<void(const ObjectId&, const absl::Status&)> listener) {
    fetched_ = std::move(listener);
  }
  // The table freed `id`: the copy held for it on another node goes too.
  void OnFreed(const ObjectId& id);
  // The task is finished here (done, failed or cancelled): the other node
  // drops what it holds for it, and its later returns are ignored.
  void Forget(const TaskId& task_id);
  // `node` died or its link broke: the tasks sent there, which are
  // forgotten (the caller retries or fails them).
  std::vector<TaskId> OnNodeGone(const NodeId& node);
  // The results `node` held for us that have no copy here, which are
  // forgotten here: the caller makes them again or marks them lost
  // (TaskManager::OnCopyLost). One of which another node reported a copy
  // is held on that node instead (its copy becomes ours), and is not
  // returned. Call before OnNodeGone's retries.
  std::vector<ObjectId> OnlyOn(const NodeId& node);

  // Copies of objects owned here on other nodes (pulled there), as those
  // nodes report them (ObjectCopies): named to later pullers, and held
  // instead when the node holding ours dies. Reports of objects not here
  // (freed) are ignored.
  void OnCopies(const NodeId& node, const rpc::ObjectCopies& copies);
  // The nodes other than `reader` known to hold a copy of `id`.
  std::vector<NodeId> CopiesOf(const ObjectId& id, const NodeId& reader) const;
  // A copy of `id` was pulled here on `owner`'s word (an argument of a task
  // it sent): `owner` hears of it now, and when it goes (OnFreed).
  void OnCopyMade(const ObjectId& id, const NodeId& owner);

  bool Runs(const TaskId& task_id) const { return tasks_.contains(task_id); }
  // What the tasks sent to `node` and not done yet demand, in total.
  ResourceSet DemandOn(const NodeId& node) const;
  size_t size() const { return tasks_.size(); }

 private:
  struct Sent {
    NodeId node;
    ResourceSet demand;
    uint32_t returns_left = 0;
    std::vector<ObjectId> held_there;  // returns the peer still holds on `node`
    bool streaming = false;            // its items come as they are yielded
  };
  // Stores an object `node` sent (pulled first if in its arena), holding
  // the refs it contains, then releases the copy there.
  void Receive(const NodeId& node, const rpc::ObjectData& data);
  // Releases what we hold on the task's node, then drops the task.
  void Release(absl::flat_hash_map<TaskId, Sent, IdHash>::iterator it);

  const NodeId self_;
  ObjectTable& objects_;
  ReturnStore& returns_;
  PeerChannel& peers_;
  ObjectPuller& puller_;
  BorrowedObjects borrowed_;
  absl::flat_hash_map<TaskId, Sent, IdHash> tasks_;
  // Results held for us on the node that made them, until freed here.
  absl::flat_hash_map<ObjectId, NodeId, IdHash> held_elsewhere_;
  // Owned here: the other nodes that reported a copy (a few, newest last).
  static constexpr size_t kMaxCopies = 8;
  absl::flat_hash_map<ObjectId, std::vector<NodeId>, IdHash> copies_;
  // Pulled here for another node's task: the node that owns it.
  absl::flat_hash_map<ObjectId, NodeId, IdHash> copy_owners_;
  absl::flat_hash_set<ObjectId, IdHash> fetching_;
  std::function<void(const ObjectId&, const absl::Status&)> fetched_;
};

}  // namespace flare

#endif  // FLARE_RAYLET_REMOTE_TASKS_H_
