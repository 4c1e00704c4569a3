#pragma once
// Store: caravand's SQLite database (one file, WAL mode). The public API of
// daemon/store is this header plus write_txn.h (what a write may do),
// reader.h (what can be read) and store_types.h (the values).
//
// Writes go through one writer thread with group commit: Write() queues a
// function; the writer takes every queued function (up to
// StoreOptions::max_batch, for at most about batch_budget of work), runs
// each in its own SAVEPOINT inside one BEGIN IMMEDIATE ... COMMIT (a
// function alone in its transaction runs without one), and only after
// COMMIT fulfils the futures. A function that fails rolls back only its own
// changes and gets its own error; if COMMIT fails, every function of the
// batch gets that error and nothing of the batch is stored.
//
// Durability: with StoreOptions::Sync::kFull (the default) COMMIT returns
// after the WAL is fsync'ed, so a fulfilled ok future means the data
// survives kill -9 and power loss (promise 4). kNormal survives kill -9 of
// the process but may lose the last commits on power loss or an OS crash;
// store_bench measures both.
//
// Backpressure: at most max_queue functions wait. Write() and Submit()
// block the caller while the queue is full; TryWrite() returns RetryLater
// instead (use it on a network thread).
//
// Ownership: the caller owns the Store; destroying it (or Close()) finishes
// every queued function, commits, and joins the writer thread. Readers are
// independent objects with their own connection.
// Thread-safety: Write/TryWrite/Submit/WriteValue/OpenReader may be called
// from any thread concurrently.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "daemon/store/reader.h"
#include "daemon/store/store_types.h"
#include "daemon/store/write_txn.h"
#include "protocol/status.h"

namespace caravan::store {

namespace internal {
class Database;
class IdKeyFilter;
class OriginSeqs;
class WalCheckpointer;
}

struct StoreOptions {
  enum class Sync { kNormal, kFull };
  Sync sync = Sync::kFull;
  size_t max_queue = 65536;  // queued write functions before backpressure
  size_t max_batch = 4096;   // functions per group-commit transaction
  // Stop adding functions to a transaction after this much work, so one
  // huge batch does not delay every other caller's commit.
  std::chrono::milliseconds batch_budget{20};
  int busy_timeout_ms = 5000;
  // SQLite page cache of the writer connection. The default 2 MiB makes
  // inserts into large stores (random 32-byte ids) read from disk.
  int64_t writer_cache_kib = 64 * 1024;
  // Bytes of the database file the writer maps while it writes (SQLite
  // `mmap_size`; its own limit caps it, 0x7fff0000 in Debian's build; 0:
  // no mapping). A page the writer only reads (most index pages an insert
  // walks through) is then read from the mapping instead of copied in by
  // a pread, which at 10M stored was a fifth of the writer's time.
  int64_t writer_mmap_bytes = int64_t{2047} << 20;
  // After this long without a write the writer releases its page cache,
  // unmaps the file and trims the heap (idle memory stays small at any
  // store size).
  std::chrono::milliseconds idle_release{5000};
  // The writer merges the level-0 key tables into level 1 after the
  // commit that brings level 0 to this many indicator rows
  // (daemon/store/index_levels.h). Measured with raw_insert
  // (RAW_LEVEL0_ROWS, docs/performance.md): 200k keeps level 0 near 1k
  // pages a kind of key, so a 10k-row commit dirties about a tenth of a
  // page per row there (with two levels, a merge into a 10M level 1
  // dirtied about a quarter; level1_merge_rows below). In a 1M catch-up
  // 50k was about 3% faster and 20k no faster (scratch builds,
  // docs/performance.md "A middle key level"). Tests set it small.
  int64_t level0_merge_rows = 200'000;
  // The writer merges level 1 into level 2 after the level-0 merge that
  // brings level 1 to this many rows. Each merge rewrites about every
  // page of the level it lands in; with 200k-row merges from level 0,
  // 1.6M (8 of them) costs about as much in level-1 rewrites as in
  // level-2 rewrites at 10M stored, where the sum is least
  // (docs/performance.md, "A middle key level"). Tests set it small.
  int64_t level1_merge_rows = 1'600'000;
  // Memory of the writer's filter of held ids (id_key_filter.h), which
  // spares most new rows the search for their id. 8 MiB: about 7% of new
  // ids still searched at 10M stored; filled from the file at open (about
  // a second at 10M). 0: no filter, every new id searched.
  size_t id_filter_bytes = size_t{8} << 20;
  // Unix seconds now; stamps stored_at and WriteTxn::now(). Default: the
  // system clock. Tests pass a fake one.
  std::function<int64_t()> clock;
  // Called on the writer thread when SQLite fails a write for a storage
  // reason (disk full, I/O error, read-only, corrupt, out of memory),
  // with that kind (internal::StorageErrorKind) and the error a caller
  // got. Must be quick and must not write to the store. Unset: ignored.
  std::function<void(std::string_view kind, const Status& error)>
      on_storage_error;
};

using WriteFn = std::function<Status(WriteTxn&)>;

class Store {
 public:
  // Opens or creates the store at `path`, migrating it to the current
  // schema. Failure: Unavailable (cannot open; schema newer than this code,
  // message says so), InvalidInput (not a caravan database), Corrupt.
  static Result<std::unique_ptr<Store>> Open(const std::string& path,
                                             StoreOptions options = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Queues `fn` (blocking while the queue is full). The future becomes
  // ready after the transaction holding `fn` committed (ok or fn's error)
  // or failed (the commit error). Unavailable after Close().
  std::future<Status> Write(WriteFn fn);
  // Like Write, but a full queue gives a ready RetryLater future at once.
  std::future<Status> TryWrite(WriteFn fn);
  // Callback form for event loops: `done` runs on the writer thread once
  // the outcome is known, so it must be quick (post to your own loop).
  // Blocks while the queue is full; after Close() calls done(Unavailable).
  void Submit(WriteFn fn, std::function<void(Status)> done);

  // Write for functions that produce a value; the Result carries the value
  // only when the transaction committed.
  template <class T>
  std::future<Result<T>> WriteValue(std::function<Result<T>(WriteTxn&)> fn);

  // A new read-only connection for one thread.
  Result<std::unique_ptr<Reader>> OpenReader();

  // Reserves `n` consecutive origin sequence numbers for records this node
  // makes, before the write that stores them (so they can be signed off
  // the writer thread); returns the first. The write must keep them
  // (WriteTxn::KeepOriginSeqs). A number is never handed out twice while
  // the store is open; ones that end up unused are skipped. InvalidInput
  // for n == 0. Any thread.
  Result<uint64_t> ReserveOriginSeqs(uint64_t n);

  // Unix seconds now, by the store's clock (StoreOptions::clock): what
  // WriteTxn::now() of a write starting now would be.
  int64_t Now() const;

  // Runs every queued function, commits, stops the writer. Idempotent.
  void Close();

  const std::string& path() const { return path_; }

  // How many write transactions have committed since the store opened; it
  // grows before any function of a transaction learns that it committed.
  // Equal values: nothing was written in between. Any thread.
  uint64_t writes_committed() const {
    return writes_committed_.load(std::memory_order_acquire);
  }

 private:
  struct LevelCounts {
    int64_t level0 = 0;
    int64_t level1 = 0;
  };
  struct Pending {
    WriteFn fn;
    std::function<void(Status)> done;
  };

  Store(std::string path, StoreOptions options,
        std::unique_ptr<internal::Database> db,
        std::unique_ptr<internal::OriginSeqs> origin_seqs,
        std::unique_ptr<internal::WalCheckpointer> checkpointer,
        LevelCounts levels, std::unique_ptr<internal::IdKeyFilter> id_filter);
  // false when closed, or when full and !block.
  bool Enqueue(Pending& p, bool block);
  void WriterLoop();
  // Runs a prefix of `batch` in one transaction, fulfils it, erases it.
  void RunOneTransaction(std::deque<Pending>& batch);
  // Moves the level-0 keys to level 1 (index_levels.h), and level 1 to
  // level 2 when it has grown to level1_merge_rows, each in a transaction
  // of its own, between two group commits.
  void MergeKeyLevels();
  // One such move; false (reported) when it failed and was rolled back.
  bool MergeKeyLevel(size_t from);
  // Reports `error` to options_.on_storage_error when the connection's
  // last SQLite error is a storage failure. Call right after the failure,
  // before another statement resets the error code.
  void ReportIfStorageError(const Status& error);

  const std::string path_;
  const StoreOptions options_;
  // Declared before db_, so destroyed after it: the writer's connection
  // holds a commit hook into it.
  std::unique_ptr<internal::WalCheckpointer> checkpointer_;
  std::unique_ptr<internal::Database> db_;  // used by the writer thread only
  std::unique_ptr<internal::OriginSeqs> origin_seqs_;
  // Indicator rows with keys at levels 0 and 1, as the writer counts them
  // (read from the file at open). Writer thread only.
  LevelCounts levels_;
  // Every id key of the file (id_key_filter.h). Writer thread only.
  std::unique_ptr<internal::IdKeyFilter> id_filter_;

  std::mutex mu_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<Pending> queue_;  // guarded by mu_
  bool closing_ = false;       // guarded by mu_
  std::atomic<uint64_t> writes_committed_{0};
  std::thread writer_;
};

template <class T>
std::future<Result<T>> Store::WriteValue(
    std::function<Result<T>(WriteTxn&)> fn) {
  auto promise = std::make_shared<std::promise<Result<T>>>();
  auto slot = std::make_shared<std::optional<Result<T>>>();
  std::future<Result<T>> future = promise->get_future();
  Submit(
      [fn = std::move(fn), slot](WriteTxn& txn) -> Status {
        Result<T> r = fn(txn);
        Status s = r.ok() ? Status::Ok() : r.status();
        slot->emplace(std::move(r));
        return s;
      },
      [promise, slot](Status s) {
        if (s.ok() && slot->has_value()) {
          promise->set_value(std::move(**slot));
        } else {
          promise->set_value(Result<T>(s.ok() ? Internal("no value") : s));
        }
      });
  return future;
}

}  // namespace caravan::store
