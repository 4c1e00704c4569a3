// Promise 4 at the store level: a write whose future was fulfilled ok
// survives kill -9 of the process at any moment. A forked child writes in a
// loop and reports each committed record; the parent kills it with SIGKILL
// after a random number of reports, reopens the file and checks that every
// reported record is there and the database is intact.

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>

#include "tests/unit/store/store_test_util.h"

namespace caravan::store {
namespace {

using protocol::IndicatorType;
using testing::MakeRow;
using testing::OpenOrDie;
using testing::ReaderOrDie;
using testing::TempDir;

struct Report {
  uint64_t n;        // which record (value "k<n>.example")
  uint64_t log_seq;  // the log seq the store gave it
};

// Runs in the child: never returns.
[[noreturn]] void ChildWriteLoop(const std::string& path, int fd,
                                 uint64_t first) {
  Result<std::unique_ptr<Store>> store = Store::Open(path);
  if (!store.ok()) _exit(2);
  for (uint64_t n = first;; n += 8) {
    // Eight concurrent writes per round, so kills land inside group
    // commits, not only between them.
    std::vector<std::future<Result<InsertOutcome>>> fs;
    for (uint64_t k = n; k < n + 8; ++k) {
      RecordRow row = MakeRow(IndicatorType::kDomain,
                              "k" + std::to_string(k) + ".example");
      fs.push_back((*store)->WriteValue<InsertOutcome>([row, k](WriteTxn& t) {
        Result<InsertOutcome> o = t.InsertRecord(row);
        if (!o.ok()) return o;
        Result<uint64_t> a = t.AppendAudit(
            AuditEvent{1, "node", "submit", std::to_string(k), "", "{}"});
        if (!a.ok()) return Result<InsertOutcome>(a.status());
        return o;
      }));
    }
    for (uint64_t k = n; k < n + 8; ++k) {
      Result<InsertOutcome> o = fs[k - n].get();
      if (!o.ok()) _exit(3);
      Report r{k, o->log_seq};
      if (write(fd, &r, sizeof r) != static_cast<ssize_t>(sizeof r)) _exit(4);
    }
  }
}

std::string IntegrityCheck(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return "cannot open";
  std::string result;
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr);
  while (sqlite3_step(st) == SQLITE_ROW) {
    result += reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return result;
}

TEST(StoreDurability, CommittedWritesSurviveKill9) {
  TempDir dir;
  const std::string path = dir.File("store.db");
  OpenOrDie(path).reset();  // create and migrate before any child runs
  std::mt19937 rng(std::random_device{}());
  std::vector<Report> reported;
  uint64_t next_first = 0;
  for (int round = 0; round < 4; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const uint64_t first = next_first;
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      ChildWriteLoop(path, fds[1], first);
    }
    close(fds[1]);
    // Kill after a random number of confirmed writes (and so at a random
    // point of the next group commit).
    const size_t kill_after = std::uniform_int_distribution<size_t>(1, 300)(rng);
    size_t got = 0;
    Report r;
    while (got < kill_after &&
           read(fds[0], &r, sizeof r) == static_cast<ssize_t>(sizeof r)) {
      reported.push_back(r);
      ++got;
    }
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    // Reports already in the pipe were committed too.
    while (read(fds[0], &r, sizeof r) == static_cast<ssize_t>(sizeof r)) {
      reported.push_back(r);
    }
    close(fds[0]);
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wstatus)) << "child exited with "
                                      << WEXITSTATUS(wstatus);
    next_first = first + 100000;

    EXPECT_EQ(IntegrityCheck(path), "ok");
    auto store = OpenOrDie(path);
    auto reader = ReaderOrDie(*store);
    for (const Report& rep : reported) {
      RecordRow row = MakeRow(IndicatorType::kDomain,
                              "k" + std::to_string(rep.n) + ".example");
      Result<std::optional<IndicatorRow>> got_row = reader->Get(row.id);
      ASSERT_TRUE(got_row.ok());
      ASSERT_TRUE(got_row->has_value()) << "lost record k" << rep.n;
      EXPECT_EQ((*got_row)->record_seq, rep.log_seq);
    }
    Result<uint64_t> chain = reader->VerifyAuditChain();
    ASSERT_TRUE(chain.ok()) << chain.status().ToString();
    EXPECT_GE(*chain, reported.size());
  }
}

}  // namespace
}  // namespace caravan::store
