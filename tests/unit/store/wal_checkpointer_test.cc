#include "daemon/store/wal_checkpointer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "daemon/store/sqlite_db.h"
#include "tests/unit/store/store_test_util.h"

namespace caravan::store::internal {
namespace {

using testing::TempDir;

// One writer connection in WAL mode, as the store opens it.
std::unique_ptr<Database> Writer(const std::string& path) {
  auto db = Database::Open(path, /*read_only=*/false, 5000);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_TRUE((*db)->Exec("PRAGMA journal_mode = WAL").ok());
  EXPECT_TRUE((*db)->Exec("PRAGMA synchronous = NORMAL").ok());
  EXPECT_TRUE((*db)->Exec("PRAGMA journal_size_limit = 67108864").ok());
  EXPECT_TRUE(
      (*db)->Exec("CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v BLOB)")
          .ok());
  return std::move(*db);
}

// Writes about `pages` WAL pages in transactions of 1000 pages' worth.
void WritePages(Database& db, int pages) {
  static int64_t next_key = 0;
  for (int written = 0; written < pages; written += 1000) {
    ASSERT_TRUE(db.Exec("BEGIN").ok());
    for (int i = 0; i < 1000; ++i) {
      ASSERT_TRUE(db.Exec("INSERT INTO t (k, v) VALUES (" +
                          std::to_string(++next_key) +
                          ", randomblob(3900))")
                      .ok());
    }
    ASSERT_TRUE(db.Exec("COMMIT").ok());
  }
}

uint64_t WalBytes(const std::string& path) {
  std::error_code ec;
  auto n = std::filesystem::file_size(path + "-wal", ec);
  return ec ? 0 : n;
}

bool WaitForCheckpoints(const WalCheckpointer& c, uint64_t at_least) {
  for (int i = 0; i < 300 && c.checkpoints() < at_least; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return c.checkpoints() >= at_least;
}

// A checkpointer started on `path` and attached to `writer`.
std::unique_ptr<WalCheckpointer> Attached(const std::string& path,
                                          Database& writer, bool sync_full) {
  auto started = WalCheckpointer::Start(path, sync_full, 5000);
  EXPECT_TRUE(started.ok()) << started.status().ToString();
  if (!started.ok()) return nullptr;
  (*started)->Attach(writer.handle());
  return std::move(*started);
}

// The writer's commits past kCheckpointPages wake the thread, which
// copies the WAL into the database while the writer goes on; once the
// writer pauses, a checkpoint copies every frame and the next write starts
// the WAL over, cut back to journal_size_limit. Every row stays.
TEST(WalCheckpointer, CheckpointsBesideTheWriterAndTheWalStartsOver) {
  TempDir dir;
  const std::string path = dir.File("c.db");
  auto writer = Writer(path);
  auto attached = Attached(path, *writer, /*sync_full=*/false);
  ASSERT_NE(attached, nullptr);
  WalCheckpointer& checkpointer = *attached;

  WritePages(*writer, kCheckpointPages / 2);
  EXPECT_EQ(checkpointer.checkpoints(), 0u);  // below the threshold

  WritePages(*writer, kCheckpointPages + 6000);
  ASSERT_TRUE(WaitForCheckpoints(checkpointer, 1));
  const uint64_t grown = WalBytes(path);
  EXPECT_GT(grown, 64u << 20);
  // The writer pauses between small commits: each asks again while the
  // WAL is long; a checkpoint that ran with no write beside it copied every
  // frame, and the write after it starts the WAL over, cut back to the
  // limit (journal_size_limit).
  const uint64_t limit = (64u << 20) + 1100u * 4096u;
  int small_commits = 0;
  while (WalBytes(path) > limit && small_commits < 10) {
    const uint64_t before = checkpointer.checkpoints();
    WritePages(*writer, 1);
    ++small_commits;
    if (WalBytes(path) <= limit) break;  // this write started it over
    WaitForCheckpoints(checkpointer, before + 1);
    // A checkpoint asked for by an earlier commit may still be running.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_LE(WalBytes(path), limit) << small_commits << " small commits";
  auto rows = writer->QueryInt("SELECT count(*) FROM t");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(*rows, 1000 * (kCheckpointPages / 2000 + kCheckpointPages / 1000 +
                           6 + small_commits));
  checkpointer.Stop();
  checkpointer.Stop();  // idempotent
}

// Stopped (or never woken), it leaves nothing behind: the writer's
// connection, closing last, checkpoints what is left and removes the WAL.
TEST(WalCheckpointer, StoppedFirstTheWriterClosesCleanly) {
  TempDir dir;
  const std::string path = dir.File("c.db");
  auto writer = Writer(path);
  {
    auto checkpointer = Attached(path, *writer, /*sync_full=*/true);
    ASSERT_NE(checkpointer, nullptr);
    WritePages(*writer, 2000);
    checkpointer->Stop();
    sqlite3_wal_hook(writer->handle(), nullptr, nullptr);  // before it goes
  }
  WritePages(*writer, 1000);
  writer.reset();
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
  auto reopened = Database::Open(path, /*read_only=*/true, 5000);
  ASSERT_TRUE(reopened.ok());
  auto rows = (*reopened)->QueryInt("SELECT count(*) FROM t");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(*rows, 3000);
}

// A path it cannot open is an error, not a thread.
TEST(WalCheckpointer, AnUnopenableDatabaseIsRefused) {
  TempDir dir;
  auto started =
      WalCheckpointer::Start(dir.File("missing/dir/c.db"), false, 5000);
  EXPECT_FALSE(started.ok());
}

}  // namespace
}  // namespace caravan::store::internal
