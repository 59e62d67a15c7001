// ForkServerLauncher: starts workers by asking a template process to fork
// them, so that a worker costs a fork, not an interpreter start and the
// imports, and shares the template's pages.
//
// The template is `python -m flare._private.fork_server`, started through
// the ProcessLauncher with one end of a socket pair as its fd 3. It imports
// what a worker imports, says "ready", then answers each request
// "<worker id hex> <log path>\n" with "<pid>\n": it forks a middle process
// that forks the worker and exits, so the worker is re-parented to the
// raylet (a child subreaper) and the raylet reaps it like any worker; the
// worker ties its life to the raylet (PR_SET_PDEATHSIG) once adopted.
//
// Until the template is ready, and for good once it failed (no answer,
// a bad answer, or it died), workers are started by exec as before: a
// worker is never refused because of the template. ChooseLaunchRoute is
// that decision, free of I/O.
//
// Thread-compatible: the raylet's event loop is its only user. Launch
// blocks for one round trip to the template (a fork, about a millisecond).
#ifndef FLARE_RAYLET_FORK_SERVER_LAUNCHER_H_
#define FLARE_RAYLET_FORK_SERVER_LAUNCHER_H_

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <string>

#include "raylet/process_launcher.h"
#include "raylet/worker_pool.h"

namespace flare {

struct ForkServerStatus {
  bool enabled = true;   // the node may use a template
  bool started = false;  // the template process was started
  bool ready = false;    // it said "ready"
  bool failed = false;   // it failed once: never used again
  size_t launches = 0;   // workers started so far, either way
  // Start the template at this launch: after the prestarted workers, so
  // that it does not compete with them (and init) for the CPU.
  size_t start_after = 0;
};

enum class LaunchRoute {
  kExec,                // exec a new interpreter
  kExecAndStartServer,  // the same, and start the template now
  kFork,                // ask the template
};

LaunchRoute ChooseLaunchRoute(const ForkServerStatus& status);

class ForkServerLauncher : public WorkerLauncher {
 public:
  // `start_after`: see ForkServerStatus.
  ForkServerLauncher(std::unique_ptr<ProcessLauncher> exec, size_t start_after, bool enabled);
  ~ForkServerLauncher() override;

  absl::StatusOr<pid_t> Launch(const WorkerId& worker_id) override;

  // Kills the template (the workers it forked live on). Idempotent.
  void Stop();

  pid_t template_pid() const { return template_pid_; }

 private:
  void StartServer();
  // Reads what the template sent without blocking; true once it said "ready".
  bool CheckReady();
  absl::StatusOr<pid_t> Fork(const WorkerId& worker_id);
  // Reads one line from the template, waiting at most `timeout_ms`.
  absl::StatusOr<std::string> ReadLine(int timeout_ms);
  void Fail(const std::string& why);

  std::unique_ptr<ProcessLauncher> exec_;
  ForkServerStatus status_;
  pid_t template_pid_ = 0;
  int socket_ = -1;     // the raylet's end
  std::string buffer_;  // what the template sent past the last line
};

}  // namespace flare

#endif  // FLARE_RAYLET_FORK_SERVER_LAUNCHER_H_
