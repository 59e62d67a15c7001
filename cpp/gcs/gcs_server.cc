#include "gcs/gcs_server.h"

#include <utility>

#include "gcs/gcs_wire.h"

namespace flare {

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
  sink_.Push(stream, std::move(push));
}

void GcsServer::OnRequest(StreamId stream, const rpc::GcsRequest& request,
                          Clock::time_point now) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) {
    rpc::GcsReply refused;
    refused.set_request_id(request.request_id());
    refused.set_status_code(static_cast<int32_t>(absl::StatusCode::kFailedPrecondition));
    if (!request.has_register_node()) {
      refused.set_status_message("a node must register before anything else");
      Reply(stream, std::move(refused));
      return;
    }
    const std::string& version = request.register_node().version();
    if (version != options_.version) {
      const std::string refused_message =
          "this node runs flare " + (version.empty() ? std::string("(unknown)") : version) +
          " but the head runs flare " + options_.version +
          "; install the same version on every node";
      refused.set_status_message(refused_message);
      Reply(stream, std::move(refused));
      sink_.Close(stream, refused_message);
      return;
    }
    it = streams_.emplace(stream, Session{NodeId::FromBinary(request.register_node().node_id()),
                                          now}).first;
  }
  it->second.last_heard = now;
  ServeGcsRequest(local_, request,
                  [this, stream](rpc::GcsReply reply) { Reply(stream, std::move(reply)); });
}

void GcsServer::OnStreamClosed(StreamId stream) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  const NodeId node = it->second.node;
  streams_.erase(it);
  gcs_.MarkNodeDead(node);
}

std::vector<NodeId> GcsServer::CheckLiveness(Clock::time_point now) {
  std::vector<NodeId> dead;
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
