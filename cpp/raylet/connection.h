// One client (driver or worker) connected to the raylet over the local Unix
// socket. Reads frames and hands each message to its Handler; Send() queues a
// frame, and every frame queued while the event loop is busy goes out in a
// single write. A client that stops reading is dropped, with a log line,
// once more than `max_queued_bytes` wait to be written to it, instead of
// the raylet's memory growing without limit.
//
// Owned by shared_ptr (the pending read/write handlers keep it alive); only
// the raylet's event loop thread may call it.
#ifndef FLARE_RAYLET_CONNECTION_H_
#define FLARE_RAYLET_CONNECTION_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include <boost/asio.hpp>

#include "common/framing.h"
#include "common/ids.h"
#include "flare.pb.h"
#include "raylet/client_link.h"
#include "object_store/object_table.h"

namespace flare {

class Connection : public ClientLink, public std::enable_shared_from_this<Connection> {
 public:
  using Socket = boost::asio::local::stream_protocol::socket;

  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void OnMessage(Connection& connection, rpc::Message& message) = 0;
    virtual void OnClosed(Connection& connection) = 0;
  };

  // What may wait to be written to one client before it is dropped.
  static constexpr size_t kMaxQueuedBytes = size_t{1} << 30;

  Connection(Socket socket, ClientId id, Handler& handler,
             size_t max_queued_bytes = kMaxQueuedBytes);

  void Start();
  void Send(const rpc::Message& message) override;
  // Writes `message` with `fd` attached (SCM_RIGHTS), synchronously.
  // REQUIRES: nothing else has been sent on this connection yet.
  bool SendWithFd(const rpc::Message& message, int fd) override;
  void Close() override;

  ClientId id() const { return id_; }
  bool closed() const { return closed_; }

  // What the client said when it registered.
  rpc::ClientKind kind = rpc::CLIENT_KIND_UNSPECIFIED;
  pid_t pid = 0;
  JobId job_id;
  bool log_to_driver = false;

 private:
  void ReadSome();
  void Flush();

  Socket socket_;
  ClientId id_;
  Handler& handler_;
  const size_t max_queued_bytes_;
  FrameDecoder decoder_;
  std::array<char, 64 * 1024> read_buffer_;
  std::string pending_;
  std::string inflight_;
  bool writing_ = false;
  bool flush_posted_ = false;
  bool closed_ = false;
  bool dropping_ = false;  // it stopped reading: closing, nothing more is queued
};

}  // namespace flare

#endif  // FLARE_RAYLET_CONNECTION_H_
