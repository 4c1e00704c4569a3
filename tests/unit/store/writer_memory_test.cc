// The writer's memory at rest (StoreOptions::writer_mmap_bytes and
// idle_release): it maps the database file while it writes and lets the
// mapping go when idle, so file pages it read do not stay in the
// daemon's resident set; with 0 it never maps.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "tests/unit/store/store_test_util.h"

namespace caravan::store {
namespace {

using protocol::IndicatorType;
using testing::Insert;
using testing::MakeRow;
using testing::OpenOrDie;
using testing::TempDir;

// Whether this process maps the file at `path` itself (not its -wal or
// -shm beside it). /proc/self/maps names files by their resolved path.
bool Mapped(const std::string& given) {
  const std::string path = std::filesystem::canonical(given).string();
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.size() > path.size() &&
        line.compare(line.size() - path.size(), path.size(), path) == 0 &&
        line[line.size() - path.size() - 1] == ' ') {
      return true;
    }
  }
  return false;
}

// Rows in the database file, not only in the WAL: a write then reads
// pages from the file, through the mapping when there is one.
void WriteRowsIntoTheFile(Store& store, const std::string& path, int from) {
  for (int i = from; i < from + 50; ++i) {
    ASSERT_TRUE(Insert(store, MakeRow(IndicatorType::kDomain,
                                      "m" + std::to_string(i) + ".example"))
                    .ok());
  }
  // Checkpointed from another connection; it must not be busy, or the
  // write below would read its pages from the WAL and map nothing.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA wal_checkpoint(TRUNCATE)", -1, &st,
                               nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 0) << "checkpoint busy";
  sqlite3_finalize(st);
  sqlite3_close(db);
  ASSERT_TRUE(
      Insert(store, MakeRow(IndicatorType::kDomain,
                            "after" + std::to_string(from) + ".example"))
          .ok());
}

bool UnmappedWithin(const std::string& path, std::chrono::seconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (!Mapped(path)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return !Mapped(path);
}

TEST(WriterMemory, MapsTheFileWhileWritingAndLetsItGoWhenIdle) {
  TempDir dir;
  const std::string path = dir.File("store.db");
  StoreOptions options;
  // Long enough that the check right after a write is never late, short
  // enough for a unit test.
  options.idle_release = std::chrono::seconds(2);
  auto store = OpenOrDie(path, options);
  WriteRowsIntoTheFile(*store, path, 0);
  EXPECT_TRUE(Mapped(path));
  EXPECT_TRUE(UnmappedWithin(path, std::chrono::seconds(20)));
  // The next write maps it again.
  WriteRowsIntoTheFile(*store, path, 100);
  EXPECT_TRUE(Mapped(path));
}

// The same writes as above with the mapping off: the check of the test
// above sees none.
TEST(WriterMemory, ZeroMapsNothing) {
  TempDir dir;
  const std::string path = dir.File("store.db");
  StoreOptions options;
  options.writer_mmap_bytes = 0;
  auto store = OpenOrDie(path, options);
  WriteRowsIntoTheFile(*store, path, 0);
  EXPECT_FALSE(Mapped(path));
}

TEST(WriterMemory, ANegativeMappingIsRefused) {
  TempDir dir;
  StoreOptions options;
  options.writer_mmap_bytes = -1;
  Result<std::unique_ptr<Store>> s = Store::Open(dir.File("s.db"), options);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("writer_mmap_bytes"), std::string::npos)
      << s.status().ToString();
}

}  // namespace
}  // namespace caravan::store
