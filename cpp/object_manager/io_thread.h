// An Asio event loop run by a thread of its own: the node's transfer thread,
// where raw data connections do their socket work.
//
// Thread rules: io() may be used from any thread. The destructor stops the
// loop (handlers not run yet are destroyed, not run) and joins the thread.
#ifndef FLARE_OBJECT_MANAGER_IO_THREAD_H_
#define FLARE_OBJECT_MANAGER_IO_THREAD_H_

#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

namespace flare {

class IoThread {
 public:
  IoThread() : guard_(io_.get_executor()), thread_([this] { io_.run(); }) {}
  ~IoThread() {
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  boost::asio::io_context& io() { return io_; }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

}  // namespace flare

#endif  // FLARE_OBJECT_MANAGER_IO_THREAD_H_
