// The GCS service's session logic, with no I/O: which node each connected
// stream belongs to, when each node was last heard from, and the cluster
// view pushed down every stream. The gRPC layer (cpp/rpc/gcs_service.h)
// turns stream events into calls here and carries out Push.
//
// A node's stream is its membership: the first request must register it,
// and when the stream ends the node is marked dead at once. A node that
// stays connected but silent (hung, stopped, cut off) for longer than
// `node_timeout` is marked dead by CheckLiveness.
//
// What a stream sends is checked before it counts (the stream is the
// network's edge): a stream that sends anything before registering, or
// registers a malformed record or the id of a node that is alive (another
// stream's, or the head's own), is answered with the error and closed; a
// registered stream may not take another node's id, nor report another
// node's resources. Malformed requests are answered with InvalidArgument
// (gcs_wire.h). A reply too large for the stream (a KV value over the
// cluster's message limit) is answered with ResourceExhausted instead.
//
// Thread-compatible: the head raylet's event loop is its only user.
#ifndef FLARE_GCS_GCS_SERVER_H_
#define FLARE_GCS_GCS_SERVER_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "cluster.pb.h"
#include "gcs/gcs.h"
#include "gcs/gcs_client.h"

namespace flare {

class GcsServer {
 public:
  using StreamId = uint64_t;
  using Clock = std::chrono::steady_clock;

  // Where pushes go: the stream's writer.
  class Sink {
   public:
    virtual ~Sink() = default;
    virtual void Push(StreamId stream, rpc::GcsPush push) = 0;
    // Ends the stream after what was pushed, telling the node `why`.
    virtual void Close(StreamId stream, const std::string& why) = 0;
  };

  struct Options {
    std::string version;  // a node must run the same flare version
    std::chrono::milliseconds node_timeout{5000};
    // The largest reply a stream carries (the cluster's message limit,
    // rpc/channel_args.h).
    size_t max_reply_bytes = 64 << 20;
  };

  // Borrows all three; `local` serves requests (the head's in-process client
  // over `gcs`).
  GcsServer(Gcs& gcs, GcsClient& local, Sink& sink, Options options);

  void OnRequest(StreamId stream, const rpc::GcsRequest& request, Clock::time_point now);
  // The stream ended (the node's process or connection is gone).
  void OnStreamClosed(StreamId stream);
  // Marks dead each node not heard from within the timeout; returns them.
  std::vector<NodeId> CheckLiveness(Clock::time_point now);
  // After a restart of the head (Gcs::Recover): the nodes that were alive
  // when it went count as alive again, as if heard from `now`, so that the
  // nodes that come back first do not take the others for dead. Each must
  // register again (with its own id) within the node timeout, else
  // CheckLiveness marks it dead.
  void ExpectReturningNodes(Clock::time_point now);

  size_t connected_nodes() const { return streams_.size(); }

 private:
  struct Session {
    NodeId node;
    Clock::time_point last_heard;
  };
  void Reply(StreamId stream, rpc::GcsReply reply);
  // Registers the node `request` names on `stream`, or refuses it (the reply
  // says why, and the stream is closed). Returns whether it was accepted.
  bool Admit(StreamId stream, const rpc::GcsRequest& request, Clock::time_point now);
  // Answers `request` with `status` and closes the stream, saying why.
  void Refuse(StreamId stream, const rpc::GcsRequest& request, const absl::Status& status);
  // Whether a node `id` is alive now, on another stream or the head's own.
  bool IsAlive(const NodeId& id) const;

  Gcs& gcs_;
  GcsClient& local_;
  Sink& sink_;
  Options options_;
  absl::flat_hash_map<StreamId, Session> streams_;
  // Nodes alive before a restart of the head, not registered again yet:
  // when they were expected.
  absl::flat_hash_map<NodeId, Clock::time_point, IdHash> returning_;
  // Streams refused and closing: what they still send is dropped.
  absl::flat_hash_set<StreamId> refused_;
};

}  // namespace flare

#endif  // FLARE_GCS_GCS_SERVER_H_
