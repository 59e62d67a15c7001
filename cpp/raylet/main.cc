// flare-raylet: the per-node daemon. Wires the event loop, the local socket,
// the shared-memory arena, the GCS (on the head node) and the node manager,
// and handles process signals.
#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

#include <boost/asio.hpp>

#include "common/fd_reserve.h"
#include "gcs/gcs.h"
#include "gcs/gcs_server.h"
#include "gcs/gcs_wire.h"
#include "gcs/in_process_gcs_client.h"
#include "gcs/storage_spec.h"
#include "object_manager/local_objects.h"
#include "object_manager/malloc_tuning.h"
#include "object_manager/object_manager.h"
#include "object_store/arena.h"
#include "raylet/local_server.h"
#include "raylet/node_manager.h"
#include "raylet/event_loop.h"
#include "raylet/options.h"
#include "raylet/posix_io.h"
#include "raylet/fork_server_launcher.h"
#include "raylet/process_launcher.h"
#include "rpc/channel_args.h"
#include "rpc/cluster_server.h"
#include "rpc/gcs_link.h"
#include "rpc/gcs_service.h"
#include "rpc/node_service.h"
#include "rpc/peer_pool.h"
#include "rpc/raw_peer_server.h"
#include "rpc/token.h"

namespace {

using flare::RayletFlags;

// A number from a /proc or /sys file: the line "name: value [kB]" or
// "name value", or the first line when `name` is empty. nullopt when absent
// or not a number ("max").
std::optional<uint64_t> ReadNumber(const std::string& path, const std::string& name = "") {
  std::ifstream file(path);
  std::string line;
  while (std::getline(file, line)) {
    if (!name.empty() && (line.rfind(name, 0) != 0 || line.size() <= name.size() ||
                          (line[name.size()] != ':' && line[name.size()] != ' '))) {
      continue;
    }
    std::istringstream fields(name.empty() ? line : line.substr(name.size() + 1));
    uint64_t value = 0;
    std::string unit;
    if (!(fields >> value)) return std::nullopt;
    fields >> unit;
    return unit == "kB" ? value * 1024 : value;
  }
  return std::nullopt;
}

// The memory available to this node now, as Ray estimates it: what the
// kernel reports available, or less when a cgroup (container) limits us
// (its usage less the page cache it could drop).
uint64_t AvailableMemory() {
  uint64_t available = 0;
  if (auto value = ReadNumber("/proc/meminfo", "MemAvailable")) {
    available = *value;
  } else {
    struct sysinfo info {};
    sysinfo(&info);
    available = (static_cast<uint64_t>(info.freeram) + info.bufferram) * info.mem_unit;
  }
  auto limit = ReadNumber("/sys/fs/cgroup/memory.max");
  auto used = ReadNumber("/sys/fs/cgroup/memory.current");
  if (limit && used) {
    const uint64_t cache = ReadNumber("/sys/fs/cgroup/memory.stat", "inactive_file").value_or(0);
    const uint64_t in_use = *used > cache ? *used - cache : 0;
    available = std::min(available, *limit > in_use ? *limit - in_use : 0);
  }
  return available;
}

// Listens on the local socket and hands accepted connections over.
// Accepts drivers and workers on the Unix socket. Out of descriptors, it
// refuses the clients waiting (FdReserve: they see the connection close)
// and tries again after a pause, with one log line per episode, instead of
// accepting in a loop at full CPU while they hang.
class LocalAcceptor {
 public:
  LocalAcceptor(boost::asio::local::stream_protocol::acceptor& acceptor,
                flare::LocalServer& server)
      : acceptor_(acceptor), server_(server), retry_(acceptor.get_executor()) {
    boost::system::error_code ignored;
    acceptor_.native_non_blocking(true, ignored);
  }

  void Start() {
    acceptor_.async_accept([this](const boost::system::error_code& error,
                                  boost::asio::local::stream_protocol::socket socket) {
      if (error == boost::asio::error::operation_aborted) return;
      if (!error) {
        reserve_.Accepted("local clients");
        server_.Accept(std::move(socket));
      } else if (flare::IsOutOfDescriptors(error.value())) {
        reserve_.RefuseWhileOut(acceptor_.native_handle(), "new local clients");
        retry_.expires_after(std::chrono::milliseconds(100));
        retry_.async_wait([this](const boost::system::error_code& error) {
          if (!error) Start();
        });
        return;
      }
      Start();
    });
  }

 private:
  boost::asio::local::stream_protocol::acceptor& acceptor_;
  flare::LocalServer& server_;
  boost::asio::steady_timer retry_;
  flare::FdReserve reserve_;
};

void ReapChildren(flare::NodeManager& manager) {
  int status = 0;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) manager.OnChildExited(pid, status);
}

// This node's side of the cluster: its gRPC port and the GCS client its
// node manager uses. The head hosts the GCS (reached in process, served to
// the other nodes on the port); another node keeps a stream to the head's.
// The store as object transfer sees it: the node manager's table, once
// it exists (the port, and so the object manager's service, opens first).
class LateObjects : public flare::LocalObjects {
 public:
  // `before_send` runs before an object is pinned to be sent: it brings a
  // spilled object back into the arena, then runs its second argument.
  using BeforeSend = std::function<void(const flare::ObjectId&, std::function<void()>)>;
  void Bind(std::unique_ptr<flare::ObjectTableObjects> objects, BeforeSend before_send) {
    objects_ = std::move(objects);
    before_send_ = std::move(before_send);
  }
  absl::StatusOr<uint8_t*> CreateForPull(const flare::ObjectId& id, uint64_t size) override {
    if (!objects_) return absl::UnavailableError("the node is starting");
    return objects_->CreateForPull(id, size);
  }
  absl::Status SealPulled(const flare::ObjectId& id) override { return objects_->SealPulled(id); }
  void AbortPulled(const flare::ObjectId& id) override { objects_->AbortPulled(id); }
  void WhenSendable(const flare::ObjectId& id, std::function<void()> ready) override {
    if (!objects_ || !before_send_) return ready();
    before_send_(id, std::move(ready));
  }
  absl::StatusOr<Pinned> PinForSend(const flare::ObjectId& id) override {
    if (!objects_) return absl::UnavailableError("the node is starting");
    return objects_->PinForSend(id);
  }
  void UnpinSent(const flare::ObjectId& id) override { objects_->UnpinSent(id); }

 private:
  std::unique_ptr<flare::ObjectTableObjects> objects_;
  BeforeSend before_send_;
};

struct ClusterLink {
  LateObjects store;
  std::unique_ptr<flare::ObjectManager> objects;  // outlives `server`, which serves it
  std::unique_ptr<flare::Gcs> gcs;
  std::unique_ptr<flare::InProcessGcsClient> local_client;
  std::unique_ptr<flare::GcsGrpcService> gcs_service;
  std::unique_ptr<flare::GcsServer> gcs_server;
  std::unique_ptr<flare::GcsLink> gcs_link;  // not on the head
  std::unique_ptr<flare::NodeGrpcService> node_service;
  std::unique_ptr<flare::RawPeerServer> raw_peers;
  std::unique_ptr<flare::ClusterServer> server;
  flare::GcsClient* client = nullptr;
  std::string gcs_address;  // host:port of the head's port
  bool joined = false;      // the GCS has this node in its view
};

// The cluster token lives in the GCS's storage too, so that a head
// restarted over it lets its nodes back in: the one given (kept for the
// next start), else the one stored, else a new one.
constexpr char kClusterTable[] = "cluster";
absl::StatusOr<std::string> ClusterToken(flare::Store& store, const std::string& given) {
  std::string token = given;
  if (token.empty()) {
    absl::StatusOr<std::optional<std::string>> stored = store.Get(kClusterTable, "token");
    if (!stored.ok()) return stored.status();
    if (stored->has_value()) return **stored;
    absl::StatusOr<std::string> made = flare::NewClusterToken();
    if (!made.ok()) return made.status();
    token = *made;
  }
  absl::StatusOr<bool> written = store.Put(kClusterTable, "token", token, /*overwrite=*/true);
  if (!written.ok()) return written.status();
  return token;
}

// The head's GCS over its storage (--gcs-storage), with what a previous
// head left there recovered, and the cluster token settled; prints why not.
std::unique_ptr<flare::Gcs> OpenGcs(RayletFlags& flags) {
  // A head that lives and dies with its driver (flare.init() with no
  // address) has no restart to survive: its GCS stays in memory, and its
  // function exports pay no disk sync.
  const std::string spec =
      flags.gcs_storage.empty() && flags.driver_pid > 0 ? "memory" : flags.gcs_storage;
  absl::StatusOr<std::unique_ptr<flare::Store>> store =
      flare::OpenGcsStorage(spec, flags.session_dir);
  if (!store.ok()) {
    std::cerr << "flare-raylet: cannot open the GCS storage: " << store.status().message() << "\n";
    return nullptr;
  }
  absl::StatusOr<std::string> token = ClusterToken(**store, flags.token);
  if (!token.ok()) {
    std::cerr << "flare-raylet: " << token.status().message() << "\n";
    return nullptr;
  }
  flags.token = *token;
  auto gcs = std::make_unique<flare::Gcs>(std::move(*store));
  if (absl::Status recovered = gcs->Recover(); !recovered.ok()) {
    std::cerr << "flare-raylet: cannot recover the GCS's state: " << recovered.message() << "\n";
    return nullptr;
  }
  return gcs;
}

// Writes the cluster token to DIR/cluster_token, readable by its owner only.
bool WriteToken(const std::string& session_dir, const std::string& token) {
  const std::string path = session_dir + "/cluster_token";
  std::ofstream out(path, std::ios::trunc);
  if (!out) return false;
  ::chmod(path.c_str(), 0600);
  out << token << "\n";
  return static_cast<bool>(out);
}

// Starts this node's port and its GCS client; prints why it cannot.
// REQUIRES: on the head, `link.gcs` is open (OpenGcs).
bool LinkCluster(const RayletFlags& flags, boost::asio::io_context& io,
                 flare::LocalServer& local_server,
                 const std::function<void(const absl::Status&)>& on_gcs_lost, ClusterLink& link) {
  link.node_service =
      std::make_unique<flare::NodeGrpcService>(io, local_server, flags.token);
  link.raw_peers = std::make_unique<flare::RawPeerServer>(io, local_server, flags.token);
  flare::ObjectManagerOptions transfer;
  transfer.token = flags.token;
  transfer.transport = flags.object_transport == "grpc" ? flare::TransferTransport::kGrpc
                                                         : flare::TransferTransport::kRawTcp;
  link.objects = std::make_unique<flare::ObjectManager>(io, link.store, std::move(transfer));
  std::vector<grpc::Service*> services{link.node_service.get(), link.objects->service()};
  if (flags.head) {
    link.local_client = std::make_unique<flare::InProcessGcsClient>(*link.gcs);
    link.gcs_service = std::make_unique<flare::GcsGrpcService>(io, flags.token);
    link.gcs_server = std::make_unique<flare::GcsServer>(
        *link.gcs, *link.local_client, *link.gcs_service,
        flare::GcsServer::Options{flags.version, std::chrono::milliseconds(flags.node_timeout_ms),
                                  flare::kMaxClusterMessageBytes});
    link.gcs_service->set_server(link.gcs_server.get());
    link.gcs_server->ExpectReturningNodes(std::chrono::steady_clock::now());
    services.push_back(link.gcs_service.get());
    link.client = link.local_client.get();
  }
  auto server = flare::ClusterServer::Start(flags.node_ip_address, flags.port, services,
                                            {link.objects->raw_route(), link.raw_peers->route()});
  if (!server.ok()) {
    std::cerr << "flare-raylet: " << server.status().message() << "\n";
    return false;
  }
  link.server = std::move(*server);
  if (flags.head) {
    link.gcs_address = flags.node_ip_address + ":" + std::to_string(link.server->port());
    return true;
  }
  link.gcs_address = flags.address;
  link.gcs_link = std::make_unique<flare::GcsLink>(
      io,
      flare::GcsLink::Options{flags.address, flags.token,
                              std::chrono::milliseconds(flags.gcs_reconnect_timeout_ms),
                              flare::kMaxClusterMessageBytes},
      on_gcs_lost);
  link.client = &link.gcs_link->client();
  return true;
}

// Pulls for the node manager through the object manager, from a node at the
// address the GCS's view gave the peer pool. Bound to the object manager
// once both exist (the node manager needs a puller first).
class ClusterPuller : public flare::ObjectPuller {
 public:
  explicit ClusterPuller(const flare::PeerPool& peers) : peers_(peers) {}
  void Bind(flare::ObjectManager* manager) { manager_ = manager; }

  void Pull(const flare::ObjectId& id, uint64_t size, const flare::NodeId& from,
            std::function<void(const absl::Status&)> done) override {
    const std::string* address = peers_.AddressOf(from);
    if (manager_ == nullptr || address == nullptr) {
      done(absl::UnavailableError("node " + from.Hex() + " is not reachable"));
      return;
    }
    manager_->Pull(id, size, {flare::Holder{from, *address}}, std::move(done));
  }
  void PullFromAny(const flare::ObjectId& id, uint64_t size,
                   const std::vector<flare::NodeId>& holders,
                   std::function<void(const absl::Status&)> done) override {
    std::vector<flare::Holder> reachable;
    for (const flare::NodeId& node : holders) {
      if (const std::string* address = peers_.AddressOf(node)) {
        reachable.push_back(flare::Holder{node, *address});
      }
    }
    if (manager_ == nullptr || reachable.empty()) {
      done(absl::UnavailableError("no node holding it is reachable"));
      return;
    }
    manager_->Pull(id, size, reachable, std::move(done));
  }

 private:
  const flare::PeerPool& peers_;
  flare::ObjectManager* manager_ = nullptr;
};

// Runs `action` every `period` on the loop until the loop stops.
void Every(boost::asio::steady_timer& timer, std::chrono::milliseconds period,
           std::function<void()> action) {
  timer.expires_after(period);
  timer.async_wait([&timer, period, action](const boost::system::error_code& error) {
    if (error) return;
    action();
    Every(timer, period, action);
  });
}

}  // namespace

int main(int argc, char** argv) {
  flare::KeepLargeAllocationsForReuse();  // transfers reuse their big buffers
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = flare::ParseFlags(args);
  if (!parsed.ok()) {
    std::cerr << "flare-raylet: " << parsed.status().message() << "\n";
    return 2;
  }
  RayletFlags flags = *parsed;
  if (flags.help) {
    std::cout << flare::UsageText();
    return 0;
  }
  signal(SIGPIPE, SIG_IGN);
  std::error_code ec;
  std::filesystem::create_directories(flags.session_dir + "/logs", ec);
  if (ec) {
    std::cerr << "flare-raylet: cannot create " << flags.session_dir << ": " << ec.message() << "\n";
    return 1;
  }
  std::unique_ptr<flare::Gcs> gcs;  // the head's, moved into its ClusterLink
  if (flags.head && !(gcs = OpenGcs(flags))) return 1;
  if (flags.head && !WriteToken(flags.session_dir, flags.token)) {
    std::cerr << "flare-raylet: cannot write " << flags.session_dir << "/cluster_token\n";
    return 1;
  }

  flare::NodeOptions options;
  const double cpus = flags.num_cpus >= 0 ? flags.num_cpus
                                          : static_cast<double>(std::thread::hardware_concurrency());
  options.resources.Set("CPU", cpus);
  options.resources.Set("GPU", flags.num_gpus);
  for (const auto& [name, amount] : flags.resources) options.resources.Set(name, amount);
  const flare::NodeMemory memory = flare::ResolveNodeMemory(flags, AvailableMemory());
  options.node_id = flare::NodeId::FromRandom();
  options.resources.Set("object_store_memory", static_cast<double>(memory.object_store));
  options.resources.Set("memory", static_cast<double>(memory.memory));
  options.session_dir = flags.session_dir;
  options.socket_path = flags.socket_path;
  options.driver_pid = flags.driver_pid;
  options.ip = flags.node_ip_address;
  options.is_head = flags.head;
  options.version = flags.version;
  options.infeasible_grace = std::chrono::milliseconds(flags.infeasible_grace_ms);

  auto arena = flare::Arena::Create(memory.object_store, "flare-arena");
  if (!arena.ok()) {
    std::cerr << "flare-raylet: " << arena.status().message() << "\n";
    return 1;
  }

  boost::asio::io_context io(1);
  ::unlink(flags.socket_path.c_str());
  boost::asio::local::stream_protocol::acceptor acceptor(io);
  try {
    acceptor.open();
    acceptor.bind(boost::asio::local::stream_protocol::endpoint(flags.socket_path));
    acceptor.listen(1024);
  } catch (const std::exception& e) {
    std::cerr << "flare-raylet: cannot listen on " << flags.socket_path << ": " << e.what() << "\n";
    return 1;
  }

  bool stopping = false;
  auto stop = [&] {
    if (stopping) return;
    stopping = true;
    io.stop();
  };
  flare::LaunchOptions launch;
  launch.python = flags.python;
  launch.socket_path = flags.socket_path;
  launch.session_dir = flags.session_dir;
  launch.node_id_hex = options.node_id.Hex();
  // Workers after the prestarted ones are forked from a template process
  // (FLARE_FORK_SERVER=0: every worker is exec'ed).
  const char* fork_server = std::getenv("FLARE_FORK_SERVER");
  auto launcher = std::make_unique<flare::ForkServerLauncher>(
      std::make_unique<flare::ProcessLauncher>(launch),
      static_cast<size_t>(std::max(1.0, cpus)),
      fork_server == nullptr || std::string(fork_server) != "0");
  flare::ForkServerLauncher* forker = launcher.get();
  ClusterLink link;
  link.gcs = std::move(gcs);
  int exit_code = 0;
  auto on_gcs_lost = [&](const absl::Status& status) {
    std::cerr << "flare-raylet: " << (link.joined ? "lost the head: " : "cannot join: ")
              << status.message() << "\n";
    exit_code = 1;
    stop();
  };
  flare::LocalServer server((*arena)->fd());
  if (!LinkCluster(flags, io, server, on_gcs_lost, link)) return 1;
  options.port = link.server->port();
  flare::PeerPool peers(io, flags.token, options.node_id,
                        flags.peer_transport == "grpc" ? flare::PeerTransport::kGrpc
                                                       : flare::PeerTransport::kRaw);
  ClusterPuller puller(peers);
  flare::NodeIo node_io = flare::PosixNodeIo(io, flags.session_dir);
  node_io.peers = &peers;
  node_io.puller = &puller;
  flare::NodeManager manager(options, std::move(*arena), std::move(launcher),
                             std::move(node_io), server, *link.client, stop);
  link.store.Bind(std::make_unique<flare::ObjectTableObjects>(
      manager.object_table(), manager.arena_base(), flare::kObjectManagerClient,
      [&manager](const flare::ObjectId& id, std::vector<flare::ClientId> waiting) {
        manager.OnObjectPulled(id, waiting);
      }),
      [&manager](const flare::ObjectId& id, std::function<void()> then) {
        manager.BringBackToSend(id, std::move(then));
      });
  puller.Bind(link.objects.get());
  // Pulls that find the arena full wait for room: spilling makes some, and
  // so does every object freed here.
  link.objects->SetSpaceRequester([&](uint64_t bytes) {
    manager.MakeRoom(bytes, [&link] {
      if (link.objects) link.objects->OnSpaceFreed();
    });
  });
  manager.SetRoomListener([&link] {
    if (link.objects) link.objects->OnSpaceFreed();  // none once shutting down
  });
  peers.set_callbacks(
      {[&manager](const flare::NodeId& node, flare::rpc::Message& message) {
         manager.OnPeerMessage(node, message);
       },
       [&manager](const flare::NodeId& node, const std::string& why) {
         manager.OnPeerLost(node, why);
       }});
  server.set_handler(&manager);

  boost::asio::signal_set terminate(io, SIGTERM, SIGINT);
  terminate.async_wait([&](const boost::system::error_code& error, int) {
    if (!error) stop();
  });
  boost::asio::signal_set children(io, SIGCHLD);
  std::function<void()> watch_children = [&] {
    children.async_wait([&](const boost::system::error_code& error, int) {
      if (error) return;
      ReapChildren(manager);
      watch_children();
    });
  };
  watch_children();

  auto started = manager.Start();
  if (!started.ok()) {
    std::cerr << "flare-raylet: cannot start workers: " << started.message() << "\n";
  }
  LocalAcceptor accept_clients(acceptor, server);
  accept_clients.Start();

  // Joined once the GCS's view holds this node; a head that never answers
  // ends the start within kJoinTimeout.
  constexpr auto kJoinTimeout = std::chrono::seconds(5);
  auto write_ready = [&] {
    std::ofstream ready(flags.session_dir + "/raylet.ready");
    ready << "pid=" << getpid() << "\nsocket=" << flags.socket_path
          << "\nport=" << link.server->port() << "\ngcs_address=" << link.gcs_address
          << "\nnode_id=" << options.node_id.Hex() << "\nhead=" << (flags.head ? 1 : 0) << "\n";
  };
  link.client->SubscribeClusterView([&](const std::vector<flare::rpc::NodeInfo>& nodes) {
    for (const auto& node : nodes) {
      const flare::NodeId id = flare::NodeId::FromBinary(node.node_id());
      if (id != options.node_id) {
        if (node.alive()) {
          peers.SetAddress(id, node.address());
        } else {
          peers.Forget(id);
          if (link.objects) link.objects->OnNodeDead(id);
        }
      }
      if (node.node_id() != options.node_id.Binary()) continue;
      link.node_service->SetInfo(node);
      if (link.joined) continue;
      link.joined = true;
      if (link.gcs_link) link.gcs_link->Joined();
      write_ready();
    }
    manager.OnClusterView(nodes);
  });
  boost::asio::steady_timer join_deadline(io);
  if (!flags.head) {
    join_deadline.expires_after(kJoinTimeout);
    join_deadline.async_wait([&](const boost::system::error_code& error) {
      if (error || link.joined) return;
      on_gcs_lost(absl::DeadlineExceededError("no flare head answered at " + flags.address +
                                              " within 5 s"));
    });
  }

  // The head: views go out coalesced, and silent nodes are declared dead.
  boost::asio::steady_timer view_flush(io);
  boost::asio::steady_timer liveness(io);
  bool flush_armed = false;
  if (link.gcs) {
    // The hook outlives this block, so it holds the delay by value.
    link.gcs->SetViewDirtyHook([&, delay = std::chrono::milliseconds(20)] {
      if (flush_armed) return;
      flush_armed = true;
      view_flush.expires_after(delay);
      view_flush.async_wait([&](const boost::system::error_code& error) {
        flush_armed = false;
        if (!error) link.gcs->FlushView();
      });
    });
    link.gcs->FlushView();  // the head itself registered in the constructor
    Every(liveness, std::chrono::milliseconds(500), [&] {
      for (const auto& node : link.gcs_server->CheckLiveness(std::chrono::steady_clock::now())) {
        std::cerr << "flare-raylet: node " << node.Hex() << " stopped answering; marked dead\n";
      }
    });
  }

  // Every node reports its resources: at once when they change (checked
  // every kReportCheck), and at least every kHeartbeat as its sign of life.
  constexpr auto kReportCheck = std::chrono::milliseconds(50);
  constexpr int kChecksPerHeartbeat = 20;  // one second
  boost::asio::steady_timer reporter(io);
  std::string last_report;
  int checks = 0;
  Every(reporter, kReportCheck, [&] {
    flare::rpc::ResourceSet available = manager.AvailableForView();
    std::string encoded;
    available.SerializeToString(&encoded);
    if (encoded == last_report && ++checks < kChecksPerHeartbeat) return;
    checks = 0;
    last_report = std::move(encoded);
    link.client->ReportResources(options.node_id, available);
  });

  // After a burst the tables shrink to fit and, once the node is quiet, the
  // freed heap goes back to the system (trimming walks the heap: not while
  // tasks run), so a long-lived node does not keep its peak.
  constexpr auto kCompactCheck = std::chrono::seconds(1);
  constexpr size_t kTrimAboveFreeBytes = 32u << 20;
  boost::asio::steady_timer compactor(io);
  Every(compactor, kCompactCheck, [&] {
    const bool quiet = manager.Compact();
    if (quiet && mallinfo2().fordblks > kTrimAboveFreeBytes) malloc_trim(0);
  });

  flare::RunEventLoop(io, flare::RayletSpinFromEnvironment(flare::kDefaultRayletSpin));

  // Shutdown: stop accepting, end the workers, remove what we created.
  if (link.gcs_link) link.gcs_link->Close();  // waits for the stream to end
  // Stopped on purpose, the head tells its nodes to stop too (a crashed
  // one is waited for: gcs_link.h).
  if (link.gcs_service) link.gcs_service->CloseAll("the head stopped");
  link.server->Shutdown();
  // Transfers end while the arena and the table they use still exist.
  puller.Bind(nullptr);
  link.objects.reset();
  boost::system::error_code ignored;
  acceptor.close(ignored);
  ::unlink(flags.socket_path.c_str());
  std::filesystem::remove(flags.session_dir + "/raylet.ready", ec);
  std::filesystem::remove_all(flags.session_dir + "/spill", ec);  // spilled objects
  forker->Stop();  // the template is no worker: it would not exit on its own
  manager.SignalWorkers(SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid < 0) break;  // no children left
    if (pid == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // Whatever is still alive gets SIGKILL (PR_SET_PDEATHSIG would do it as
  // we exit, but be explicit).
  manager.SignalWorkers(SIGKILL);
  return exit_code;
}
