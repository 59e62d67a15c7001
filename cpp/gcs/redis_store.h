// A Store in an external Redis server (`--gcs-storage redis://HOST:PORT`),
// so that the GCS's state lives outside the head's machine. Each GCS table
// is one Redis hash, named "<prefix>:<table>" (prefix "flare" unless the
// URL has a path: redis://HOST:PORT/PREFIX keeps clusters sharing one Redis
// apart). How durable a write is once Redis acknowledged it is Redis's
// setting (appendonly / appendfsync); this store waits for that
// acknowledgement before it returns.
//
// It speaks RESP over a plain TCP socket (resp_connection.h). Every call is
// bounded by the timeout given to Open: a Redis that does not answer fails
// the call with Unavailable instead of blocking the head's loop for good; a
// connection that broke is reopened at the next call.
//
// Scan lists entries in the hash's order, not their write order.
//
// Thread-compatible: the GCS's owner is its only user.
#ifndef FLARE_GCS_REDIS_STORE_H_
#define FLARE_GCS_REDIS_STORE_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gcs/resp_connection.h"
#include "gcs/store.h"

namespace flare {

// What a redis:// URL names.
struct RedisAddress {
  std::string host;
  int port = 6379;
  std::string prefix = "flare";
};
// Parses "redis://HOST[:PORT][/PREFIX]"; InvalidArgument otherwise.
absl::StatusOr<RedisAddress> ParseRedisUrl(const std::string& url);

class RedisStore : public Store {
 public:
  // Connects to the Redis `address` names and checks it answers (PING).
  static absl::StatusOr<std::unique_ptr<RedisStore>> Open(
      const RedisAddress& address, std::chrono::milliseconds timeout = std::chrono::seconds(5));

  absl::StatusOr<bool> Put(const std::string& table, const std::string& key, std::string value,
                           bool overwrite) override;
  absl::StatusOr<std::optional<std::string>> Get(const std::string& table,
                                                 const std::string& key) const override;
  absl::StatusOr<bool> Delete(const std::string& table, const std::string& key) override;
  absl::StatusOr<std::vector<Entry>> Scan(const std::string& table) const override;

 private:
  RedisStore(RedisAddress address, std::chrono::milliseconds timeout)
      : address_(std::move(address)), timeout_(timeout) {}
  // Runs one command, connecting first when there is no connection; one
  // more try on a fresh connection when the old one turns out broken.
  absl::StatusOr<RespValue> Command(const std::vector<std::string>& args) const;
  std::string HashOf(const std::string& table) const { return address_.prefix + ":" + table; }

  RedisAddress address_;
  std::chrono::milliseconds timeout_;
  mutable std::unique_ptr<RespConnection> connection_;
};

}  // namespace flare

#endif  // FLARE_GCS_REDIS_STORE_H_
