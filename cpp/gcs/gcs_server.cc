#include "gcs/gcs_server.h"

#include <iostream>
#include <utility>

#include "gcs/gcs_wire.h"

namespace flare {

namespace {

// The node a request speaks for, when it names one.
const std::string* NodeNamed(const rpc::GcsRequest& request) {
  if (request.has_register_node()) return &request.register_node().node_id();
  if (request.has_resource_report()) return &request.resource_report().node_id();
  return nullptr;
}

rpc::GcsReply ErrorReply(const rpc::GcsRequest& request, const absl::Status& status) {
  rpc::GcsReply reply;
  reply.set_request_id(request.request_id());
  reply.set_status_code(static_cast<int32_t>(status.code()));
  reply.set_status_message(std::string(status.message()));
  return reply;
}

}  // namespace

GcsServer::GcsServer(Gcs& gcs, GcsClient& local, Sink& sink, Options options)
    : gcs_(gcs), local_(local), sink_(sink), options_(std::move(options)) {
  gcs_.AddViewListener([this](const std::vector<rpc::NodeInfo>& nodes) {
    rpc::GcsPush push;
    for (const auto& node : nodes) *push.mutable_view()->add_nodes() = node;
    for (const auto& [stream, session] : streams_) sink_.Push(stream, push);
  });
}

void GcsServer::Reply(StreamId stream, rpc::GcsReply reply) {
  rpc::GcsPush push;
  *push.mutable_reply() = std::move(reply);
  if (const size_t size = push.ByteSizeLong(); size > options_.max_reply_bytes) {
    // Sent as it is, it would break the node's stream (and so its membership).
    rpc::GcsReply& too_large = *push.mutable_reply();
    too_large.clear_result();
    too_large.set_status_code(static_cast<int32_t>(absl::StatusCode::kResourceExhausted));
    too_large.set_status_message("the GCS's answer is " + std::to_string(size) +
                                 " bytes, more than the " +
                                 std::to_string(options_.max_reply_bytes) +
                                 " a message between nodes may carry");
  }
  sink_.Push(stream, std::move(push));
}

void GcsServer::Refuse(StreamId stream, const rpc::GcsRequest& request,
                       const absl::Status& status) {
  std::cerr << "flare-raylet: the GCS refused stream " << stream << ": " << status.message()
            << "\n";
  refused_.insert(stream);
  Reply(stream, ErrorReply(request, status));
  sink_.Close(stream, std::string(status.message()));
}

bool GcsServer::IsAlive(const NodeId& id) const {
  for (const auto& [stream, session] : streams_) {
    if (session.node == id) return true;
  }
  for (const rpc::NodeInfo& node : gcs_.GetAllNodes()) {
    if (node.alive() && node.node_id() == id.Binary()) return true;
  }
  return false;
}

bool GcsServer::Admit(StreamId stream, const rpc::GcsRequest& request, Clock::time_point now) {
  if (!request.has_register_node()) {
    Refuse(stream, request,
           absl::FailedPreconditionError("a node must register before anything else"));
    return false;
  }
  if (absl::Status valid = CheckGcsRequest(request); !valid.ok()) {
    Refuse(stream, request, valid);
    return false;
  }
  const std::string& version = request.register_node().version();
  if (version != options_.version) {
    Refuse(stream, request,
           absl::FailedPreconditionError(
               "this node runs flare " + (version.empty() ? std::string("(unknown)") : version) +
               " but the head runs flare " + options_.version +
               "; install the same version on every node"));
    return false;
  }
  const NodeId id = NodeId::FromBinary(request.register_node().node_id());
  // A node coming back after a restart of the head takes its own id again.
  if (returning_.erase(id) == 0 && IsAlive(id)) {
    // Taking a live node's id would take over its record, and its death
    // when this stream ends.
    Refuse(stream, request,
           absl::AlreadyExistsError("node " + id.Hex() + " is already in the cluster"));
    return false;
  }
  streams_.emplace(stream, Session{id, now});
  return true;
}

void GcsServer::OnRequest(StreamId stream, const rpc::GcsRequest& request,
                          Clock::time_point now) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) {
    if (refused_.contains(stream) || !Admit(stream, request, now)) return;
    it = streams_.find(stream);
  } else if (const std::string* claimed = NodeNamed(request);
             claimed != nullptr && *claimed != it->second.node.Binary()) {
    // A node speaks for itself only.
    const absl::Status refused = absl::PermissionDeniedError(
        "node " + it->second.node.Hex() + " cannot " +
        (request.has_register_node() ? "register" : "report the resources of") +
        " another node (" + ToHex(*claimed) + ")");
    std::cerr << "flare-raylet: the GCS refused a request: " << refused.message() << "\n";
    if (!request.has_resource_report()) Reply(stream, ErrorReply(request, refused));
    return;
  }
  it->second.last_heard = now;
  ServeGcsRequest(local_, request,
                  [this, stream](rpc::GcsReply reply) { Reply(stream, std::move(reply)); });
}

void GcsServer::OnStreamClosed(StreamId stream) {
  refused_.erase(stream);
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  const NodeId node = it->second.node;
  streams_.erase(it);
  gcs_.MarkNodeDead(node);
}

void GcsServer::ExpectReturningNodes(Clock::time_point now) {
  for (rpc::NodeInfo node : gcs_.NodesAliveBeforeRecover()) {
    node.set_alive(true);
    if (gcs_.RegisterNode(node).ok()) returning_[NodeId::FromBinary(node.node_id())] = now;
  }
}

std::vector<NodeId> GcsServer::CheckLiveness(Clock::time_point now) {
  std::vector<NodeId> dead;
  for (auto it = returning_.begin(); it != returning_.end();) {
    if (now - it->second > options_.node_timeout) {
      dead.push_back(it->first);
      returning_.erase(it++);
    } else {
      ++it;
    }
  }
  for (auto it = streams_.begin(); it != streams_.end();) {
    if (now - it->second.last_heard > options_.node_timeout) {
      dead.push_back(it->second.node);
      sink_.Close(it->first, "the node did not report within " +
                                 std::to_string(options_.node_timeout.count()) + " ms");
      streams_.erase(it++);
    } else {
      ++it;
    }
  }
  for (const NodeId& node : dead) gcs_.MarkNodeDead(node);
  return dead;
}

}  // namespace flare
