// flare-raylet: the per-node daemon. Wires the event loop, the local socket,
// the shared-memory arena and the node manager, and handles process signals.
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

#include <boost/asio.hpp>

#include "object_store/arena.h"
#include "raylet/local_server.h"
#include "raylet/node_manager.h"
#include "raylet/options.h"
#include "raylet/posix_io.h"
#include "raylet/process_launcher.h"

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
void AcceptLoop(boost::asio::local::stream_protocol::acceptor& acceptor,
                flare::LocalServer& server) {
  acceptor.async_accept([&acceptor, &server](const boost::system::error_code& error,
                                            boost::asio::local::stream_protocol::socket socket) {
    if (error == boost::asio::error::operation_aborted) return;
    if (!error) server.Accept(std::move(socket));
    AcceptLoop(acceptor, server);
  });
}

void ReapChildren(flare::NodeManager& manager) {
  int status = 0;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) manager.OnChildExited(pid, status);
}

}  // namespace

int main(int argc, char** argv) {
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
  options.head = flags.head;
  options.driver_pid = flags.driver_pid;

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
  auto launcher = std::make_unique<flare::ProcessLauncher>(launch);
  flare::LocalServer server((*arena)->fd());
  flare::NodeManager manager(options, std::move(*arena), std::move(launcher),
                             flare::PosixNodeIo(io, flags.session_dir), server, stop);
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
  AcceptLoop(acceptor, server);
  {
    std::ofstream ready(flags.session_dir + "/raylet.ready");
    ready << getpid() << "\n" << flags.socket_path << "\n";
  }
  io.run();

  // Shutdown: stop accepting, end the workers, remove what we created.
  boost::system::error_code ignored;
  acceptor.close(ignored);
  ::unlink(flags.socket_path.c_str());
  std::filesystem::remove(flags.session_dir + "/raylet.ready", ec);
  std::filesystem::remove_all(flags.session_dir + "/spill", ec);  // spilled objects
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
  return 0;
}
