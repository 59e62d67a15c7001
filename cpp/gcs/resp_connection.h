// One blocking connection to a Redis server speaking RESP (the Redis
// serialization protocol, version 2): a command goes out as an array of
// bulk strings, and one reply comes back. Every send and receive is bounded
// by the connection's timeout, so a server that stops answering fails the
// call with Unavailable instead of hanging its caller.
//
// The parsing of replies is apart from the socket (RespParser), so that it
// is tested without one.
//
// Thread-compatible.
#ifndef FLARE_GCS_RESP_CONNECTION_H_
#define FLARE_GCS_RESP_CONNECTION_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace flare {

// A RESP reply.
struct RespValue {
  enum Kind { kSimple, kError, kInteger, kBulk, kNil, kArray };
  Kind kind = kNil;
  std::string text;  // kSimple, kError, kBulk
  int64_t integer = 0;
  std::vector<RespValue> elements;  // kArray
};

// `args` as the RESP array of bulk strings a server reads as a command.
std::string EncodeRespCommand(const std::vector<std::string>& args);

// Reads replies out of the bytes received so far.
class RespParser {
 public:
  void Feed(const char* data, size_t size) { buffer_.append(data, size); }
  // The next complete reply, consumed; nullopt until enough bytes came;
  // DataLoss when the bytes are not RESP.
  absl::StatusOr<std::optional<RespValue>> Next();

 private:
  // Parses a value starting at `*at`; advances it past the value. nullopt:
  // incomplete.
  absl::StatusOr<std::optional<RespValue>> Parse(size_t* at) const;

  std::string buffer_;
};

class RespConnection {
 public:
  // Connects to `host`:`port` within `timeout`; Unavailable when it cannot.
  static absl::StatusOr<std::unique_ptr<RespConnection>> Connect(
      const std::string& host, int port, std::chrono::milliseconds timeout);
  ~RespConnection();

  RespConnection(const RespConnection&) = delete;
  RespConnection& operator=(const RespConnection&) = delete;

  // Sends one command and returns its reply (an error reply is a value of
  // kind kError, not a failed status). Unavailable when the connection
  // broke or the server did not answer in time: the connection is then
  // unusable (broken() says so).
  absl::StatusOr<RespValue> Call(const std::vector<std::string>& args);
  bool broken() const { return fd_ < 0; }

 private:
  RespConnection(int fd, std::string where, std::chrono::milliseconds timeout)
      : fd_(fd), where_(std::move(where)), timeout_(timeout) {}
  absl::Status Broke(const std::string& why);

  int fd_;
  std::string where_;  // "host:port", for errors
  std::chrono::milliseconds timeout_;  // for each Call
  RespParser parser_;
};

}  // namespace flare

#endif  // FLARE_GCS_RESP_CONNECTION_H_
