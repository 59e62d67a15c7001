#include "raylet/local_server.h"

#include <iostream>

#include "raylet/message_checks.h"

namespace flare {

void LocalServer::Accept(Connection::Socket socket) {
  const ClientId id = next_client_id_++;
  Client& client = clients_[id];
  auto connection = std::make_shared<Connection>(std::move(socket), id, *this);
  client.link = connection;
  client.info.id = id;
  connection->Start();
}

ClientId LocalServer::AddLink(std::shared_ptr<ClientLink> link) {
  const ClientId id = next_client_id_++;
  Client& client = clients_[id];
  client.link = std::move(link);
  client.peer_link = true;
  client.info.id = id;
  return id;
}

void LocalServer::Send(ClientId client, const rpc::Message& message) {
  auto it = clients_.find(client);
  if (it != clients_.end()) it->second.link->Send(message);
}

const ClientInfo* LocalServer::Find(ClientId client) const {
  auto it = clients_.find(client);
  return it == clients_.end() ? nullptr : &it->second.info;
}

std::vector<ClientId> LocalServer::All() const {
  std::vector<ClientId> all;
  all.reserve(clients_.size());
  for (const auto& [id, client] : clients_) all.push_back(id);
  return all;
}

void LocalServer::Register(Client& client, const rpc::RegisterClient& request) {
  if (client.peer_link != (request.kind() == rpc::PEER)) {
    const std::string kind = rpc::ClientKind_IsValid(request.kind())
                                 ? rpc::ClientKind_Name(request.kind())
                                 : "kind " + std::to_string(request.kind());
    Refuse(client, absl::PermissionDeniedError(
                       std::string("a ") + (client.peer_link ? "node's stream" : "local connection") +
                       " cannot register as " + kind));
    return;
  }
  client.info.kind = request.kind();
  client.info.pid = request.pid();
  client.info.log_to_driver = request.log_to_driver();
  if (request.kind() == rpc::PEER && request.node_id().size() == NodeId::kSize) {
    client.info.node_id = NodeId::FromBinary(request.node_id());
  }
  client.registering = true;
  handler_->OnRegister(client.info, request,
                       [this, id = client.info.id](rpc::RegisterReply body) {
                         FinishRegister(id, std::move(body));
                       });
}

void LocalServer::FinishRegister(ClientId id, rpc::RegisterReply body) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;  // it left while registering
  Client& client = it->second;
  if (!body.job_id().empty()) client.info.job_id = JobId::FromBinary(body.job_id());
  const bool accepted = body.error().empty();
  rpc::Message reply;
  *reply.mutable_register_reply() = std::move(body);
  if (!client.link->SendWithFd(reply, arena_fd_) || !accepted) {
    client.link->Close();
    return;
  }
  client.registered = true;
  handler_->OnRegistered(client.info);
}

void LocalServer::OnMessage(Connection& connection, rpc::Message& message) {
  OnLinkMessage(connection.id(), message);
}

void LocalServer::OnLinkMessage(ClientId id, rpc::Message& message) {
  auto it = clients_.find(id);
  if (it == clients_.end() || it->second.refused) return;
  Client& client = it->second;
  const bool registration = message.body_case() == rpc::Message::kRegisterClient;
  if (!client.registered && !registration) {
    Refuse(client, absl::FailedPreconditionError("it sent a message before registering"));
    return;
  }
  // The earliest point the message is typed: what is wrong with it stops here.
  if (absl::Status allowed = CheckClientMessage(client.info.kind, message); !allowed.ok()) {
    Refuse(client, allowed);
    return;
  }
  if (registration) {
    if (!client.registered && !client.registering) Register(client, message.register_client());
    return;
  }
  Dispatch(client.info, message);
}

void LocalServer::Refuse(Client& client, const absl::Status& why) {
  std::cerr << "flare-raylet: dropping client " << client.info.id << " ("
            << (client.peer_link ? "a node's stream" : "local connection") << "): " << why.message()
            << "\n";
  client.refused = true;
  client.link->Refuse(why);
}

void LocalServer::Dispatch(const ClientInfo& client, rpc::Message& message) {
  LocalRequestHandler& handler = *handler_;
  switch (message.body_case()) {
    case rpc::Message::kSubmitTask:
      handler.OnSubmitTask(client, *message.mutable_submit_task()->mutable_spec());
      break;
    case rpc::Message::kTaskDone:
      handler.OnTaskDone(client, *message.mutable_task_done());
      break;
    case rpc::Message::kTasksReturned:
      handler.OnTasksReturned(client, message.tasks_returned());
      break;
    case rpc::Message::kWorkerBlocked:
      handler.OnWorkerBlocked(client, message.worker_blocked().blocked());
      break;
    case rpc::Message::kWorkerExiting:
      handler.OnWorkerExiting(client, message.worker_exiting());
      break;
    case rpc::Message::kCancelTask:
      handler.OnCancelTask(client, message.cancel_task());
      break;
    case rpc::Message::kPutInline:
      handler.OnPutInline(client, *message.mutable_put_inline());
      break;
    case rpc::Message::kCreateObject:
      handler.OnCreateObject(client, message.create_object());
      break;
    case rpc::Message::kSealObject:
      handler.OnSealObject(client, message.seal_object());
      break;
    case rpc::Message::kAbortObject:
      handler.OnAbortObject(client, message.abort_object());
      break;
    case rpc::Message::kSubscribe:
      handler.OnSubscribe(client, message.subscribe());
      break;
    case rpc::Message::kRefUpdate:
      handler.OnRefUpdate(client, message.ref_update());
      break;
    case rpc::Message::kReleasePins:
      handler.OnReleasePins(client, message.release_pins());
      break;
    case rpc::Message::kObjectLocation:
      handler.OnObjectLocation(client, message.object_location());
      break;
    case rpc::Message::kObjectCopies:
      handler.OnObjectCopies(client, message.object_copies());
      break;
    case rpc::Message::kKvPut:
      handler.OnKvPut(client, *message.mutable_kv_put());
      break;
    case rpc::Message::kKvGet:
      handler.OnKvGet(client, message.kv_get());
      break;
    case rpc::Message::kRegisterActorName:
      handler.OnRegisterActorName(client, *message.mutable_register_actor_name());
      break;
    case rpc::Message::kLookupActor:
      handler.OnLookupActor(client, message.lookup_actor());
      break;
    case rpc::Message::kListNamedActors:
      handler.OnListNamedActors(client, message.list_named_actors());
      break;
    case rpc::Message::kClusterInfoRequest:
      handler.OnClusterInfo(client, message.cluster_info_request());
      break;
    case rpc::Message::kStoreStatsRequest:
      handler.OnStoreStats(client, message.store_stats_request());
      break;
    case rpc::Message::kLogLines:
      handler.OnLogLines(message.log_lines());
      break;
    case rpc::Message::kKillActor:
      handler.OnKillActor(message.kill_actor());
      break;
    case rpc::Message::kGeneratorYield:
      handler.OnGeneratorYield(client, *message.mutable_generator_yield());
      break;
    case rpc::Message::kReleaseGenerator:
      handler.OnReleaseGenerator(client, message.release_generator());
      break;
    case rpc::Message::kCreatePlacementGroup:
      handler.OnCreatePlacementGroup(client, message.create_placement_group());
      break;
    case rpc::Message::kRemovePlacementGroup:
      handler.OnRemovePlacementGroup(client, message.remove_placement_group());
      break;
    case rpc::Message::kPlacementGroupTableRequest:
      handler.OnPlacementGroupTable(client, message.placement_group_table_request());
      break;
    case rpc::Message::kRegisterPlacementGroup:
      handler.OnRegisterPlacementGroup(client, *message.mutable_register_placement_group());
      break;
    case rpc::Message::kJobInfoRequest:
      handler.OnJobInfo(client, message.job_info_request());
      break;
    case rpc::Message::kPrepareBundles:
      handler.OnPrepareBundles(client, message.prepare_bundles());
      break;
    case rpc::Message::kCommitBundles:
      handler.OnCommitBundles(client, message.commit_bundles());
      break;
    case rpc::Message::kReturnBundles:
      handler.OnReturnBundles(client, message.return_bundles());
      break;
    case rpc::Message::kPing: {
      // A barrier: answered after everything the client sent before it.
      rpc::Message reply;
      reply.mutable_pong()->set_request_id(message.ping().request_id());
      Send(client.id, reply);
      break;
    }
    default:
      std::cerr << "flare-raylet: unexpected message " << message.body_case() << " from client "
                << client.id << "\n";
  }
}

void LocalServer::OnClosed(Connection& connection) { OnLinkClosed(connection.id()); }

void LocalServer::OnLinkClosed(ClientId id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  Client client = std::move(it->second);  // keeps the connection alive through the handler
  clients_.erase(it);
  if (client.registered) handler_->OnClientClosed(client.info);
}

}  // namespace flare
