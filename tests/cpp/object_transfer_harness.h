// Nodes' object transfer in one process, for the loopback tests and the
// transfer benchmark: each TransferNode has its own arena, ObjectTable,
// ObjectManager and gRPC server on a 127.0.0.1 port; all share one event
// loop thread (LoopThread), as one raylet's units share its loop.
#ifndef FLARE_TESTS_CPP_OBJECT_TRANSFER_HARNESS_H_
#define FLARE_TESTS_CPP_OBJECT_TRANSFER_HARNESS_H_

#include <condition_variable>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "object_manager/io_thread.h"
#include "object_manager/local_objects.h"
#include "object_manager/object_manager.h"
#include "object_store/arena.h"
#include "object_store/object_table.h"
#include "rpc/cluster_server.h"

namespace flare {

// An event loop on its own thread (a raylet's loop). Run() executes work
// there and waits for it. Stops only at destruction, after the work posted
// before it ran (a drain through Run).
class LoopThread {
 public:
  ~LoopThread() {
    Run([] { return 0; });
  }
  boost::asio::io_context& loop() { return thread_.io(); }

  template <typename Fn>
  auto Run(Fn fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto result = task.get_future();
    boost::asio::post(thread_.io(), [&task] { task(); });
    return result.get();
  }

 private:
  IoThread thread_;
};

// ObjectTableObjects that also tells a waiting thread when no object is
// pinned for sending any more.
class PinCountingObjects : public ObjectTableObjects {
 public:
  using ObjectTableObjects::ObjectTableObjects;

  absl::StatusOr<Pinned> PinForSend(const ObjectId& id) override {
    absl::StatusOr<Pinned> pinned = ObjectTableObjects::PinForSend(id);
    std::lock_guard<std::mutex> lock(mu_);
    if (pinned.ok()) ++pins_;
    return pinned;
  }
  void UnpinSent(const ObjectId& id) override {
    ObjectTableObjects::UnpinSent(id);
    std::lock_guard<std::mutex> lock(mu_);
    --pins_;
    ++unpins_;
    changed_.notify_all();
  }
  // Blocks until `unpins` pins have been released and none is held.
  void WaitForUnpins(int unpins) {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [&] { return unpins_ >= unpins && pins_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  int pins_ = 0;
  int unpins_ = 0;
};

constexpr ClientId kTransferClient = 1u << 30;  // the object manager's holder id
constexpr ClientId kPutClient = 7;              // "a driver" that puts objects

// What a node's port (a ClusterServer) serves: gRPC only, or gRPC and the
// raw data connections.
enum class NodePort { kGrpcOnly, kGrpcAndRaw };

class TransferNode {
 public:
  TransferNode(LoopThread& loop, uint64_t arena_bytes, ObjectManagerOptions options,
               uint8_t number, NodePort port = NodePort::kGrpcOnly)
      : loop_(loop), table_(arena_bytes) {
    node_.MutableData()[0] = number;
    arena_ = *Arena::Create(arena_bytes, "transfer-test");
    objects_ = std::make_unique<PinCountingObjects>(table_, arena_->base(), kTransferClient);
    loop.Run([&] {
      manager_ = std::make_unique<ObjectManager>(loop.loop(), *objects_, std::move(options));
      return 0;
    });
    server_ = *ClusterServer::Start(
        "127.0.0.1", 0, {manager_->service()},
        port == NodePort::kGrpcAndRaw ? SharedPort::RawRoutes{manager_->raw_route()}
                                       : SharedPort::RawRoutes{});
  }
  ~TransferNode() {
    server_->Shutdown();
    loop_.Run([this] {
      manager_.reset();
      return 0;
    });
  }

  Holder AsHolder() const {
    return Holder{node_, "127.0.0.1:" + std::to_string(server_->port())};
  }
  const NodeId& node() const { return node_; }
  ObjectManager& manager() { return *manager_; }
  ObjectTable& table() { return table_; }
  PinCountingObjects& objects() { return *objects_; }
  uint8_t* arena_base() { return arena_->base(); }

  // Puts an object of `size` bytes, byte i being (i * 131 + seed) mod 251.
  ObjectId Put(uint64_t size, uint8_t seed) {
    ObjectId id = ObjectId::FromRandom();
    loop_.Run([&] {
      uint64_t offset = *table_.Create(kPutClient, id, size);
      uint8_t* data = arena_->base() + offset;
      for (uint64_t i = 0; i < size; ++i) data[i] = static_cast<uint8_t>((i * 131 + seed) % 251);
      (void)table_.Seal(id, {});
      return 0;
    });
    return id;
  }
  // Whether the sealed local object `id` holds exactly the bytes Put wrote.
  bool HasPutBytes(const ObjectId& id, uint64_t size, uint8_t seed) {
    return loop_.Run([&] {
      const ObjectEntry* entry = table_.Find(id);
      if (entry == nullptr || !table_.IsReady(id) || entry->size != size) return false;
      const uint8_t* data = arena_->base() + entry->offset;
      for (uint64_t i = 0; i < size; ++i) {
        if (data[i] != static_cast<uint8_t>((i * 131 + seed) % 251)) return false;
      }
      return true;
    });
  }
  // Pulls `id` from `holders` and waits for the outcome.
  absl::Status PullAndWait(const ObjectId& id, uint64_t size, std::vector<Holder> holders) {
    std::promise<absl::Status> done;
    loop_.Run([&] {
      manager_->Pull(id, size, holders, [&done](const absl::Status& s) { done.set_value(s); });
      return 0;
    });
    return done.get_future().get();
  }

 private:
  LoopThread& loop_;
  NodeId node_;
  ObjectTable table_;
  std::unique_ptr<Arena> arena_;
  std::unique_ptr<PinCountingObjects> objects_;
  std::unique_ptr<ObjectManager> manager_;
  std::unique_ptr<ClusterServer> server_;
};

}  // namespace flare

#endif  // FLARE_TESTS_CPP_OBJECT_TRANSFER_HARNESS_H_
