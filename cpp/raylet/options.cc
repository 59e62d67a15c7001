#include "raylet/options.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <utility>

namespace flare {

std::string UsageText() {
  return R"(usage: flare-raylet [flags]

The flare node daemon: scheduler, worker pool and shared-memory object store
for one node (and, with --head, the cluster's GCS).

flags:
  --head                       run the GCS in this process (the first node)
  --num-cpus N                 CPUs to schedule (default: the machine's count)
  --num-gpus N                 GPUs to schedule (default: 0)
  --resources JSON             custom resources, e.g. '{"accel": 2}'
  --object-store-memory BYTES  shared-memory arena size (default: 30% of the
                               memory available at start, at most 200 GB)
  --memory BYTES               the 'memory' resource tasks and actors reserve
                               (default: available memory less the store)
  --session-dir DIR            where the socket, logs and state go (required)
  --socket PATH                the local IPC socket (default: DIR/raylet.sock)
  --python PATH                interpreter for worker processes (default: python3)
  --driver-pid PID             stop when this driver process exits

cluster:
  --port N                     the node's gRPC port (default 0: any free one;
                               the head's also serves the GCS)
  --node-ip-address IP         the address this node listens on and announces
                               (default 127.0.0.1: nothing outside this machine)
  --address HOST:PORT          join the head there (not with --head)
  --token TOKEN                the cluster token (joining: the head's; head:
                               default a new random one in DIR/cluster_token)
  --version TEXT               flare's version; nodes must match the head's
  --node-timeout-ms N          head: a node silent this long is dead (5000)
  --gcs-storage SPEC           head: where the GCS keeps its state, so that a
                               head restarted with the same SPEC finds it:
                               sqlite:///ABS/FILE, an absolute directory (its
                               gcs.sqlite) or file, redis://HOST:PORT[/PREFIX],
                               or 'memory' (default: DIR/gcs.sqlite; with
                               --driver-pid, memory: such a head ends with
                               its driver)
  --gcs-reconnect-timeout-s N  joining: while the head is unreachable, a
                               request for the GCS waits this long for it to
                               come back before it fails (20)
  --infeasible-grace-ms N      a task no node fits waits this long for one
                               to join before it fails (3000; 0: fail at once)
  --object-transport raw|grpc  what carries the objects this node pulls: raw
                               data connections on the port (default) or gRPC
                               streams; every node serves both
  --peer-transport raw|grpc    what carries the messages this node sends
                               other raylets: a raw link on the port
                               (default) or a gRPC stream; every node
                               serves both
  --help                       print this text
)";
}

absl::StatusOr<std::map<std::string, double>> ParseResourceJson(const std::string& json) {
  std::map<std::string, double> out;
  size_t i = 0;
  auto skip = [&] {
    while (i < json.size() && std::isspace(static_cast<unsigned char>(json[i]))) ++i;
  };
  auto error = [&](const std::string& what) {
    return absl::InvalidArgumentError("--resources: " + what + " at offset " +
                                      std::to_string(i) + " in " + json);
  };
  // At the closing brace: nothing but spaces may follow it.
  auto close = [&]() -> absl::StatusOr<std::map<std::string, double>> {
    ++i;
    skip();
    if (i != json.size()) return error("unexpected text after '}'");
    return out;
  };
  skip();
  if (i >= json.size() || json[i] != '{') return error("expected '{'");
  ++i;
  skip();
  if (i < json.size() && json[i] == '}') return close();
  while (true) {
    skip();
    if (i >= json.size() || json[i] != '"') return error("expected a quoted name");
    const size_t end = json.find('"', i + 1);
    if (end == std::string::npos) return error("unterminated name");
    std::string name = json.substr(i + 1, end - i - 1);
    i = end + 1;
    skip();
    if (i >= json.size() || json[i] != ':') return error("expected ':'");
    ++i;
    skip();
    const char* start = json.c_str() + i;
    char* stop = nullptr;
    const double value = std::strtod(start, &stop);
    if (stop == start || !std::isfinite(value)) return error("expected a number");
    if (value < 0) return error("negative amount for " + name);
    i += static_cast<size_t>(stop - start);
    out[name] = value;
    skip();
    if (i < json.size() && json[i] == ',') {
      ++i;
      continue;
    }
    if (i < json.size() && json[i] == '}') return close();
    return error("expected ',' or '}'");
  }
}

NodeMemory ResolveNodeMemory(const RayletFlags& flags, uint64_t available) {
  constexpr uint64_t kMaxDefaultStore = 200'000'000'000;
  NodeMemory out;
  out.object_store = flags.object_store_memory > 0
                         ? flags.object_store_memory
                         : std::min<uint64_t>(available / 10 * 3, kMaxDefaultStore);
  out.memory = flags.memory > 0 ? flags.memory
                                : (available > out.object_store ? available - out.object_store : 0);
  return out;
}

absl::StatusOr<RayletFlags> ParseFlags(const std::vector<std::string>& args) {
  RayletFlags flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto value = [&]() -> absl::StatusOr<std::string> {
      if (i + 1 >= args.size()) return absl::InvalidArgumentError(arg + " needs a value");
      return args[++i];
    };
    auto number = [&]() -> absl::StatusOr<double> {
      auto text = value();
      if (!text.ok()) return text.status();
      char* end = nullptr;
      const double parsed = std::strtod(text->c_str(), &end);
      if (end == text->c_str() || *end != '\0' || !std::isfinite(parsed) || parsed < 0) {
        return absl::InvalidArgumentError(arg + " needs a non-negative number, got '" + *text + "'");
      }
      return parsed;
    };
    if (arg == "--head") {
      flags.head = true;
    } else if (arg == "--help" || arg == "-h") {
      flags.help = true;
    } else if (arg == "--num-cpus") {
      auto n = number();
      if (!n.ok()) return n.status();
      flags.num_cpus = *n;
    } else if (arg == "--num-gpus") {
      auto n = number();
      if (!n.ok()) return n.status();
      flags.num_gpus = *n;
    } else if (arg == "--object-store-memory") {
      auto n = number();
      if (!n.ok()) return n.status();
      flags.object_store_memory = static_cast<uint64_t>(*n);
    } else if (arg == "--memory") {
      auto n = number();
      if (!n.ok()) return n.status();
      flags.memory = static_cast<uint64_t>(*n);
    } else if (arg == "--driver-pid") {
      auto n = number();
      if (!n.ok()) return n.status();
      flags.driver_pid = static_cast<pid_t>(*n);
    } else if (arg == "--resources") {
      auto text = value();
      if (!text.ok()) return text.status();
      auto parsed = ParseResourceJson(*text);
      if (!parsed.ok()) return parsed.status();
      flags.resources = *parsed;
      for (const auto& [name, flag] : {std::pair<std::string, std::string>{"memory", "--memory"},
                                       {"object_store_memory", "--object-store-memory"}}) {
        if (flags.resources.count(name) > 0) {
          return absl::InvalidArgumentError("--resources: '" + name +
                                            "' is not a custom resource; use " + flag);
        }
      }
    } else if (arg == "--session-dir") {
      auto text = value();
      if (!text.ok()) return text.status();
      flags.session_dir = *text;
    } else if (arg == "--socket") {
      auto text = value();
      if (!text.ok()) return text.status();
      flags.socket_path = *text;
    } else if (arg == "--port") {
      auto n = number();
      if (!n.ok()) return n.status();
      if (*n > 65535 || *n != static_cast<int>(*n)) {
        return absl::InvalidArgumentError("--port must be a port number (0-65535)");
      }
      flags.port = static_cast<int>(*n);
    } else if (arg == "--node-timeout-ms") {
      auto n = number();
      if (!n.ok()) return n.status();
      if (*n < 1 || *n > 3.6e6) {
        return absl::InvalidArgumentError("--node-timeout-ms must be between 1 and 3600000");
      }
      flags.node_timeout_ms = static_cast<int>(*n);
    } else if (arg == "--gcs-reconnect-timeout-s") {
      auto n = number();
      if (!n.ok()) return n.status();
      if (*n < 0 || *n > 86400) {
        return absl::InvalidArgumentError("--gcs-reconnect-timeout-s must be between 0 and 86400");
      }
      flags.gcs_reconnect_timeout_ms = static_cast<int64_t>(*n * 1000);
    } else if (arg == "--infeasible-grace-ms") {
      auto n = number();
      if (!n.ok()) return n.status();
      if (*n < 0 || *n > 3.6e6) {
        return absl::InvalidArgumentError("--infeasible-grace-ms must be between 0 and 3600000");
      }
      flags.infeasible_grace_ms = static_cast<int>(*n);
    } else if (arg == "--node-ip-address" || arg == "--address" || arg == "--token" ||
               arg == "--version" || arg == "--gcs-storage") {
      auto text = value();
      if (!text.ok()) return text.status();
      std::string& field = arg == "--node-ip-address" ? flags.node_ip_address
                           : arg == "--address"       ? flags.address
                           : arg == "--token"         ? flags.token
                           : arg == "--gcs-storage"   ? flags.gcs_storage
                                                      : flags.version;
      field = *text;
    } else if (arg == "--object-transport" || arg == "--peer-transport") {
      auto text = value();
      if (!text.ok()) return text.status();
      if (*text != "raw" && *text != "grpc") {
        return absl::InvalidArgumentError(arg + " must be raw or grpc, got '" + *text + "'");
      }
      (arg == "--object-transport" ? flags.object_transport : flags.peer_transport) = *text;
    } else if (arg == "--python") {
      auto text = value();
      if (!text.ok()) return text.status();
      flags.python = *text;
    } else {
      return absl::InvalidArgumentError("unknown flag '" + arg + "' (see --help)");
    }
  }
  if (!flags.help && flags.session_dir.empty()) {
    return absl::InvalidArgumentError("--session-dir is required (see --help)");
  }
  if (!flags.help && flags.head && !flags.address.empty()) {
    return absl::InvalidArgumentError("--address joins a head; a head (--head) takes none");
  }
  if (!flags.help && !flags.head && flags.address.empty()) {
    return absl::InvalidArgumentError(
        "a node needs --head (the first node) or --address HOST:PORT of the head to join");
  }
  if (!flags.help && !flags.head && flags.token.empty()) {
    return absl::InvalidArgumentError(
        "joining needs the cluster --token the head printed when it started");
  }
  if (flags.socket_path.empty()) flags.socket_path = flags.session_dir + "/raylet.sock";
  return flags;
}

}  // namespace flare
