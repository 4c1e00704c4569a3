#include "daemon/store/store.h"

#include <malloc.h>

#include <exception>

#include "daemon/store/id_key_filter.h"
#include "daemon/store/index_levels.h"
#include "daemon/store/origin_seqs.h"
#include "daemon/store/schema.h"
#include "daemon/store/sqlite_db.h"
#include "daemon/store/wal_checkpointer.h"

namespace caravan::store {
namespace {

using internal::Database;
using internal::Statement;

// Maps up to `bytes` of the database file into the connection (SQLite's
// `mmap_size`; 0 unmaps it). Only an optimisation: on failure SQLite
// reads pages with pread as before.
Status MapFile(Database& db, int64_t bytes) {
  return db.Exec("PRAGMA mmap_size = " + std::to_string(bytes));
}

Status RunCached(Database& db, const char* sql) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
  return st.Run();
}

Status ConfigureWriter(Database& db, const StoreOptions& options) {
  // WAL: readers never block the writer and vice versa.
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st, db.PrepareUncached("PRAGMA journal_mode = WAL"));
  CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row || st.Text(0) != "wal") {
    return Unavailable("database " + db.path() +
                       " cannot use WAL journaling (is it on a local disk?)");
  }
  CARAVAN_RETURN_IF_ERROR(db.Exec(options.sync == StoreOptions::Sync::kFull
                                      ? "PRAGMA synchronous = FULL"
                                      : "PRAGMA synchronous = NORMAL"));
  CARAVAN_RETURN_IF_ERROR(db.Exec("PRAGMA cache_size = -" +
                                  std::to_string(options.writer_cache_kib)));
  // Checkpoints: internal::WalCheckpointer (every ~40 MiB of WAL, on a
  // thread of its own), attached when the store starts. During a long
  // bulk write the WAL can grow to its inline bound (~320 MiB); once a
  // checkpoint has copied everything the next write starts it over and
  // cuts the file back to this size.
  CARAVAN_RETURN_IF_ERROR(db.Exec("PRAGMA journal_size_limit = 67108864"));
  return db.Exec("PRAGMA foreign_keys = ON");
}

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(const std::string& path,
                                           StoreOptions options) {
  if (!options.clock) {
    options.clock = [] {
      return static_cast<int64_t>(
          std::chrono::duration_cast<std::chrono::seconds>(
              std::chrono::system_clock::now().time_since_epoch())
              .count());
    };
  }
  if (options.max_queue == 0 || options.max_batch == 0 ||
      options.writer_cache_kib <= 0) {
    return InvalidInput(
        "store max_queue, max_batch and writer_cache_kib must be positive");
  }
  if (options.writer_mmap_bytes < 0) {
    return InvalidInput("store writer_mmap_bytes must not be negative");
  }
  if (options.level0_merge_rows <= 0 || options.level1_merge_rows <= 0) {
    return InvalidInput(
        "store level0_merge_rows and level1_merge_rows must be positive");
  }
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      std::unique_ptr<Database> db,
      Database::Open(path, /*read_only=*/false, options.busy_timeout_ms));
  CARAVAN_RETURN_IF_ERROR(ConfigureWriter(*db, options));
  CARAVAN_RETURN_IF_ERROR(internal::Migrate(*db, options.clock()));
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      int64_t last_origin_seq,
      db->QueryInt("SELECT value FROM meta WHERE key = 'origin_seq'"));
  if (last_origin_seq < 0) {
    return Corrupt("store " + path + " keeps a negative origin_seq");
  }
  auto origin_seqs = std::make_unique<internal::OriginSeqs>(
      static_cast<uint64_t>(last_origin_seq));
  LevelCounts levels;
  CARAVAN_STORE_ASSIGN_OR_RETURN(levels.level0, internal::LevelRows(*db, 0));
  CARAVAN_STORE_ASSIGN_OR_RETURN(levels.level1, internal::LevelRows(*db, 1));
  auto id_filter =
      std::make_unique<internal::IdKeyFilter>(options.id_filter_bytes);
  CARAVAN_RETURN_IF_ERROR(internal::AddHeldIdKeys(*db, *id_filter));
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      std::unique_ptr<internal::WalCheckpointer> checkpointer,
      internal::WalCheckpointer::Start(
          path, options.sync == StoreOptions::Sync::kFull,
          options.busy_timeout_ms));
  return std::unique_ptr<Store>(
      new Store(path, std::move(options), std::move(db), std::move(origin_seqs),
                std::move(checkpointer), levels, std::move(id_filter)));
}

Store::Store(std::string path, StoreOptions options,
             std::unique_ptr<Database> db,
             std::unique_ptr<internal::OriginSeqs> origin_seqs,
             std::unique_ptr<internal::WalCheckpointer> checkpointer,
             LevelCounts levels,
             std::unique_ptr<internal::IdKeyFilter> id_filter)
    : path_(std::move(path)),
      options_(std::move(options)),
      checkpointer_(std::move(checkpointer)),
      db_(std::move(db)),
      origin_seqs_(std::move(origin_seqs)),
      levels_(levels),
      id_filter_(std::move(id_filter)) {
  checkpointer_->Attach(db_->handle());
  writer_ = std::thread([this] { WriterLoop(); });
}

Store::~Store() { Close(); }

void Store::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }
  not_empty_.notify_all();
  not_full_.notify_all();
  if (writer_.joinable()) writer_.join();
  // After the writer: its last commits may still ask for a checkpoint.
  // Then the writer's connection is the last one to close, and closing
  // checkpoints what is left.
  if (checkpointer_) checkpointer_->Stop();
}

int64_t Store::Now() const { return options_.clock(); }

Result<uint64_t> Store::ReserveOriginSeqs(uint64_t n) {
  return origin_seqs_->Take(n);
}

bool Store::Enqueue(Pending& p, bool block) {
  Status refused;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (block) {
      not_full_.wait(lock, [this] {
        return closing_ || queue_.size() < options_.max_queue;
      });
    }
    if (closing_) {
      refused = Unavailable("store " + path_ + " is closed");
    } else if (queue_.size() >= options_.max_queue) {
      refused = RetryLater("store write queue is full (" +
                           std::to_string(queue_.size()) + " waiting)");
    } else {
      queue_.push_back(std::move(p));
    }
  }
  if (!refused.ok()) {
    p.done(std::move(refused));
    return false;
  }
  not_empty_.notify_one();
  return true;
}

std::future<Status> Store::Write(WriteFn fn) {
  auto promise = std::make_shared<std::promise<Status>>();
  std::future<Status> future = promise->get_future();
  Pending p{std::move(fn), [promise](Status s) { promise->set_value(s); }};
  Enqueue(p, /*block=*/true);
  return future;
}

std::future<Status> Store::TryWrite(WriteFn fn) {
  auto promise = std::make_shared<std::promise<Status>>();
  std::future<Status> future = promise->get_future();
  Pending p{std::move(fn), [promise](Status s) { promise->set_value(s); }};
  Enqueue(p, /*block=*/false);
  return future;
}

void Store::Submit(WriteFn fn, std::function<void(Status)> done) {
  Pending p{std::move(fn), std::move(done)};
  Enqueue(p, /*block=*/true);
}

Result<std::unique_ptr<Reader>> Store::OpenReader() {
  return Reader::Open(path_, options_.busy_timeout_ms);
}

void Store::WriterLoop() {
  std::deque<Pending> batch;  // carries over what one budget did not fit
  bool wrote = false;  // since the writer's page cache was last released
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto ready = [&] {
        return !queue_.empty() || closing_ || !batch.empty();
      };
      if (!wrote) {
        not_empty_.wait(lock, ready);
      } else if (!not_empty_.wait_for(lock, options_.idle_release, ready)) {
        // Idle: give back the page cache (up to writer_cache_kib) and the
        // heap it used, so a node at rest holds little memory whatever
        // its store's size. The next write reads its pages again (from
        // the OS's file cache, usually).
        lock.unlock();
        sqlite3_db_release_memory(db_->handle());
        (void)MapFile(*db_, 0);  // file pages mapped count as our RSS
        malloc_trim(0);
        wrote = false;
        continue;
      }
      while (batch.size() < options_.max_batch && !queue_.empty()) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      if (batch.empty()) return;  // closing and fully drained
    }
    not_full_.notify_all();
    if (!wrote) (void)MapFile(*db_, options_.writer_mmap_bytes);
    RunOneTransaction(batch);
    if (levels_.level0 >= options_.level0_merge_rows) MergeKeyLevels();
    wrote = true;
  }
}

namespace {

// Calls a write function; a throw (a bug in the caller) becomes Internal.
Status CallWriteFn(const WriteFn& fn, WriteTxn& txn) {
  try {
    return fn(txn);
  } catch (const std::exception& e) {
    return Internal(std::string("store write function threw: ") + e.what());
  } catch (...) {
    return Internal("store write function threw a non-standard exception");
  }
}

// Runs one write function in its own savepoint: its failure undoes only its
// own changes.
Status RunInSavepoint(Database& db, const WriteFn& fn, WriteTxn& txn,
                      const std::function<void(const Status&)>& on_error) {
  CARAVAN_RETURN_IF_ERROR(RunCached(db, "SAVEPOINT write_fn"));
  Status s = CallWriteFn(fn, txn);
  if (!s.ok()) on_error(s);  // before ROLLBACK TO resets the error code
  if (sqlite3_get_autocommit(db.handle())) {  // SQLite rolled back
    txn.SavepointRolledBack();
    return s;
  }
  if (s.ok()) {
    Status released = RunCached(db, "RELEASE write_fn");
    if (released.ok()) return s;
    s = released;
  }
  (void)RunCached(db, "ROLLBACK TO write_fn");
  (void)RunCached(db, "RELEASE write_fn");
  txn.SavepointRolledBack();
  return s;
}

// Ends the open transaction: COMMIT when `keep`, else ROLLBACK. Returns
// what a write that succeeded in it is told.
Status EndTransaction(Database& db, bool keep,
                      const std::function<void(const Status&)>& on_error) {
  if (sqlite3_get_autocommit(db.handle())) {
    // SQLite already rolled the transaction back (disk full, I/O...).
    Status lost = internal::SqliteStatus(sqlite3_errcode(db.handle()),
                                         db.handle(),
                                         "store transaction was rolled back");
    return lost.ok() ? Internal("store transaction was rolled back") : lost;
  }
  Status commit = keep ? RunCached(db, "COMMIT") : Status::Ok();
  if (!commit.ok()) on_error(commit);
  if ((!keep || !commit.ok()) && !sqlite3_get_autocommit(db.handle())) {
    (void)RunCached(db, "ROLLBACK");
  }
  return commit;
}

}  // namespace

bool Store::MergeKeyLevel(size_t from) {
  // Readers see the keys at one level or the other, never both or
  // neither: the move is one transaction. Nothing a reader can see
  // changes, so writes_committed() stays.
  Status s = RunCached(*db_, "BEGIN IMMEDIATE");
  if (s.ok()) s = internal::MergeLevel(*db_, from);
  if (!s.ok()) ReportIfStorageError(s);
  const Status end = EndTransaction(
      *db_, s.ok(), [this](const Status& e) { ReportIfStorageError(e); });
  return s.ok() && end.ok();
}

void Store::MergeKeyLevels() {
  // Not merged (disk full, I/O): the keys stay where they are, where
  // every look-up finds them, and the merge is tried again after the
  // next commit that adds rows.
  if (!MergeKeyLevel(0)) {
    levels_.level0 = options_.level0_merge_rows - 1;
    return;
  }
  // A count, not the exact number: level 0's rows deleted since they were
  // counted are counted here too, so level 1 is merged a little early.
  levels_.level1 += levels_.level0;
  levels_.level0 = 0;
  if (levels_.level1 < options_.level1_merge_rows) return;
  if (MergeKeyLevel(1)) levels_.level1 = 0;
}

void Store::ReportIfStorageError(const Status& error) {
  if (!options_.on_storage_error) return;
  const std::string_view kind =
      internal::StorageErrorKind(sqlite3_extended_errcode(db_->handle()));
  if (!kind.empty()) options_.on_storage_error(kind, error);
}

void Store::RunOneTransaction(std::deque<Pending>& batch) {
  WriteTxn txn(*db_, *origin_seqs_, *id_filter_, Now());
  const auto on_error = [this](const Status& s) { ReportIfStorageError(s); };
  Status begin = RunCached(*db_, "BEGIN IMMEDIATE");
  if (!begin.ok()) {
    ReportIfStorageError(begin);
    for (Pending& p : batch) p.done(begin);
    batch.clear();
    return;
  }
  // Alone in its transaction, a function needs no savepoint: the
  // transaction is its undo. A savepoint would make SQLite copy every
  // page the function touches to a sub-journal first.
  const bool alone = batch.size() == 1;
  const auto start = std::chrono::steady_clock::now();
  std::vector<Status> results;
  results.reserve(batch.size());
  if (alone) {
    results.push_back(CallWriteFn(batch.front().fn, txn));
    if (!results.back().ok()) ReportIfStorageError(results.back());
  }
  while (results.size() < batch.size()) {
    if (!results.empty() &&
        std::chrono::steady_clock::now() - start > options_.batch_budget) {
      break;  // the rest waits for the next transaction
    }
    results.push_back(
        RunInSavepoint(*db_, batch[results.size()].fn, txn, on_error));
    // Some errors (disk full, I/O) make SQLite roll back the whole
    // transaction; then nothing of this batch is stored.
    if (sqlite3_get_autocommit(db_->handle())) break;
  }
  // A lone function's failure undoes the whole transaction.
  const bool keep = !alone || results.front().ok();
  const Status commit = EndTransaction(*db_, keep, on_error);
  if (keep && commit.ok()) {
    writes_committed_.fetch_add(1, std::memory_order_release);
    levels_.level0 += txn.level0_rows_added();
  }
  // Only now, after COMMIT, may anyone learn that their write succeeded.
  for (size_t i = 0; i < results.size(); ++i) {
    Status& s = results[i];
    batch[i].done(s.ok() ? commit : std::move(s));
  }
  batch.erase(batch.begin(), batch.begin() + results.size());
}

}  // namespace caravan::store
