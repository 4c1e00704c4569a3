#pragma once
// Private to daemon/store: WAL checkpoints on a thread of their own, so the
// writer never stalls on one (issue 17, "WAL checkpoints that do not stall
// the writer").
//
// SQLite's automatic checkpoint runs inside the COMMIT that crosses the
// threshold, on the committing connection: the writer thread copied every
// page of the WAL into the database and synced it before it could start
// the next transaction (a fifth of a 1M-store bulk submit's writer time).
// Here the writer's commit hook only says how long the WAL is; at
// kCheckpointPages or more this thread runs a PASSIVE checkpoint on its
// own connection while the writer goes on (WAL mode lets a checkpoint run
// beside a writer). SQLite starts the WAL over at the first write after a
// checkpoint that copied every frame, which a checkpoint racing a busy
// writer rarely does: during a long bulk write the WAL grows until it
// reaches kInlineCheckpointPages, where the writer checkpoints inline as
// SQLite would have (and then starts it over); after any pause the
// thread's checkpoint completes and the next write starts it over.
// Measured at 1M stored (50k new indicators per `caravan submit`): 14.4k
// records/s with SQLite's checkpoint at 10000 pages, 19.3k at 40000
// pages, 22.3k with this thread.
//
// Thread-safety: Attach and OnCommit on the writer thread; Stop from the
// owner, before the writer's connection closes.

#include <sqlite3.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "daemon/store/sqlite_db.h"

namespace caravan::store::internal {

// SQLite's 1000 pages would checkpoint after every commit of a bulk write;
// 10000 (about 40 MiB of WAL) lets a page that several commits change be
// copied once (the writer's setting before this class).
inline constexpr int kCheckpointPages = 10000;
inline constexpr int kInlineCheckpointPages = 8 * kCheckpointPages;

class WalCheckpointer {
 public:
  // Opens its own connection to `path` (WAL mode already set by the
  // writer) with the writer's `synchronous` (a checkpoint syncs the
  // database file as that setting says) and starts the thread.
  static Result<std::unique_ptr<WalCheckpointer>> Start(
      const std::string& path, bool sync_full, int busy_timeout_ms);
  ~WalCheckpointer();  // Stop()
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Replaces SQLite's automatic checkpoint on the writer's connection.
  void Attach(sqlite3* writer);
  // Ends the thread (a checkpoint in progress finishes) and closes its
  // connection. Idempotent.
  void Stop();
  // Checkpoints run by the thread (tests).
  uint64_t checkpoints() const;

 private:
  explicit WalCheckpointer(std::unique_ptr<Database> db);
  static int OnCommit(void* self, sqlite3* writer, const char* schema,
                      int wal_pages);
  void Loop();

  std::unique_ptr<Database> db_;  // used by the thread only
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool due_ = false;       // by mu_
  bool stopping_ = false;  // by mu_
  uint64_t checkpoints_ = 0;  // by mu_
  std::thread thread_;
};

}  // namespace caravan::store::internal
