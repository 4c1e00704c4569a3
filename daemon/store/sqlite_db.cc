#include "daemon/store/sqlite_db.h"

#include <cstring>
#include <mutex>

namespace caravan::store::internal {

Status SqliteStatus(int rc, sqlite3* db, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
      return Status::Ok();
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return RetryLater(std::move(msg));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Corrupt(std::move(msg));
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
      return InvalidInput(std::move(msg));
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return Unavailable(std::move(msg));
    default:
      return Internal(std::move(msg));
  }
}

std::string_view StorageErrorKind(int rc) {
  switch (rc & 0xff) {
    case SQLITE_FULL: return "disk_full";
    case SQLITE_IOERR: return "io_error";
    case SQLITE_READONLY: return "read_only";
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return "corrupt";
    case SQLITE_NOMEM: return "no_memory";
    case SQLITE_CANTOPEN: return "cant_open";
    default: return "";
  }
}

Statement::~Statement() {
  if (!stmt_) return;
  if (owned_) {
    sqlite3_finalize(stmt_);
  } else {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

void Statement::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
}

namespace {

// SQLITE_TRANSIENT: SQLite copies the value now; SQLITE_STATIC: it reads
// the caller's bytes in place (Statement::BindTextBorrowed).
void BindTextAs(sqlite3_stmt* stmt, int index, std::string_view text,
                sqlite3_destructor_type how) {
  sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()),
                    how);
}

void BindBlobAs(sqlite3_stmt* stmt, int index, const void* data, size_t size,
                sqlite3_destructor_type how) {
  // A zero-length blob must still be a blob, not NULL.
  static const uint8_t kEmpty = 0;
  sqlite3_bind_blob(stmt, index, size ? data : &kEmpty,
                    static_cast<int>(size), how);
}

}  // namespace

void Statement::BindText(int index, std::string_view text) {
  BindTextAs(stmt_, index, text, SQLITE_TRANSIENT);
}

void Statement::BindBlob(int index, const void* data, size_t size) {
  BindBlobAs(stmt_, index, data, size, SQLITE_TRANSIENT);
}

void Statement::BindTextBorrowed(int index, std::string_view text) {
  BindTextAs(stmt_, index, text, SQLITE_STATIC);
}

void Statement::BindBlobBorrowed(int index, const void* data, size_t size) {
  BindBlobAs(stmt_, index, data, size, SQLITE_STATIC);
}

void Statement::BindNull(int index) { sqlite3_bind_null(stmt_, index); }

void Statement::Reset() { sqlite3_reset(stmt_); }

Result<bool> Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteStatus(rc, sqlite3_db_handle(stmt_), sqlite3_sql(stmt_));
}

Status Statement::Run() {
  for (;;) {
    Result<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
  }
}

bool Statement::IsNull(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

int64_t Statement::Int(int col) const {
  return sqlite3_column_int64(stmt_, col);
}

std::string Statement::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), n) : std::string();
}

std::vector<uint8_t> Statement::Blob(int col) const {
  const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, col));
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::vector<uint8_t>(p, p + n) : std::vector<uint8_t>();
}

namespace {

// SQLite's memory statistics take a process-wide mutex on every allocation
// (8 % of a catch-up receiver's CPU in the profile); nothing here reads
// them. Only possible before SQLite initialises: a process that opened a
// database earlier (a test) keeps them, which changes nothing else.
void TurnOffMemoryStatistics() {
  static std::once_flag once;
  std::call_once(once, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}

}  // namespace

Result<std::unique_ptr<Database>> Database::Open(const std::string& path,
                                                 bool read_only,
                                                 int busy_timeout_ms) {
  TurnOffMemoryStatistics();
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_NOMUTEX |
              (read_only ? SQLITE_OPEN_READONLY
                         : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status s = Unavailable("cannot open database " + path + ": " +
                           (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close(db);
    return s;
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, busy_timeout_ms);
  return std::unique_ptr<Database>(new Database(db, path));
}

Database::~Database() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

Result<Statement> Database::Prepare(std::string_view sql) {
  if (auto it = cache_.find(sql); it != cache_.end()) {
    return Statement(it->second, /*owned=*/false);
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    return SqliteStatus(rc, db_, "prepare " + std::string(sql));
  }
  cache_.emplace(std::string(sql), stmt);
  return Statement(stmt, /*owned=*/false);
}

Result<Statement> Database::PrepareUncached(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()),
                              &stmt, nullptr);
  if (rc != SQLITE_OK) {
    return SqliteStatus(rc, db_, "prepare " + std::string(sql));
  }
  return Statement(stmt, /*owned=*/true);
}

Status Database::Exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    Status s = SqliteStatus(rc, nullptr, sql.substr(0, 80));
    return Status(s.code(), sql.substr(0, 80) + ": " + msg);
  }
  return Status::Ok();
}

Result<int64_t> Database::QueryInt(std::string_view sql) {
  // Cached: some run once per record written (the next log seq), and
  // preparing costs more than running them.
  CARAVAN_STORE_ASSIGN_OR_RETURN(Statement st, Prepare(sql));
  CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return NotFound(std::string(sql) + ": no row");
  return st.Int(0);
}

}  // namespace caravan::store::internal
