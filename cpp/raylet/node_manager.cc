#include "raylet/node_manager.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <iostream>

#include "common/compact.h"
#include "common/placement_group_resources.h"
#include "raylet/message_checks.h"

namespace flare {

namespace {

std::string ExitCause(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* name = strsignal(sig);
    return "was killed by signal " + std::to_string(sig) + " (" + (name ? name : "?") + ")";
  }
  return "stopped";
}

std::vector<ObjectId> ToObjectIds(const google::protobuf::RepeatedPtrField<std::string>& ids) {
  std::vector<ObjectId> out;
  out.reserve(ids.size());
  for (const auto& id : ids) out.push_back(ObjectId::FromBinary(id));
  return out;
}

}  // namespace

NodeManager::NodeManager(NodeOptions options, std::unique_ptr<Arena> arena,
                         std::unique_ptr<WorkerLauncher> launcher, NodeIo node_io,
                         ClientChannel& clients, GcsClient& gcs,
                         std::function<void()> request_stop)
    : clients_(clients),
      options_(std::move(options)),
      arena_(std::move(arena)),
      launcher_(std::move(launcher)),
      node_io_(std::move(node_io)),
      request_stop_(std::move(request_stop)),
      node_id_(options_.node_id.IsNil() ? NodeId::FromRandom() : options_.node_id),
      objects_(arena_->size()),
      spill_(objects_, arena_->base(), *node_io_.spill_files, *node_io_.timers,
             [this] { AskClientsToUnpin(clients_); }),
      scheduler_(options_.resources),
      gpus_(options_.resources.Get("GPU")),
      pool_(*launcher_, static_cast<size_t>(std::max(1.0, options_.resources.Get("CPU"))),
            options_.max_workers > 0
                ? options_.max_workers
                : static_cast<size_t>(std::max(1.0, options_.resources.Get("CPU"))) * 4 + 32),
      gcs_(gcs),
      gcs_requests_(gcs, clients) {
  gcs_requests_.set_node_id(node_id_);
  spill_.SetRoomListener([this] { OnRoomMade(); });
  tasks_.set_infeasible_grace(options_.infeasible_grace);
  rpc::NodeInfo self;
  self.set_node_id(node_id_.Binary());
  self.set_address(options_.ip + ":" + std::to_string(options_.port));
  self.set_ip(options_.ip);
  self.set_port(static_cast<uint32_t>(options_.port));
  self.set_is_head(options_.is_head);
  self.set_version(options_.version);
  self.set_socket_path(options_.socket_path);
  char hostname[256] = {};
  if (gethostname(hostname, sizeof(hostname) - 1) == 0) self.set_hostname(hostname);
  self.set_alive(true);
  self.set_session_dir(options_.session_dir);
  options_.resources.ToProto(self.mutable_total());
  gcs_.RegisterNode(self, [](absl::Status status) {
    if (!status.ok()) std::cerr << "flare-raylet: cannot register with the GCS: " << status << "\n";
  });
  // Posted: a pull that fails at once must not re-enter its caller.
  remote_.SetFetchListener([this](const ObjectId& id, const absl::Status& status) {
    node_io_.timers->Post([this, id, status] { OnFetched(id, status); });
  });
  objects_.SetFreeListener([this](const ObjectId& id) {
    spill_.OnObjectFreed(id);
    actors_.OnObjectFreed(id);  // an actor's handle: the actor is out of scope
    tasks_.OnObjectFreed(id);   // ... or its node hears no handle is left here
    // What it held, or the node that held it for us, lets go (after this
    // event: the table is not re-entered from here).
    if (remote_.borrowed().Tracks(id)) {
      node_io_.timers->Post([this, id] { remote_.borrowed().OnFreed(id); });
    }
    remote_.OnFreed(id);
    if (on_room_ && !room_posted_) {
      // Posted: the listener must not call back into the table.
      room_posted_ = true;
      node_io_.timers->Post([this] {
        room_posted_ = false;
        on_room_();
      });
    }
  });
}

void NodeManager::MakeRoom(uint64_t bytes, std::function<void()> then) {
  switch (spill_.MakeRoom(bytes)) {
    case SpillManager::Room::kMade:
      node_io_.timers->Post(std::move(then));
      return;
    case SpillManager::Room::kComing:
      room_waiters_.push_back(std::move(then));  // run when a spill ends
      return;
    case SpillManager::Room::kNone:
      AskClientsToUnpin(clients_);
      node_io_.timers->After(kRoomRetry, std::move(then));
      return;
  }
}

void NodeManager::OnRoomMade() {
  // Creates first, in the order they came, then pulls.
  std::deque<PendingCreate> creates;
  creates.swap(pending_creates_);
  for (PendingCreate& create : creates) {
    if (clients_.Find(create.client) != nullptr) TryCreate(create.client, create.request);
  }
  std::vector<std::function<void()>> waiters;
  waiters.swap(room_waiters_);
  for (auto& then : waiters) then();
  if (on_room_) on_room_();
}

void NodeManager::BringBackToSend(const ObjectId& id, std::function<void()> then) {
  const SpillManager::Restored now =
      spill_.Restore({id}, [then](SpillManager::Restored) { then(); });
  if (now != SpillManager::Restored::kPending) then();
}

NodeUnits NodeManager::Units() {
  return NodeUnits{objects_,     *this,   scheduler_, gpus_,
                   leases_,      pool_,   spill_,     generators_,
                   groups_,      gcs_,    clients_,   *node_io_.processes,
                   *node_io_.timers, remote_};
}

absl::Status NodeManager::Start() {
  if (options_.driver_pid > 0) CheckDriverAlive();
  return pool_.Prestart();
}

void NodeManager::CheckDriverAlive() {
  if (!node_io_.processes->Exists(options_.driver_pid)) {
    std::cerr << "flare-raylet: driver " << options_.driver_pid << " is gone; stopping\n";
    request_stop_();
    return;
  }
  node_io_.timers->After(std::chrono::milliseconds(250), [this] { CheckDriverAlive(); });
}

void NodeManager::OnPutInline(const ClientInfo& client, rpc::PutInline& put) {
  const ObjectId id = ObjectId::FromBinary(put.data().object_id());
  if (!MayWrite(client, id)) return;
  auto waiting = objects_.PutInline(client.id, id,
                                    std::move(*put.mutable_data()->mutable_inline_data()),
                                    ToObjectIds(put.contained_refs()));
  ObjectReady(id, waiting);
}

bool NodeManager::MayWrite(const ClientInfo& client, const ObjectId& id) const {
  const ObjectEntry* entry = objects_.Find(id);
  // A new id is a put of the client's; an object already awaited here (a
  // task's return, one borrowed from another node) is written only by the
  // worker running the task that returns it.
  if (entry == nullptr || entry->is_put || entry->state != ObjectState::kPending ||
      tasks_.WritesReturnsOf(client.id, id)) {
    return true;
  }
  std::cerr << "flare-raylet: client " << client.id << " tried to write object " << id.Hex()
            << ", a return of a task it does not run; refused\n";
  return false;
}

bool NodeManager::IsWriterOf(const ClientInfo& client, const ObjectId& id) const {
  const ObjectEntry* entry = objects_.Find(id);
  if (entry == nullptr || entry->creator == client.id) return true;  // unknown: a no-op below
  // Another writer's buffer (a put, a return, a copy being pulled) is not
  // this client's to seal or free: the writer may still be copying into it.
  std::cerr << "flare-raylet: client " << client.id << " tried to seal or abort object "
            << id.Hex() << ", which it is not writing; ignored\n";
  return false;
}

void NodeManager::OnSealObject(const ClientInfo& client, const rpc::SealObject& seal) {
  const ObjectId id = ObjectId::FromBinary(seal.object_id());
  if (!IsWriterOf(client, id)) return;
  auto waiting = objects_.Seal(id, ToObjectIds(seal.contained_refs()));
  if (waiting.ok()) ObjectReady(id, *waiting);
}

void NodeManager::OnAbortObject(const ClientInfo& client, const rpc::AbortObject& abort) {
  const ObjectId id = ObjectId::FromBinary(abort.object_id());
  if (IsWriterOf(client, id)) objects_.Abort(id);
}

void NodeManager::OnRefUpdate(const ClientInfo& client, const rpc::RefUpdate& update) {
  for (int i = 0; i < update.add_size(); ++i) {
    const ObjectId id = ObjectId::FromBinary(update.add(i));
    // Owned by another node, and unknown here: borrowed from its owner.
    const NodeId owner = i < update.add_owners_size() && !update.add_owners(i).empty()
                             ? NodeId::FromBinary(update.add_owners(i))
                             : NodeId();
    const bool borrowed = client.kind != rpc::PEER && !owner.IsNil() && owner != node_id_ &&
                          remote_.borrowed().Borrow(owner, id);
    objects_.AddRef(client.id, id);
    if (borrowed) remote_.borrowed().EndHold(id);
  }
  for (const auto& id : update.remove()) objects_.RemoveRef(client.id, ObjectId::FromBinary(id));
}

void NodeManager::OnReleasePins(const ClientInfo& client, const rpc::ReleasePins& release) {
  for (const auto& id : release.object_ids()) objects_.Unpin(client.id, ObjectId::FromBinary(id));
  spill_.OnUnpinned();  // what waits for copies to be unpinned looks again
}

void NodeManager::OnKvPut(const ClientInfo& client, rpc::KvPut& put) {
  gcs_requests_.KvPut(client.id, put);
}

void NodeManager::OnKvGet(const ClientInfo& client, const rpc::KvGet& get) {
  gcs_requests_.KvGet(client.id, get);
}

void NodeManager::OnRegisterActorName(const ClientInfo& client, rpc::RegisterActorName& request) {
  gcs_requests_.RegisterActorName(client.id, request);
}

void NodeManager::OnLookupActor(const ClientInfo& client, const rpc::LookupActor& request) {
  gcs_requests_.LookupActor(client.id, request);
}

void NodeManager::OnListNamedActors(const ClientInfo& client,
                                    const rpc::ListNamedActors& request) {
  gcs_requests_.ListNamedActors(client.id, request);
}

void NodeManager::OnRegisterPlacementGroup(const ClientInfo& client,
                                           rpc::RegisterPlacementGroup& request) {
  gcs_requests_.RegisterPlacementGroup(client.id, request);
}

void NodeManager::OnJobInfo(const ClientInfo& client, const rpc::JobInfoRequest& request) {
  gcs_requests_.JobInfo(client.id, request);
}

void NodeManager::OnWorkerExiting(const ClientInfo& client, const rpc::WorkerExiting& exiting) {
  exit_reasons_[client.pid] = exiting.reason();
}

void NodeManager::OnKillActor(const rpc::KillActor& request) {
  std::string host = request.node_id();
  if (host.empty() || host == node_id_.Binary()) {
    // An actor this node placed elsewhere.
    const std::optional<NodeId> placed = tasks_.ActorNode(ActorId::FromBinary(request.actor_id()));
    if (placed) host = placed->Binary();
  }
  if (!host.empty() && host != node_id_.Binary()) {
    // The actor runs on another node: the kill goes there.
    rpc::Message forward;
    *forward.mutable_kill_actor() = request;
    forward.mutable_kill_actor()->clear_node_id();
    if (node_io_.peers != nullptr) node_io_.peers->Send(NodeId::FromBinary(host), forward);
    tasks_.OnActorKilled(request);  // one placed from here: its record may go
    return;
  }
  actors_.OnKill(request);
}

void NodeManager::OnCancelTask(const ClientInfo& client, const rpc::CancelTask& request) {
  tasks_.OnCancel(client, request);
}

void NodeManager::OnTasksReturned(const ClientInfo& client, const rpc::TasksReturned& returned) {
  tasks_.OnTasksReturned(client.id, returned);
}

void NodeManager::OnWorkerBlocked(const ClientInfo& client, bool blocked) {
  tasks_.OnWorkerBlocked(client.id, blocked);
}

void NodeManager::OnGeneratorYield(const ClientInfo& worker, rpc::GeneratorYield& items) {
  generators_.OnYield(worker.id, items);
}

void NodeManager::OnReleaseGenerator(const ClientInfo& caller,
                                     const rpc::ReleaseGenerator& release) {
  generators_.OnReleased(caller.id, TaskId::FromBinary(release.task_id()), release.taken());
}

void NodeManager::OnCreatePlacementGroup(const ClientInfo& client,
                                         const rpc::CreatePlacementGroup& request) {
  groups_.Create(client.id, request);
  tasks_.Dispatch();
}

void NodeManager::OnRemovePlacementGroup(const ClientInfo& client,
                                         const rpc::RemovePlacementGroup& request) {
  const PlacementGroupId group_id = PlacementGroupId::FromBinary(request.pg_id());
  if (!groups_.Contains(group_id)) {
    // Neither made here nor holding bundles here: the nodes that know it
    // hear of it (a peer's removal is never passed on again).
    if (client.kind != rpc::PEER) {
      groups_.RemoveElsewhere(group_id, {live_nodes_.begin(), live_nodes_.end()});
    }
    return;
  }
  if (const std::optional<ClientId> creator = groups_.CreatorPeer(group_id)) {
    // Only a group's creator removes it (and then every bundle goes).
    const ClientInfo* peer = clients_.Find(*creator);
    if (peer != nullptr && node_io_.peers != nullptr) {
      rpc::Message forward;
      *forward.mutable_remove_placement_group() = request;
      node_io_.peers->Send(peer->node_id, forward);
    }
    return;
  }
  RemovePlacementGroup(group_id);
}

void NodeManager::RemovePlacementGroup(const PlacementGroupId& group_id) {
  if (!groups_.Contains(group_id)) return;
  // Actors placed in it die, and tasks in it (queued, waiting or running)
  // are cancelled: the resources they run on are going away.
  const std::string reason = "its placement group " + group_id.Hex() + " was removed";
  actors_.EndActorsInGroup(group_id, reason);
  tasks_.EndTasksInGroup(group_id, reason);
  groups_.Remove(group_id);
  tasks_.Dispatch();
}

void NodeManager::OnPrepareBundles(const ClientInfo& client,
                                   const rpc::PrepareBundles& request) {
  rpc::Message reply;
  *reply.mutable_bundles_prepared() = groups_.OnPrepare(client.id, request, client.node_id);
  clients_.Send(client.id, reply);
  tasks_.Dispatch();  // a refusal ends what waited for an older round's commit
}

void NodeManager::OnCommitBundles(const ClientInfo& client, const rpc::CommitBundles& commit) {
  groups_.OnCommit(commit);
  tasks_.Dispatch();
}

void NodeManager::OnReturnBundles(const ClientInfo& client, const rpc::ReturnBundles& give_back) {
  const PlacementGroupId group_id = PlacementGroupId::FromBinary(give_back.pg_id());
  if (give_back.round() == 0) {
    RemovePlacementGroup(group_id);  // removed: what runs in its bundles here ends
  } else {
    groups_.ReturnPrepared(group_id, give_back.round());
    tasks_.Dispatch();
  }
}

void NodeManager::OnPlacementGroupTable(const ClientInfo& client,
                                        const rpc::PlacementGroupTableRequest& request) {
  gcs_requests_.PlacementGroupTable(client.id, request);
}

void NodeManager::OnRegister(const ClientInfo& client, const rpc::RegisterClient& request,
                             RegisterDone done) {
  rpc::RegisterReply reply;
  reply.set_node_id(node_id_.Binary());
  reply.set_arena_size(arena_->size());
  reply.set_session_dir(options_.session_dir);
  if (request.kind() == rpc::DRIVER) {
    // The GCS gives the job its id; the driver learns it with the reply.
    rpc::JobInfo job;
    job.set_driver_pid(request.pid());
    job.set_namespace_(request.namespace_());
    job.set_config(request.job_config());
    gcs_.AddJob(std::move(job), [this, client_id = client.id, reply = std::move(reply),
                                 done = std::move(done)](absl::StatusOr<JobId> job_id) mutable {
      if (!job_id.ok()) {
        reply.set_error("cannot register the job with the GCS: " +
                        std::string(job_id.status().message()));
      } else if (clients_.Find(client_id) == nullptr) {
        gcs_.MarkJobFinished(*job_id, nullptr);  // the driver left meanwhile
      } else {
        // Workers read the job's config from its record when they run its
        // tasks (JobInfoRequest).
        reply.set_job_id(job_id->Binary());
      }
      done(std::move(reply));
    });
    return;
  } else if (request.kind() == rpc::WORKER) {
    if (!pool_.OnRegistered(WorkerId::FromBinary(request.worker_id()), client.id)) {
      reply.set_error("unknown worker id");
    }
  } else if (request.kind() == rpc::PEER) {
    // Another node's raylet, placing tasks here; its jobs are the GCS's.
  } else {
    reply.set_error("unknown client kind");
  }
  done(std::move(reply));
}

void NodeManager::OnRegistered(const ClientInfo& client) {
  if (client.kind == rpc::WORKER) {
    startup_failures_ = 0;
    tasks_.Dispatch();
    tasks_.Rebalance();  // a new idle worker may take tasks queued on a lease
  }
}

void NodeManager::OnSubmitTask(const ClientInfo& client, rpc::TaskSpec& spec) {
  tasks_.Submit(client, spec);
}

void NodeManager::OnTaskDone(const ClientInfo& client, rpc::TaskDone& done) {
  tasks_.OnTaskDone(client.id, done);
}

void NodeManager::Store(rpc::ReturnObject& ret) {
  auto* data = ret.mutable_data();
  const ObjectId id = ObjectId::FromBinary(data->object_id());
  if (data->error() != rpc::ERROR_NONE) {
    // A task's error keeps what it refers to (the error object stored once
    // for all its returns) alive, as a value does.
    ObjectReady(id, objects_.SetError(id, data->error(), data->error_message(),
                                      std::move(*data->mutable_inline_data()),
                                      ToObjectIds(ret.contained_refs())));
    return;
  }
  std::vector<ClientId> waiting;
  if (data->elsewhere()) {
    waiting = objects_.SetElsewhere(id, data->size(), NodeId::FromBinary(data->node_id()));
  } else if (data->in_store()) {
    auto sealed = objects_.Seal(id, ToObjectIds(ret.contained_refs()));
    if (!sealed.ok()) return;
    waiting = std::move(*sealed);
  } else {
    waiting = objects_.PutInline(kTaskArgHolder, id, std::move(*data->mutable_inline_data()),
                                 ToObjectIds(ret.contained_refs()));
  }
  ObjectReady(id, waiting);
}

void NodeManager::StoreError(const ObjectId& id, rpc::ErrorCode code, const std::string& message,
                             const std::string& payload) {
  ObjectReady(id, objects_.SetError(id, code, message, payload));
}

void NodeManager::ObjectReady(const ObjectId& id, const std::vector<ClientId>& waiting) {
  for (ClientId client : waiting) SendObject(client, id);
  // Made on another node: tasks here wait until it is pulled here (or go
  // there), actor calls here pull it as their turn comes (ArgsHere).
  if (objects_.NeedsFetch(id)) {
    tasks_.OnReadyElsewhere(id);
  } else {
    scheduler_.OnObjectReady(id);
  }
  actors_.OnObjectReady();
}

void NodeManager::OnFetched(const ObjectId& id, const absl::Status& status) {
  // Its only copy could not be had: made again (lineage), or lost.
  if (!status.ok()) tasks_.OnCopiesLost({id}, std::string(status.message()));
  std::vector<ClientId> waiting;
  if (auto it = fetch_waiters_.find(id); it != fetch_waiters_.end()) {
    waiting = std::move(it->second);
    fetch_waiters_.erase(it);
  }
  if (!objects_.IsReady(id)) {
    // Being made again: its readers wait for the new value.
    for (ClientId client : waiting) {
      if (objects_.Subscribe(client, id)) SendObject(client, id);
    }
    tasks_.Dispatch();
    return;
  }
  // Sealed here: ObjectReady woke the tasks (OnObjectPulled). Lost: wake
  // them now, to fail on the error.
  if (status.ok()) {
    for (ClientId client : waiting) SendObject(client, id);
  } else {
    ObjectReady(id, waiting);
  }
  tasks_.Dispatch();
}

void NodeManager::SendObject(ClientId client, const ObjectId& id) {
  if (clients_.Find(client) == nullptr) return;
  // Spilled: brought back first (off the loop; the client waits). One that
  // found no room for long is described as such, one that could not be
  // read back as lost.
  const SpillManager::Restored now = spill_.Restore(
      {id}, [this, client, id](SpillManager::Restored) { DescribeTo(client, id); });
  if (now != SpillManager::Restored::kPending) DescribeTo(client, id);
}

void NodeManager::DescribeTo(ClientId client, const ObjectId& id) {
  if (clients_.Find(client) == nullptr) return;
  // On another node: a local reader learns where (and asks again for the
  // value if it needs it); another node pulls it from there.
  rpc::Message message;
  objects_.DescribeAndPin(client, id, message.mutable_object_ready());
  const ClientInfo* info = clients_.Find(client);
  const ObjectEntry* entry = objects_.Find(id);
  if (info != nullptr && info->kind == rpc::PEER && entry != nullptr) {
    // Another node borrows what the value holds from us.
    for (const ObjectId& nested : entry->contained) {
      message.mutable_object_ready()->add_contained_refs(nested.Binary());
    }
    // ... and may pull it from the copies other nodes reported.
    for (const NodeId& copy : remote_.CopiesOf(id, info->node_id)) {
      message.mutable_object_ready()->add_copy_node_ids(copy.Binary());
    }
  }
  clients_.Send(client, message);
}

void NodeManager::OnCreateObject(const ClientInfo& client, const rpc::CreateObject& request) {
  rpc::Message reply;
  auto* body = reply.mutable_create_reply();
  body->set_request_id(request.request_id());
  const ObjectId id = ObjectId::FromBinary(request.object_id());
  if (!MayWrite(client, id)) {
    body->set_error(rpc::OBJECT_LOST);
    body->set_error_message("object " + id.Hex() +
                            " is the return of a task this process does not run");
    clients_.Send(client.id, reply);
    return;
  }
  TryCreate(client.id, request);
}

void NodeManager::TryCreate(ClientId client, const rpc::CreateObject& request) {
  const ObjectId id = ObjectId::FromBinary(request.object_id());
  SpillManager::Created created = spill_.Create(client, id, request.size());
  if (created.wait_for_room) {
    // Spills under way make room: answered when one ends (OnRoomMade).
    pending_creates_.push_back({client, request});
    return;
  }
  if (created.ask_clients_to_unpin) AskClientsToUnpin(clients_);
  rpc::Message reply;
  auto* body = reply.mutable_create_reply();
  body->set_request_id(request.request_id());
  if (created.offset.ok()) {
    body->set_offset(*created.offset);
  } else {
    body->set_error(rpc::OBJECT_STORE_FULL);
    body->set_error_message(std::string(created.offset.status().message()));
  }
  clients_.Send(client, reply);
}

void NodeManager::OnSubscribe(const ClientInfo& client, const rpc::Subscribe& request) {
  for (const auto& binary : request.object_ids()) {
    const ObjectId id = ObjectId::FromBinary(binary);
    if (!objects_.Subscribe(client.id, id)) continue;  // sent once ready
    if (client.kind != rpc::PEER && !request.location_only() && objects_.NeedsFetch(id)) {
      // Made on another node and read here: pulled first.
      fetch_waiters_[id].push_back(client.id);
      remote_.Fetch(id);
      continue;
    }
    SendObject(client.id, id);
  }
}

void NodeManager::OnClusterInfo(const ClientInfo& client, const rpc::ClusterInfoRequest& request) {
  gcs_.GetAllNodes([this, client_id = client.id, request_id = request.request_id()](
                       absl::StatusOr<std::vector<rpc::NodeInfo>> nodes) {
    clients_.Send(client_id, ClusterInfoReply(request_id, std::move(nodes)));
  });
}

bool NodeManager::Compact() {
  objects_.Compact();
  scheduler_.Compact();
  leases_.Compact();
  tasks_.Compact();
  ShrinkIfSparse(fetch_waiters_);
  return tasks_.size() == 0;
}

rpc::ResourceSet NodeManager::AvailableForView() const {
  ResourceSet shown;
  for (const auto& [name, amount] : scheduler_.available().ToMap()) {
    shown.Set(name, std::max(0.0, amount));
  }
  // As in Ray, the store's free bytes show as available object_store_memory.
  const StoreStats store = objects_.Stats();
  const double free_bytes =
      static_cast<double>(store.capacity > store.used ? store.capacity - store.used : 0);
  shown.Set("object_store_memory", std::min(free_bytes, shown.Get("object_store_memory")));
  rpc::ResourceSet out;
  shown.ToProto(&out);
  return out;
}

rpc::Message NodeManager::ClusterInfoReply(uint64_t request_id,
                                           absl::StatusOr<std::vector<rpc::NodeInfo>> nodes) const {
  rpc::Message reply;
  auto* body = reply.mutable_cluster_info_reply();
  body->set_request_id(request_id);
  if (!nodes.ok()) {
    body->set_error(std::string(nodes.status().message()));
    return reply;
  }
  for (rpc::NodeInfo& node : *nodes) {
    if (NodeId::FromBinary(node.node_id()) == node_id_) {
      *node.mutable_available() = AvailableForView();
      // Reserved placement groups offer their bundles under their own names.
      for (const auto& [name, amount] : scheduler_.total().ToMap()) {
        if (amount > 0 && GroupOfResource(name)) {
          (*node.mutable_total()->mutable_amounts())[name] = amount;
        }
      }
    }
    *body->add_nodes() = std::move(node);
  }
  return reply;
}

void NodeManager::OnStoreStats(const ClientInfo& client, const rpc::StoreStatsRequest& request) {
  const uint64_t request_id = request.request_id();
  rpc::Message reply;
  auto* body = reply.mutable_store_stats_reply();
  body->set_request_id(request_id);
  const StoreStats stats = objects_.Stats();
  body->set_capacity(stats.capacity);
  body->set_used(stats.used);
  body->set_num_objects(stats.num_objects);
  body->set_num_inline_objects(stats.num_inline);
  body->set_num_tasks(tasks_.size());
  clients_.Send(client.id, reply);
}

void NodeManager::OnLogLines(const rpc::LogLines& lines) {
  SendToDrivers(clients_, lines);
  SendToPeers(clients_, lines, options_.ip);
}

void NodeManager::OnClientClosed(const ClientInfo& info) {
  const ClientId client = info.id;
  objects_.DropClient(client);
  generators_.OnClientGone(client);
  actors_.OnOwnerGone(client);
  tasks_.OnOwnerGone(client);
  if (info.kind == rpc::WORKER) {
    pool_.OnDisconnected(client);
    // The process normally exits right after; make sure it does.
    const pid_t pid = info.pid;
    node_io_.timers->After(std::chrono::seconds(2), [pid, this] {
      for (pid_t alive : pool_.Pids()) {
        if (alive == pid) node_io_.processes->Kill(pid, SIGKILL);
      }
    });
  } else if (info.kind == rpc::DRIVER || info.kind == rpc::PEER) {
    // A peer is another node's raylet: the tasks it placed here go with it.
    if (info.kind == rpc::DRIVER) gcs_.MarkJobFinished(info.job_id, nullptr);
    tasks_.OnDriverGone(client);
    for (const PlacementGroupId& group_id : groups_.OwnedBy(client)) RemovePlacementGroup(group_id);
    if (info.kind == rpc::DRIVER && options_.driver_pid != 0 && info.pid == options_.driver_pid) {
      std::cerr << "flare-raylet: driver " << info.pid << " disconnected; stopping\n";
      request_stop_();
    }
  }
}

void NodeManager::OnChildExited(pid_t pid, int status) {
  auto info = pool_.OnProcessExited(pid);
  auto reason = exit_reasons_.extract(pid);
  if (!info) return;
  const std::string cause =
      reason.empty() ? ExitCause(status) : "exited because " + reason.mapped();
  if (info->state == WorkerState::kStarting && ++startup_failures_ >= 3) {
    const std::string broken = "worker processes fail to start (the last one " + cause +
                               "); see the worker logs in " + options_.session_dir + "/logs";
    std::cerr << "flare-raylet: " << broken << "\n";
    tasks_.OnWorkersBroken(broken);
    return;
  }
  if (!actors_.OnWorkerLost(info->client, cause)) tasks_.OnWorkerLost(*info, cause);
  tasks_.Dispatch();
  tasks_.Rebalance();
}

void NodeManager::SignalWorkers(int signal) {
  for (pid_t pid : pool_.Pids()) node_io_.processes->Kill(pid, signal);
}

}  // namespace flare
