#include "gcs/redis_store.h"

#include <cstdlib>
#include <utility>

namespace flare {

namespace {

absl::Status Unexpected(const RespValue& reply, const std::string& command) {
  if (reply.kind == RespValue::kError) {
    return absl::UnavailableError("Redis refused " + command + ": " + reply.text);
  }
  return absl::UnavailableError("Redis answered " + command + " with an unexpected reply");
}

}  // namespace

absl::StatusOr<RedisAddress> ParseRedisUrl(const std::string& url) {
  constexpr char kScheme[] = "redis://";
  const auto bad = [&url](const std::string& why) {
    return absl::InvalidArgumentError("'" + url + "' is not a Redis URL (" + why +
                                      "): expected redis://HOST[:PORT][/PREFIX]");
  };
  if (url.rfind(kScheme, 0) != 0) return bad("no redis:// scheme");
  std::string rest = url.substr(sizeof(kScheme) - 1);
  RedisAddress address;
  if (const size_t slash = rest.find('/'); slash != std::string::npos) {
    if (slash + 1 < rest.size()) address.prefix = rest.substr(slash + 1);
    rest.resize(slash);
  }
  if (const size_t colon = rest.rfind(':'); colon != std::string::npos) {
    const std::string port = rest.substr(colon + 1);
    char* end = nullptr;
    const long value = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || value <= 0 || value > 65535) return bad("a bad port");
    address.port = static_cast<int>(value);
    rest.resize(colon);
  }
  if (rest.empty()) return bad("no host");
  address.host = rest;
  return address;
}

absl::StatusOr<std::unique_ptr<RedisStore>> RedisStore::Open(const RedisAddress& address,
                                                             std::chrono::milliseconds timeout) {
  std::unique_ptr<RedisStore> store(new RedisStore(address, timeout));
  absl::StatusOr<RespValue> pong = store->Command({"PING"});
  if (!pong.ok()) return pong.status();
  if (pong->kind != RespValue::kSimple) return Unexpected(*pong, "PING");
  return store;
}

absl::StatusOr<RespValue> RedisStore::Command(const std::vector<std::string>& args) const {
  for (int attempt = 0;; ++attempt) {
    const bool fresh = connection_ == nullptr || connection_->broken();
    if (fresh) {
      absl::StatusOr<std::unique_ptr<RespConnection>> connected =
          RespConnection::Connect(address_.host, address_.port, timeout_);
      if (!connected.ok()) return connected.status();
      connection_ = std::move(*connected);
    }
    absl::StatusOr<RespValue> reply = connection_->Call(args);
    // An old connection may have broken while idle (Redis restarted): one
    // more try on a new one. A fresh one that fails is the answer.
    if (reply.ok() || fresh || attempt > 0) return reply;
  }
}

absl::StatusOr<bool> RedisStore::Put(const std::string& table, const std::string& key,
                                     std::string value, bool overwrite) {
  if (overwrite) {
    absl::StatusOr<RespValue> reply = Command({"HSET", HashOf(table), key, std::move(value)});
    if (!reply.ok()) return reply.status();
    if (reply->kind != RespValue::kInteger) return Unexpected(*reply, "HSET");
    return true;
  }
  absl::StatusOr<RespValue> reply = Command({"HSETNX", HashOf(table), key, std::move(value)});
  if (!reply.ok()) return reply.status();
  if (reply->kind != RespValue::kInteger) return Unexpected(*reply, "HSETNX");
  return reply->integer == 1;
}

absl::StatusOr<std::optional<std::string>> RedisStore::Get(const std::string& table,
                                                           const std::string& key) const {
  absl::StatusOr<RespValue> reply = Command({"HGET", HashOf(table), key});
  if (!reply.ok()) return reply.status();
  if (reply->kind == RespValue::kNil) return std::optional<std::string>();
  if (reply->kind != RespValue::kBulk) return Unexpected(*reply, "HGET");
  return std::optional<std::string>(std::move(reply->text));
}

absl::StatusOr<bool> RedisStore::Delete(const std::string& table, const std::string& key) {
  absl::StatusOr<RespValue> reply = Command({"HDEL", HashOf(table), key});
  if (!reply.ok()) return reply.status();
  if (reply->kind != RespValue::kInteger) return Unexpected(*reply, "HDEL");
  return reply->integer > 0;
}

absl::StatusOr<std::vector<Store::Entry>> RedisStore::Scan(const std::string& table) const {
  absl::StatusOr<RespValue> reply = Command({"HGETALL", HashOf(table)});
  if (!reply.ok()) return reply.status();
  if (reply->kind != RespValue::kArray || reply->elements.size() % 2 != 0) {
    return Unexpected(*reply, "HGETALL");
  }
  std::vector<Entry> entries;
  entries.reserve(reply->elements.size() / 2);
  for (size_t i = 0; i + 1 < reply->elements.size(); i += 2) {
    entries.emplace_back(std::move(reply->elements[i].text), std::move(reply->elements[i + 1].text));
  }
  return entries;
}

}  // namespace flare
