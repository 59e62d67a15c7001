// Command-line options of flare-raylet, parsed once at start-up.
#ifndef FLARE_RAYLET_OPTIONS_H_
#define FLARE_RAYLET_OPTIONS_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace flare {

struct RayletFlags {
  bool head = false;
  double num_cpus = -1;  // -1: the machine's CPU count
  double num_gpus = 0;
  std::map<std::string, double> resources;
  uint64_t object_store_memory = 0;  // 0: see ResolveNodeMemory
  uint64_t memory = 0;               // 0: see ResolveNodeMemory
  std::string session_dir;
  std::string socket_path;  // default: <session_dir>/raylet.sock
  std::string python = "python3";
  pid_t driver_pid = 0;
  bool help = false;
  // The cluster. A head listens on port (0: one the kernel picks) and makes
  // a token unless given one; another node joins the head at `address`.
  int port = 0;
  std::string node_ip_address = "127.0.0.1";  // what this node listens on and announces
  std::string address;                        // the head's host:port (not for --head)
  std::string token;                          // the cluster token (joining: required)
  std::string version;                        // flare's version, checked on join
  int node_timeout_ms = 5000;                 // head: a silent node is dead after this
  std::string gcs_storage;                    // head: see gcs/storage_spec.h ("": session dir)
  // Joining: how long a request for the GCS waits for an unreachable head.
  // (Below the 30 s a driver waits for an export or a job record, so that
  // its error is the one that names the head.)
  int64_t gcs_reconnect_timeout_ms = 20000;
  int infeasible_grace_ms = 3000;             // a task no node fits waits this long for one
  // What carries the bytes this node pulls: "raw" (data connections on the
  // port) or "grpc" (ObjectManagerService.Pull). Every node serves both.
  std::string object_transport = "raw";
  std::string peer_transport = "raw";  // or "grpc"
};

// The node's two memory resources, in bytes: the arena and what tasks and
// actors may reserve with `memory=`.
struct NodeMemory {
  uint64_t object_store = 0;
  uint64_t memory = 0;
};
// Ray's defaults from the memory `available` at start-up: the store takes
// 30% of it (at most 200 GB) and `memory` the rest, unless the flags say.
NodeMemory ResolveNodeMemory(const RayletFlags& flags, uint64_t available);

absl::StatusOr<RayletFlags> ParseFlags(const std::vector<std::string>& args);
// Parses a flat JSON object of names to numbers: {"CPU": 2, "accel": 0.5}.
absl::StatusOr<std::map<std::string, double>> ParseResourceJson(const std::string& json);
std::string UsageText();

}  // namespace flare

#endif  // FLARE_RAYLET_OPTIONS_H_
