// Table pending_notices (compromise notices waiting for offline peers,
// docs/federation.md "Compromise"): rows survive reopening, each peer
// reads only its own, oldest first, a notice queued twice for a peer is
// one row, sizes and the row count are bounded (a put past them is
// refused and rolled back), delete and forget remove exactly their rows,
// a row tampered past the CHECKs is never returned, and migration 16
// applies to a store that lacks it.
#include <gtest/gtest.h>

#include "tests/unit/store/schema_rollback.h"
#include "tests/unit/store/store_test_util.h"

namespace caravan::store::testing {
namespace {

PendingNoticeRow Row(std::string peer, uint8_t notice, size_t bytes = 180) {
  PendingNoticeRow row;
  row.peer = std::move(peer);
  row.digest.fill(notice);
  row.notice.assign(bytes, notice);
  return row;
}

Result<bool> Put(Store& store, const PendingNoticeRow& row) {
  return store
      .WriteValue<bool>(
          [row](WriteTxn& txn) { return txn.PendingNoticePut(row); })
      .get();
}

PendingNotices For(Store& store, const std::string& peer) {
  auto reader = ReaderOrDie(store);
  auto rows = reader->PendingNoticesFor(peer);
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  return rows.ok() ? *rows : PendingNotices{};
}

int64_t Count(Store& store) {
  auto reader = ReaderOrDie(store);
  auto n = reader->PendingNoticeCount();
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  return n.ok() ? *n : -1;
}

std::vector<uint8_t> Notices(const PendingNotices& p) {
  std::vector<uint8_t> out;
  for (const auto& r : p.rows) out.push_back(r.digest[0]);
  return out;
}

TEST(PendingNotices, EmptyStoreHasNone) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("s.db"));
  const PendingNotices p = For(*store, "KZ");
  EXPECT_TRUE(p.rows.empty());
  EXPECT_EQ(p.malformed, 0u);
  EXPECT_EQ(Count(*store), 0);
}

TEST(PendingNotices, RowsSurviveReopenPerPeerBytesIntact) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  {
    auto store = OpenOrDie(path);
    ASSERT_TRUE(*Put(*store, Row("KZ", 1)));
    ASSERT_TRUE(*Put(*store, Row("CN", 1)));
    ASSERT_TRUE(*Put(*store, Row("KZ", 2, 512)));
  }
  auto store = OpenOrDie(path);
  const PendingNotices kz = For(*store, "KZ");
  EXPECT_EQ(Notices(kz), (std::vector<uint8_t>{1, 2}));
  for (const auto& r : kz.rows) {
    PendingNoticeRow want = Row("KZ", r.digest[0], r.notice.size());
    want.queued_at = r.queued_at;
    EXPECT_EQ(r, want);
    EXPECT_GT(r.queued_at, 0);
  }
  EXPECT_EQ(kz.rows[1].notice.size(), 512u);
  EXPECT_EQ(Notices(For(*store, "CN")), (std::vector<uint8_t>{1}));
  EXPECT_TRUE(For(*store, "UZ").rows.empty());
  EXPECT_EQ(Count(*store), 3);
}

TEST(PendingNotices, TheSameNoticeQueuedTwiceForAPeerIsOneRow) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("s.db"));
  ASSERT_TRUE(*Put(*store, Row("KZ", 7)));
  auto again = Put(*store, Row("KZ", 7));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(*again);
  EXPECT_EQ(For(*store, "KZ").rows.size(), 1u);
}

TEST(PendingNotices, OutOfBoundsRowsAreRefusedNamingWhatWasWrong) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("s.db"));
  struct Case {
    PendingNoticeRow row;
    std::string says;
  };
  const Case cases[] = {
      {Row("KZ", 1, 0), "0 bytes"},
      {Row("KZ", 1, kMaxPendingNoticeBytes + 1), "513 bytes"},
      {Row("", 1), "peer name of 0 bytes"},
      {Row(std::string(kMaxPendingNoticePeerBytes + 1, 'n'), 1),
       "peer name of 257 bytes"},
  };
  for (const auto& c : cases) {
    auto put = Put(*store, c.row);
    ASSERT_FALSE(put.ok()) << c.says;
    EXPECT_EQ(put.status().code(), StatusCode::kInvalidInput);
    EXPECT_NE(put.status().message().find(c.says), std::string::npos)
        << put.status().message();
  }
  EXPECT_EQ(Count(*store), 0);
}

TEST(PendingNotices, APutPastTheBoundIsRefusedAndRolledBack) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("s.db"));
  Status filled = store
                      ->Write([](WriteTxn& txn) -> Status {
                        PendingNoticeRow row = Row("KZ", 0, 100);
                        for (size_t i = 0; i < kMaxPendingNotices; ++i) {
                          row.digest[0] = static_cast<uint8_t>(i);
                          row.digest[1] = static_cast<uint8_t>(i >> 8);
                          auto put = txn.PendingNoticePut(row);
                          if (!put.ok()) return put.status();
                        }
                        return Status::Ok();
                      })
                      .get();
  ASSERT_TRUE(filled.ok()) << filled.ToString();
  auto full = Put(*store, Row("CN", 9));
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(full.status().message().find("4096"), std::string::npos)
      << full.status().message();
  EXPECT_TRUE(For(*store, "CN").rows.empty());
  EXPECT_EQ(Count(*store), static_cast<int64_t>(kMaxPendingNotices));
  // Queuing one already there adds nothing, so it is not refused.
  PendingNoticeRow there = Row("KZ", 0, 100);
  auto again = Put(*store, there);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(*again);
}

TEST(PendingNotices, DeleteRemovesOnlyThatPeersNotice) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("s.db"));
  ASSERT_TRUE(*Put(*store, Row("KZ", 1)));
  ASSERT_TRUE(*Put(*store, Row("KZ", 2)));
  ASSERT_TRUE(*Put(*store, Row("CN", 1)));
  std::array<uint8_t, 32> one{};
  one.fill(1);
  ASSERT_TRUE(store
                  ->Write([one](WriteTxn& txn) {
                    return txn.PendingNoticeDelete("KZ", one);
                  })
                  .get()
                  .ok());
  EXPECT_EQ(Notices(For(*store, "KZ")), (std::vector<uint8_t>{2}));
  EXPECT_EQ(Notices(For(*store, "CN")), (std::vector<uint8_t>{1}));
  // Deleting what is not there is no error.
  EXPECT_TRUE(store
                  ->Write([one](WriteTxn& txn) {
                    return txn.PendingNoticeDelete("KZ", one);
                  })
                  .get()
                  .ok());
}

TEST(PendingNotices, ForgetRemovesEveryNoticeOfOnePeer) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("s.db"));
  ASSERT_TRUE(*Put(*store, Row("KZ", 1)));
  ASSERT_TRUE(*Put(*store, Row("KZ", 2)));
  ASSERT_TRUE(*Put(*store, Row("CN", 1)));
  auto forgot = store
                    ->WriteValue<uint64_t>([](WriteTxn& txn) {
                      return txn.PendingNoticesForget("KZ");
                    })
                    .get();
  ASSERT_TRUE(forgot.ok()) << forgot.status().ToString();
  EXPECT_EQ(*forgot, 2u);
  EXPECT_TRUE(For(*store, "KZ").rows.empty());
  EXPECT_EQ(Notices(For(*store, "CN")), (std::vector<uint8_t>{1}));
}

TEST(PendingNotices, ACorruptRowIsCountedNeverReturned) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  {
    auto store = OpenOrDie(path);
    ASSERT_TRUE(*Put(*store, Row("KZ", 5)));
  }
  // Tampered with the CHECKs off: a short digest, an empty notice, one
  // over the bound, a text notice, a text time.
  RawExec(path,
          "PRAGMA ignore_check_constraints = 1;"
          "INSERT INTO pending_notices VALUES ('KZ', zeroblob(31), x'01', 0);"
          "INSERT INTO pending_notices VALUES ('KZ', x'" +
              std::string(64, 'a') +
              "', x'', 0);"
              "INSERT INTO pending_notices VALUES ('KZ', x'" +
              std::string(64, 'b') +
              "', zeroblob(513), 0);"
              "INSERT INTO pending_notices VALUES ('KZ', x'" +
              std::string(64, 'c') +
              "', 'text', 0);"
              "INSERT INTO pending_notices VALUES ('KZ', x'" +
              std::string(64, 'd') + "', x'01', 'late');");
  auto store = OpenOrDie(path);
  const PendingNotices kz = For(*store, "KZ");
  EXPECT_EQ(kz.malformed, 5u);
  EXPECT_EQ(Notices(kz), (std::vector<uint8_t>{5}));
}

// Migration 16 on a store without it (its undo is the last step of
// kRollBackToSchema6, which the older migrations' tests run as well).
TEST(PendingNotices, Migration16AppliesToAStoreWithoutIt) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  {
    auto store = OpenOrDie(path);
    ASSERT_TRUE(*Put(*store, Row("KZ", 1)));
  }
  RawExec(path, std::string(kRollBackToSchema19) +
                    "DROP TABLE pending_notices;"
                    "DELETE FROM schema_version WHERE version >= 16;");
  auto store = OpenOrDie(path);
  EXPECT_TRUE(For(*store, "KZ").rows.empty());
  ASSERT_TRUE(*Put(*store, Row("KZ", 1)));
  EXPECT_EQ(Notices(For(*store, "KZ")), (std::vector<uint8_t>{1}));
}

TEST(PendingNotices, RollbackToSchema6ThenReopenRecreatesTheTable) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  { auto store = OpenOrDie(path); }
  RawExec(path, kRollBackToSchema6);
  auto store = OpenOrDie(path);
  EXPECT_EQ(Count(*store), 0);
  ASSERT_TRUE(*Put(*store, Row("CN", 3)));
  EXPECT_EQ(Notices(For(*store, "CN")), (std::vector<uint8_t>{3}));
}

}  // namespace
}  // namespace caravan::store::testing
