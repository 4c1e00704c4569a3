#pragma once
// Private to daemon/store: a thin RAII layer over one sqlite3 connection with
// a cache of prepared statements, and the one place where SQLite result codes
// become Status values.
//
// Ownership: Database owns the connection and every cached statement. A
// Statement borrows a cached sqlite3_stmt (or owns an uncached one) and
// resets it when destroyed, so it must not outlive its Database.
// Thread-safety: none. A connection is opened SQLITE_OPEN_NOMUTEX and must be
// used by one thread at a time (the store's writer thread, or one Reader).

#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "protocol/status.h"

namespace caravan::store::internal {

// Maps a SQLite result code to the Status code that says what the caller
// should do next (busy -> retry later, corrupt -> corrupt, ...).
Status SqliteStatus(int rc, sqlite3* db, std::string_view what);

// The kind of storage failure an (extended) SQLite result code is, for
// logs and /metrics: "disk_full", "io_error", "read_only", "corrupt",
// "no_memory", "cant_open"; "" when it is not one (ok, busy, constraint...).
std::string_view StorageErrorKind(int rc);

class Statement {
 public:
  Statement(sqlite3_stmt* stmt, bool owned) : stmt_(stmt), owned_(owned) {}
  Statement(Statement&& other) noexcept
      : stmt_(other.stmt_), owned_(other.owned_) {
    other.stmt_ = nullptr;
  }
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement();

  // Parameters are 1-based, as in sqlite3_bind_*.
  void Bind(int index, int64_t value);
  void BindText(int index, std::string_view text);
  void BindBlob(int index, const void* data, size_t size);
  template <typename Container>
  void BindBlob(int index, const Container& bytes) {
    BindBlob(index, bytes.data(), bytes.size());
  }
  void BindNull(int index);
  // As BindText / BindBlob, without the copy SQLite makes of a transient
  // value (a malloc, a memcpy and a free per parameter: ~5% of a
  // receiver's writer thread in a catch-up). The bytes must stay valid and
  // unchanged until this Statement is destroyed or the parameter is bound
  // again: the hot write paths bind fields of rows that outlive it.
  // Temporaries are refused at compile time.
  void BindTextBorrowed(int index, std::string_view text);
  void BindTextBorrowed(int index, std::string&&) = delete;
  template <typename Container>
  void BindBlobBorrowed(int index, const Container& bytes) {
    BindBlobBorrowed(index, bytes.data(), bytes.size());
  }
  template <typename Container>
  void BindBlobBorrowed(int index, const Container&& bytes) = delete;
  void BindBlobBorrowed(int index, const void* data, size_t size);
  // Makes the statement ready to run again (parameters keep their values):
  // for a statement run many times in a loop.
  void Reset();

  // true: a row is available; false: done. Errors name `what` is the SQL.
  Result<bool> Step();
  // Runs a statement that returns no rows (or ignores them).
  Status Run();

  // Columns are 0-based.
  bool IsNull(int col) const;
  int64_t Int(int col) const;
  std::string Text(int col) const;
  std::vector<uint8_t> Blob(int col) const;
  // Copies a blob column into a fixed array; false if the size differs.
  template <size_t N>
  bool FixedBlob(int col, std::array<uint8_t, N>& out) const {
    const void* p = sqlite3_column_blob(stmt_, col);
    if (sqlite3_column_bytes(stmt_, col) != static_cast<int>(N) || !p) {
      return false;
    }
    std::memcpy(out.data(), p, N);
    return true;
  }

  sqlite3_stmt* raw() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_;
  bool owned_;
};

class Database {
 public:
  // Opens (read_only: without creating) the database file at `path`.
  // Failure: Unavailable naming the path and SQLite's reason.
  static Result<std::unique_ptr<Database>> Open(const std::string& path,
                                                bool read_only,
                                                int busy_timeout_ms);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // A cached prepared statement for `sql` (prepared on first use).
  Result<Statement> Prepare(std::string_view sql);
  // A statement prepared for this one use (dynamic SQL of unbounded shape).
  Result<Statement> PrepareUncached(std::string_view sql);
  // Runs one or more statements without results (DDL, PRAGMA, BEGIN).
  Status Exec(const std::string& sql);
  // Runs a single-value query (e.g. "PRAGMA user_version"), cached as
  // Prepare does: `sql` must be of fixed shape.
  Result<int64_t> QueryInt(std::string_view sql);

  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }

 private:
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const {
      return std::hash<std::string_view>{}(s);
    }
  };
  sqlite3* db_;
  std::string path_;
  std::unordered_map<std::string, sqlite3_stmt*, StringHash, std::equal_to<>>
      cache_;
};

}  // namespace caravan::store::internal

// Early return of a Result's Status; on success moves its value into `lhs`.
#define CARAVAN_STORE_CONCAT_INNER(a, b) a##b
#define CARAVAN_STORE_CONCAT(a, b) CARAVAN_STORE_CONCAT_INNER(a, b)
#define CARAVAN_STORE_ASSIGN_OR_RETURN(lhs, expr) \
  CARAVAN_STORE_ASSIGN_OR_RETURN_IMPL(            \
      CARAVAN_STORE_CONCAT(caravan_result_, __LINE__), lhs, expr)
#define CARAVAN_STORE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                        \
  if (!tmp.ok()) return tmp.status();                       \
  lhs = std::move(tmp).value()
