// A Store in an SQLite database file on the head's disk, so that the GCS's
// state outlives the head's process: a head restarted over the same file
// finds it again (Gcs::Recover).
//
// Durability: every write is its own transaction, committed before the
// call returns, in WAL mode with synchronous=FULL (the WAL is synced at
// each commit), so what the GCS has answered survives a crash of the
// process and of the machine. Scan lists a table's entries in the order
// they were last written (oldest first), so the ended records a table
// reloads keep their age order.
//
// One database holds every table, as rows (table, key, value) of one SQL
// table. The file is opened by one process at a time: Open takes SQLite's
// exclusive lock so that a second head over the same file is refused
// instead of interleaving its writes.
//
// Thread-compatible: the GCS's owner is its only user.
#ifndef FLARE_GCS_SQLITE_STORE_H_
#define FLARE_GCS_SQLITE_STORE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gcs/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace flare {

class SqliteStore : public Store {
 public:
  // Opens (creating when absent) the database at `path`. Its directory must
  // exist. FailedPrecondition when another process holds it; Unavailable
  // when it cannot be opened or is not a flare GCS database.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& path);
  ~SqliteStore() override;

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  absl::StatusOr<bool> Put(const std::string& table, const std::string& key, std::string value,
                           bool overwrite) override;
  absl::StatusOr<std::optional<std::string>> Get(const std::string& table,
                                                 const std::string& key) const override;
  absl::StatusOr<bool> Delete(const std::string& table, const std::string& key) override;
  absl::StatusOr<std::vector<Entry>> Scan(const std::string& table) const override;

  const std::string& path() const { return path_; }

 private:
  enum Statement { kReplace, kInsert, kGet, kDelete, kScan, kStatementCount };

  SqliteStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  // An error naming the store, what failed and SQLite's message.
  absl::Status Error(const std::string& what) const;
  // The prepared statement, reset and bound to `table` (and `key`).
  sqlite3_stmt* Bind(Statement which, const std::string& table, const std::string* key) const;

  sqlite3* db_;
  std::string path_;
  sqlite3_stmt* statements_[kStatementCount] = {};
};

}  // namespace flare

#endif  // FLARE_GCS_SQLITE_STORE_H_
