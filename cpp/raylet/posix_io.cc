#include "raylet/posix_io.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace flare {

namespace {

absl::Status Failed(const std::string& what, const std::string& path) {
  return absl::InternalError(what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

void PosixProcessControl::Kill(pid_t pid, int signal) {
  if (pid > 0) ::kill(pid, signal);
}

bool PosixProcessControl::Exists(pid_t pid) {
  return pid > 0 && (::kill(pid, 0) == 0 || errno != ESRCH);
}

NodeIo PosixNodeIo(boost::asio::io_context& io, const std::string& session_dir) {
  return NodeIo{std::make_unique<PosixProcessControl>(), std::make_unique<AsioTimers>(io),
                std::make_unique<ThreadedSpillFiles>(io, session_dir + "/spill")};
}

void AsioTimers::After(std::chrono::milliseconds delay, std::function<void()> action) {
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, delay);
  timer->async_wait([timer, action = std::move(action)](const boost::system::error_code& error) {
    if (!error) action();
  });
}

void AsioTimers::Post(std::function<void()> action) { boost::asio::post(io_, std::move(action)); }

absl::Status DiskSpillFiles::Write(const ObjectId& id, const uint8_t* data, uint64_t size) {
  ::mkdir(dir_.c_str(), 0700);
  const std::string path = Path(id);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Failed("cannot create", path);
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      absl::Status status = Failed("cannot write", path);
      ::close(fd);
      ::unlink(path.c_str());
      return status;
    }
    data += n;
    size -= static_cast<uint64_t>(n);
  }
  ::close(fd);
  return absl::OkStatus();
}

absl::Status DiskSpillFiles::Read(const ObjectId& id, uint8_t* data, uint64_t size) {
  const std::string path = Path(id);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Failed("cannot open", path);
  while (size > 0) {
    const ssize_t n = ::read(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      absl::Status status = n == 0 ? absl::DataLossError(path + " is shorter than the object")
                                   : Failed("cannot read", path);
      ::close(fd);
      return status;
    }
    data += n;
    size -= static_cast<uint64_t>(n);
  }
  ::close(fd);
  return absl::OkStatus();
}

void DiskSpillFiles::Remove(const ObjectId& id) { ::unlink(Path(id).c_str()); }

ThreadedSpillFiles::ThreadedSpillFiles(boost::asio::io_context& io, std::string dir)
    : io_(io), disk_(std::move(dir)), thread_([this] { Run(); }) {}

ThreadedSpillFiles::~ThreadedSpillFiles() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    jobs_.clear();
  }
  wake_.notify_one();
  thread_.join();
}

void ThreadedSpillFiles::Write(const ObjectId& id, const uint8_t* data, uint64_t size,
                               Done done) {
  Queue([this, id, data, size] { return disk_.Write(id, data, size); }, std::move(done));
}

void ThreadedSpillFiles::Read(const ObjectId& id, uint8_t* data, uint64_t size, Done done) {
  Queue([this, id, data, size] { return disk_.Read(id, data, size); }, std::move(done));
}

void ThreadedSpillFiles::Remove(const ObjectId& id) {
  // Unlinking a large file takes a while too.
  Queue(
      [this, id] {
        disk_.Remove(id);
        return absl::OkStatus();
      },
      nullptr);
}

void ThreadedSpillFiles::Queue(std::function<absl::Status()> work, Done done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.emplace_back(std::move(work), std::move(done));
  }
  wake_.notify_one();
}

void ThreadedSpillFiles::Run() {
  for (;;) {
    std::pair<std::function<absl::Status()>, Done> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    absl::Status status = job.first();
    if (job.second) {
      boost::asio::post(io_, [done = std::move(job.second), status = std::move(status)] {
        done(status);
      });
    }
  }
}

}  // namespace flare
