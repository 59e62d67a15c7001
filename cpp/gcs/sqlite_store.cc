#include "gcs/sqlite_store.h"

#include <sqlite3.h>

#include <utility>

namespace flare {

namespace {

// Rows keep their rowid order as write order: INSERT OR REPLACE gives a
// replaced row a new rowid, so Scan (ORDER BY rowid) lists the oldest
// written first.
constexpr char kSchema[] =
    "CREATE TABLE IF NOT EXISTS flare_gcs ("
    "  tbl TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL,"
    "  UNIQUE (tbl, key))";

constexpr const char* kSql[] = {
    "INSERT OR REPLACE INTO flare_gcs (tbl, key, value) VALUES (?1, ?2, ?3)",
    "INSERT OR IGNORE INTO flare_gcs (tbl, key, value) VALUES (?1, ?2, ?3)",
    "SELECT value FROM flare_gcs WHERE tbl = ?1 AND key = ?2",
    "DELETE FROM flare_gcs WHERE tbl = ?1 AND key = ?2",
    "SELECT key, value FROM flare_gcs WHERE tbl = ?1 ORDER BY rowid",
};

std::string Column(sqlite3_stmt* statement, int column) {
  const void* data = sqlite3_column_blob(statement, column);
  const int size = sqlite3_column_bytes(statement, column);
  return data == nullptr ? std::string() : std::string(static_cast<const char*>(data), size);
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  const int opened = sqlite3_open_v2(path.c_str(), &db,
                                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                         SQLITE_OPEN_NOMUTEX,
                                     nullptr);
  std::unique_ptr<SqliteStore> store(new SqliteStore(db, path));
  if (opened != SQLITE_OK) return store->Error("cannot open it");
  // EXCLUSIVE locking: the lock the first write takes is kept until the
  // store closes (or the process dies), so a second head is refused.
  const char* setup =
      "PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;";
  int locked = sqlite3_exec(db, setup, nullptr, nullptr, nullptr);
  if (locked == SQLITE_OK) {
    locked = sqlite3_exec(db, "BEGIN EXCLUSIVE; COMMIT;", nullptr, nullptr, nullptr);
  }
  if (locked == SQLITE_BUSY || locked == SQLITE_LOCKED) {
    return absl::FailedPreconditionError("the GCS storage " + path +
                                         " is in use by another process (another head?)");
  }
  if (locked != SQLITE_OK || sqlite3_exec(db, kSchema, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return store->Error("it is not a flare GCS database");
  }
  for (int i = 0; i < kStatementCount; ++i) {
    if (sqlite3_prepare_v2(db, kSql[i], -1, &store->statements_[i], nullptr) != SQLITE_OK) {
      return store->Error("it is not a flare GCS database");
    }
  }
  return store;
}

SqliteStore::~SqliteStore() {
  for (sqlite3_stmt* statement : statements_) sqlite3_finalize(statement);
  sqlite3_close(db_);
}

absl::Status SqliteStore::Error(const std::string& what) const {
  return absl::UnavailableError("GCS storage " + path_ + ": " + what + " (" +
                                (db_ ? sqlite3_errmsg(db_) : "out of memory") + ")");
}

sqlite3_stmt* SqliteStore::Bind(Statement which, const std::string& table,
                                const std::string* key) const {
  sqlite3_stmt* statement = statements_[which];
  sqlite3_reset(statement);
  sqlite3_clear_bindings(statement);
  sqlite3_bind_text(statement, 1, table.data(), static_cast<int>(table.size()), SQLITE_STATIC);
  if (key != nullptr) {
    sqlite3_bind_blob(statement, 2, key->data(), static_cast<int>(key->size()), SQLITE_STATIC);
  }
  return statement;
}

absl::StatusOr<bool> SqliteStore::Put(const std::string& table, const std::string& key,
                                      std::string value, bool overwrite) {
  sqlite3_stmt* statement = Bind(overwrite ? kReplace : kInsert, table, &key);
  sqlite3_bind_blob(statement, 3, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
  const int stepped = sqlite3_step(statement);
  sqlite3_reset(statement);
  if (stepped != SQLITE_DONE) return Error("cannot write '" + table + "'");
  return sqlite3_changes(db_) > 0;
}

absl::StatusOr<std::optional<std::string>> SqliteStore::Get(const std::string& table,
                                                            const std::string& key) const {
  sqlite3_stmt* statement = Bind(kGet, table, &key);
  const int stepped = sqlite3_step(statement);
  std::optional<std::string> value;
  if (stepped == SQLITE_ROW) value = Column(statement, 0);
  sqlite3_reset(statement);
  if (stepped != SQLITE_ROW && stepped != SQLITE_DONE) return Error("cannot read '" + table + "'");
  return value;
}

absl::StatusOr<bool> SqliteStore::Delete(const std::string& table, const std::string& key) {
  sqlite3_stmt* statement = Bind(kDelete, table, &key);
  const int stepped = sqlite3_step(statement);
  sqlite3_reset(statement);
  if (stepped != SQLITE_DONE) return Error("cannot delete from '" + table + "'");
  return sqlite3_changes(db_) > 0;
}

absl::StatusOr<std::vector<Store::Entry>> SqliteStore::Scan(const std::string& table) const {
  sqlite3_stmt* statement = Bind(kScan, table, nullptr);
  std::vector<Entry> entries;
  int stepped;
  while ((stepped = sqlite3_step(statement)) == SQLITE_ROW) {
    entries.emplace_back(Column(statement, 0), Column(statement, 1));
  }
  sqlite3_reset(statement);
  if (stepped != SQLITE_DONE) return Error("cannot read '" + table + "'");
  return entries;
}

}  // namespace flare
