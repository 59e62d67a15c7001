// The node's object transfer, as the raylet uses it: pull objects from
// other nodes into this node's arena, and serve this node's objects to
// nodes that pull them. It wires the I/O-free PullManager (decisions) to
// the store (LocalObjects), to gRPC streams (PullStream) and to a timer,
// and owns the ObjectManagerService that the node's port serves.
//
// Usage from the raylet (all on its event loop; README.md, "Wiring"):
//   ObjectManager objects(loop, local_objects, options);  // token, transport
//   ClusterServer::Start(host, port, {..., objects.service()}, objects.raw_route());
//   objects.SetSpaceRequester([&](uint64_t bytes) { spill...; objects.OnSpaceFreed(); });
//   objects.Pull(id, size, {{node, "10.0.0.2:6380"}}, [](const absl::Status& s) {...});
//   objects.OnNodeDead(node);  // from the GCS's node events
//
// Ownership: borrows `loop` and `objects`, which must outlive it. Owns the
// PullManager, the service and every open stream.
//
// Thread rules: every method runs on the loop thread, and every callback
// (pull done, space requests) is called there. gRPC's threads and the
// transfer thread (raw data connections) copy chunk bytes and post events;
// nothing else of theirs touches this object.
// REQUIRES: the server serving service() shuts down before this object is
// destroyed. Destruction cancels the open streams and waits for gRPC to be
// done with them; pulls in progress are aborted and their waiters are not
// called.
#ifndef FLARE_OBJECT_MANAGER_OBJECT_MANAGER_H_
#define FLARE_OBJECT_MANAGER_OBJECT_MANAGER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "common/ids.h"
#include "object_manager/local_objects.h"
#include "object_manager/object_manager_service.h"
#include "object_manager/pull_manager.h"
#include "object_manager/grpc_pull_stream.h"
#include "object_manager/io_thread.h"
#include "object_manager/raw_sender.h"
#include "object_manager/send_pin.h"
#include "object_manager/transfer_stream.h"
#include "rpc/shared_port.h"

namespace flare {

// What carries a pull's bytes. A holder serves both when its port hands
// raw data connections to raw_route() (ClusterServer does), so nodes
// pulling with either transport can share a cluster.
enum class TransferTransport {
  kGrpc,    // ObjectManagerService.Pull calls
  kRawTcp,  // raw data connections on the same port (raw_protocol.h)
};

struct ObjectManagerOptions {
  std::string token;  // the cluster token, sent and checked on every call
  TransferTransport transport = TransferTransport::kGrpc;
  PullOptions pull;
  // Extra settings for the channels to other nodes (benchmarks try some).
  grpc::ChannelArguments channel_args;
};

// A node that holds a copy, and its port's address ("host:port").
struct Holder {
  NodeId node;
  std::string address;
};

class ObjectManager {
 public:
  using PullCallback = std::function<void(const absl::Status&)>;
  // Asked to make room for `bytes` (spill or evict); call OnSpaceFreed after.
  using SpaceRequester = std::function<void(uint64_t bytes)>;

  ObjectManager(boost::asio::io_context& loop, LocalObjects& objects,
                ObjectManagerOptions options);
  ~ObjectManager();
  ObjectManager(const ObjectManager&) = delete;
  ObjectManager& operator=(const ObjectManager&) = delete;

  // Serve these on the node's port (ClusterServer::Start): the gRPC
  // service, and where raw data connections go.
  grpc::Service* service() { return &service_; }
  SharedPort::RawRoute raw_route();

  // Brings `object` (`size` bytes, as its owner says) into the local arena
  // from one of `holders`, then calls `done` with OK (the object is sealed
  // here), Unavailable (no holder could send it), NotFound (no holders),
  // ResourceExhausted (no room in the store in time) or the store's error.
  // Concurrent pulls of one object share one transfer. REQUIRES: `object`
  // is not in the local store (CreateForPull would refuse it).
  void Pull(const ObjectId& object, uint64_t size, const std::vector<Holder>& holders,
            PullCallback done);

  void SetSpaceRequester(SpaceRequester requester) { space_requester_ = std::move(requester); }
  // The store has more room (something was spilled, evicted or freed).
  void OnSpaceFreed();
  // The GCS declared `node` dead: no pull waits on it any more.
  void OnNodeDead(const NodeId& node);

  size_t num_pulls() const { return pulls_.num_pulls(); }
  // Calls serving this node's objects that hold a pin now. Thread-safe.
  size_t active_sends() const;

 private:
  class StreamTracker;

  // Runs `actions` and whatever further actions they lead to. Re-entrant:
  // a callback that pulls again queues behind the actions being run.
  void Execute(PullActions actions);
  void Perform(const PullAction& action);
  void Open(const PullAction& action);
  void Notify(const PullAction& action);
  void ArmTimer();
  grpc::GenericStub& StubFor(const std::string& address);
  // Runs `event` on the loop unless this object is gone by then.
  void Post(std::function<void()> event);

  boost::asio::io_context& loop_;
  LocalObjects& objects_;
  const ObjectManagerOptions options_;
  PullManager pulls_;
  std::shared_ptr<SenderContext> senders_;
  ObjectManagerGrpcService service_;
  IoThread transfer_thread_;  // raw data connections, both directions
  RawSender raw_sender_;
  SpaceRequester space_requester_;

  absl::flat_hash_map<NodeId, std::string, IdHash> addresses_;
  absl::flat_hash_map<std::string, std::unique_ptr<grpc::GenericStub>> stubs_;
  absl::flat_hash_map<ObjectId, uint8_t*, IdHash> buffers_;
  absl::flat_hash_map<ObjectId, absl::Status, IdHash> seal_failures_;
  absl::flat_hash_map<AttemptId, std::shared_ptr<TransferStream>> streams_;
  absl::flat_hash_map<PullWaiterId, PullCallback> waiters_;
  PullWaiterId next_waiter_ = 1;

  std::deque<PullAction> queue_;
  bool executing_ = false;
  boost::asio::steady_timer timer_;
  std::shared_ptr<StreamTracker> tracker_;
  std::shared_ptr<bool> alive_;  // read on the loop by posted events
};

}  // namespace flare

#endif  // FLARE_OBJECT_MANAGER_OBJECT_MANAGER_H_
