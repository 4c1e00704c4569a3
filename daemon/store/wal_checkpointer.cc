#include "daemon/store/wal_checkpointer.h"

namespace caravan::store::internal {

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(
    const std::string& path, bool sync_full, int busy_timeout_ms) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      std::unique_ptr<Database> db,
      Database::Open(path, /*read_only=*/false, busy_timeout_ms));
  CARAVAN_RETURN_IF_ERROR(db->Exec(sync_full ? "PRAGMA synchronous = FULL"
                                             : "PRAGMA synchronous = NORMAL"));
  // A checkpoint copies frames from the WAL file to the database file; it
  // needs no page cache of its own to speak of.
  CARAVAN_RETURN_IF_ERROR(db->Exec("PRAGMA cache_size = -512"));
  std::unique_ptr<WalCheckpointer> c(new WalCheckpointer(std::move(db)));
  c->thread_ = std::thread([raw = c.get()] { raw->Loop(); });
  return c;
}

WalCheckpointer::WalCheckpointer(std::unique_ptr<Database> db)
    : db_(std::move(db)) {}

WalCheckpointer::~WalCheckpointer() { Stop(); }

void WalCheckpointer::Attach(sqlite3* writer) {
  sqlite3_wal_hook(writer, &WalCheckpointer::OnCommit, this);
}

int WalCheckpointer::OnCommit(void* self, sqlite3* writer, const char* schema,
                              int wal_pages) {
  auto* c = static_cast<WalCheckpointer*>(self);
  if (wal_pages >= kInlineCheckpointPages) {
    // The thread is behind: do what SQLite's automatic checkpoint does.
    (void)sqlite3_wal_checkpoint_v2(writer, schema, SQLITE_CHECKPOINT_PASSIVE,
                                    nullptr, nullptr);
    return SQLITE_OK;
  }
  if (wal_pages >= kCheckpointPages) {
    {
      std::lock_guard<std::mutex> lock(c->mu_);
      c->due_ = true;
    }
    c->wake_.notify_one();
  }
  return SQLITE_OK;
}

void WalCheckpointer::Loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [this] { return due_ || stopping_; });
      if (stopping_) return;
      due_ = false;
    }
    // PASSIVE: never waits for the writer or readers; what it could not
    // copy now is copied by the next one. A busy or failed checkpoint
    // leaves the WAL longer, bounded by the writer's inline fallback.
    const int rc = sqlite3_wal_checkpoint_v2(
        db_->handle(), "main", SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    if (rc == SQLITE_OK) {
      std::lock_guard<std::mutex> lock(mu_);
      ++checkpoints_;
    }
  }
}

void WalCheckpointer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  db_.reset();
}

uint64_t WalCheckpointer::checkpoints() const {
  std::lock_guard<std::mutex> lock(mu_);
  return checkpoints_;
}

}  // namespace caravan::store::internal
