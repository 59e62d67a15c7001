#include "gcs/storage_spec.h"

#include <filesystem>
#include <system_error>

#include "gcs/memory_store.h"
#include "gcs/redis_store.h"
#include "gcs/sqlite_store.h"

namespace flare {

namespace {

absl::StatusOr<std::unique_ptr<Store>> OpenSqlite(const std::filesystem::path& file) {
  std::error_code error;
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), error);
  if (error) {
    return absl::UnavailableError("cannot create " + file.parent_path().string() + ": " +
                                  error.message());
  }
  absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(file.string());
  if (!store.ok()) return store.status();
  return std::unique_ptr<Store>(std::move(*store));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenGcsStorage(const std::string& spec,
                                                      const std::string& session_dir) {
  constexpr char kSqlite[] = "sqlite://";
  if (spec.empty()) return OpenSqlite(std::filesystem::path(session_dir) / kGcsSqliteFile);
  if (spec == "memory") return std::unique_ptr<Store>(std::make_unique<MemoryStore>());
  if (spec.rfind("redis://", 0) == 0) {
    absl::StatusOr<RedisAddress> address = ParseRedisUrl(spec);
    if (!address.ok()) return address.status();
    absl::StatusOr<std::unique_ptr<RedisStore>> store = RedisStore::Open(*address);
    if (!store.ok()) return store.status();
    return std::unique_ptr<Store>(std::move(*store));
  }
  std::string path = spec;
  if (spec.rfind(kSqlite, 0) == 0) {
    path = spec.substr(sizeof(kSqlite) - 1);
  } else if (spec.find("://") != std::string::npos) {
    return absl::InvalidArgumentError("--gcs-storage '" + spec +
                                      "': expected sqlite:///PATH, redis://HOST:PORT, a path "
                                      "or 'memory'");
  }
  if (path.empty() || path[0] != '/') {
    return absl::InvalidArgumentError("--gcs-storage '" + spec + "': the path must be absolute");
  }
  std::error_code error;
  if (path.back() == '/' || std::filesystem::is_directory(path, error)) {
    return OpenSqlite(std::filesystem::path(path) / kGcsSqliteFile);
  }
  return OpenSqlite(path);
}

}  // namespace flare
