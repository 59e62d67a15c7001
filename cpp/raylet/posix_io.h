// The real implementations of node_io.h: kill(2), Asio timers on the
// raylet's io_context, and spill files under a directory, written and read
// on a thread of their own.
#ifndef FLARE_RAYLET_POSIX_IO_H_
#define FLARE_RAYLET_POSIX_IO_H_

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include <boost/asio.hpp>

#include "raylet/node_io.h"

namespace flare {

class PosixProcessControl : public ProcessControl {
 public:
  void Kill(pid_t pid, int signal) override;
  bool Exists(pid_t pid) override;
};

// Thread-compatible: call from the io_context's thread.
class AsioTimers : public Timers {
 public:
  explicit AsioTimers(boost::asio::io_context& io) : io_(io) {}
  void After(std::chrono::milliseconds delay, std::function<void()> action) override;
  void Post(std::function<void()> action) override;

 private:
  boost::asio::io_context& io_;
};

// Files <dir>/<object id hex>, created 0600; `dir` is made on first use.
// Blocking; thread-compatible.
class DiskSpillFiles {
 public:
  explicit DiskSpillFiles(std::string dir) : dir_(std::move(dir)) {}
  absl::Status Write(const ObjectId& id, const uint8_t* data, uint64_t size);
  absl::Status Read(const ObjectId& id, uint8_t* data, uint64_t size);
  void Remove(const ObjectId& id);

 private:
  std::string Path(const ObjectId& id) const { return dir_ + "/" + id.Hex(); }
  std::string dir_;
};

// SpillFiles over DiskSpillFiles: one thread of its own does the file I/O,
// in the order it was asked for, and posts each `done` onto `io`. Calls
// come from the io_context's thread. Destruction finishes the operation
// under way, drops the others (their `done` never runs) and joins.
class ThreadedSpillFiles : public SpillFiles {
 public:
  ThreadedSpillFiles(boost::asio::io_context& io, std::string dir);
  ~ThreadedSpillFiles() override;
  ThreadedSpillFiles(const ThreadedSpillFiles&) = delete;
  ThreadedSpillFiles& operator=(const ThreadedSpillFiles&) = delete;

  void Write(const ObjectId& id, const uint8_t* data, uint64_t size, Done done) override;
  void Read(const ObjectId& id, uint8_t* data, uint64_t size, Done done) override;
  void Remove(const ObjectId& id) override;

 private:
  void Queue(std::function<absl::Status()> work, Done done);
  void Run();

  boost::asio::io_context& io_;
  DiskSpillFiles disk_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::pair<std::function<absl::Status()>, Done>> jobs_;  // guarded by mu_
  bool stopping_ = false;                                           // guarded by mu_
  std::thread thread_;  // last: starts once the rest is built
};

// The daemon's: real processes, the loop's timers, files under
// <session_dir>/spill.
NodeIo PosixNodeIo(boost::asio::io_context& io, const std::string& session_dir);

}  // namespace flare

#endif  // FLARE_RAYLET_POSIX_IO_H_
