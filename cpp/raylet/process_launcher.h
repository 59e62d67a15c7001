// Starts Python worker processes: fork, tie the child's life to the raylet
// (PR_SET_PDEATHSIG), send its output to a log file in the session
// directory, and exec the configured interpreter on flare's worker module.
#ifndef FLARE_RAYLET_PROCESS_LAUNCHER_H_
#define FLARE_RAYLET_PROCESS_LAUNCHER_H_

#include <string>
#include <vector>

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

  // Starts `python -m module` as a worker is started, with `extra_env`
  // added to its environment, its output to `log_path`, and `inherit_fd`
  // (when >= 0) as its fd 3.
  absl::StatusOr<pid_t> Start(const std::string& module, const std::string& log_path,
                              const std::vector<std::string>& extra_env, int inherit_fd);

  std::string LogPathFor(const WorkerId& worker_id) const;
  const LaunchOptions& options() const { return options_; }

 private:
  LaunchOptions options_;
};

}  // namespace flare

#endif  // FLARE_RAYLET_PROCESS_LAUNCHER_H_
