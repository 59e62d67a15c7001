#include "raylet/process_launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace flare {

std::string ProcessLauncher::LogPathFor(const WorkerId& worker_id) const {
  return options_.session_dir + "/logs/worker-" + worker_id.Hex().substr(0, 12) + ".log";
}

absl::StatusOr<pid_t> ProcessLauncher::Launch(const WorkerId& worker_id) {
  return Start("flare._private.worker_main", LogPathFor(worker_id),
               {"FLARE_WORKER_ID=" + worker_id.Hex()}, -1);
}

absl::StatusOr<pid_t> ProcessLauncher::Start(const std::string& module_name,
                                             const std::string& log_path,
                                             const std::vector<std::string>& extra_env,
                                             int inherit_fd) {
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls.
  std::vector<std::string> env_strings;
  // The node's own FLARE_ variables are set below; the user's tuning
  // (FLARE_SPIN_US) reaches workers as it reaches drivers.
  for (char** env = environ; *env != nullptr; ++env) {
    if (std::strncmp(*env, "FLARE_", 6) != 0 || std::strncmp(*env, "FLARE_SPIN_US=", 14) == 0) {
      env_strings.emplace_back(*env);
    }
  }
  env_strings.push_back("FLARE_RAYLET_SOCKET=" + options_.socket_path);
  env_strings.insert(env_strings.end(), extra_env.begin(), extra_env.end());
  env_strings.push_back("FLARE_SESSION_DIR=" + options_.session_dir);
  env_strings.push_back("FLARE_NODE_ID=" + options_.node_id_hex);
  env_strings.push_back("PYTHONUNBUFFERED=1");
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string module_flag = "-m";
  std::string module = module_name;
  std::vector<char*> argv = {options_.python.data(), module_flag.data(), module.data(), nullptr};
  const pid_t parent = getpid();

  pid_t pid = fork();
  if (pid < 0) {
    return absl::InternalError(std::string("fork failed: ") + std::strerror(errno));
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);  // the raylet died before prctl took effect
    // Reset signal state inherited from the raylet's event loop.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    setpgid(0, 0);  // Ctrl-C at the driver's terminal reaches only the driver
    if (inherit_fd == 3) {
      fcntl(3, F_SETFD, 0);
    } else if (inherit_fd >= 0) {
      dup2(inherit_fd, 3);  // without close-on-exec
    }
    int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    if (log >= 0) {
      dup2(log, 1);
      dup2(log, 2);
    }
    // Nothing else of the raylet's goes along (its clients' connections,
    // the listening socket, the arena, gRPC's): a worker holds only what it
    // opens, and a process a task forks cannot keep another's link alive.
    bool closed = false;
    const unsigned first = inherit_fd >= 0 ? 4u : 3u;
#ifdef SYS_close_range
    closed = syscall(SYS_close_range, first, ~0u, 0u) == 0;
#endif
    if (!closed) {  // kernels before 5.9
      const long max_fd = sysconf(_SC_OPEN_MAX);
      for (long fd = first; fd < (max_fd > 0 ? max_fd : 65536); ++fd) close(static_cast<int>(fd));
    }
    execvpe(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  return pid;
}

}  // namespace flare
