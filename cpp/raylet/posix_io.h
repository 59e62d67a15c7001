// The real implementations of node_io.h: kill(2), Asio timers on the
// raylet's io_context, and spill files under a directory.
#ifndef FLARE_RAYLET_POSIX_IO_H_
#define FLARE_RAYLET_POSIX_IO_H_

#include <string>

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
class DiskSpillFiles : public SpillFiles {
 public:
  explicit DiskSpillFiles(std::string dir) : dir_(std::move(dir)) {}
  absl::Status Write(const ObjectId& id, const uint8_t* data, uint64_t size) override;
  absl::Status Read(const ObjectId& id, uint8_t* data, uint64_t size) override;
  void Remove(const ObjectId& id) override;

 private:
  std::string Path(const ObjectId& id) const { return dir_ + "/" + id.Hex(); }
  std::string dir_;
};

// The daemon's: real processes, the loop's timers, files under
// <session_dir>/spill.
NodeIo PosixNodeIo(boost::asio::io_context& io, const std::string& session_dir);

}  // namespace flare

#endif  // FLARE_RAYLET_POSIX_IO_H_
