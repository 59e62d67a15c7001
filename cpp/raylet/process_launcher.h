// Starts Python worker processes: fork, tie the child's life to the raylet
// (PR_SET_PDEATHSIG), send its output to a log file in the session
// directory, and exec the configured interpreter on flare's worker module.
#ifndef FLARE_RAYLET_PROCESS_LAUNCHER_H_
#define FLARE_RAYLET_PROCESS_LAUNCHER_H_

#include <string>

#include "raylet/worker_pool.h"

namespace flare {

struct LaunchOptions {
  std::string python = "python3";
  std::string socket_path;
  std::string session_dir;
  std::string node_id_hex;
};

class ProcessLauncher : public WorkerLauncher {
 public:
  explicit ProcessLauncher(LaunchOptions options) : options_(std::move(options)) {}
  absl::StatusOr<pid_t> Launch(const WorkerId& worker_id) override;

  std::string LogPathFor(const WorkerId& worker_id) const;

 private:
  LaunchOptions options_;
};

}  // namespace flare

#endif  // FLARE_RAYLET_PROCESS_LAUNCHER_H_
