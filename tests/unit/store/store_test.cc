// Store: opening and migrations, record insertion and the current view,
// group commit, and the sync/roster/quota tables.

#include <sqlite3.h>

#include <latch>
#include <thread>

#include "daemon/store/schema.h"
#include "tests/unit/store/schema_rollback.h"
#include "tests/unit/store/signed_rows_util.h"
#include "tests/unit/store/store_test_util.h"

namespace caravan::store {
namespace {

using protocol::IndicatorType;
using testing::Count;
using testing::FakeClock;
using testing::Insert;
using testing::MakeRow;
using testing::OpenOrDie;
using testing::RawExec;
using testing::ReaderOrDie;
using testing::TempDir;

TEST(StoreOpen, FreshDatabaseIsMigratedAndReopens) {
  TempDir dir;
  const std::string path = dir.File("store.db");
  {
    auto store = OpenOrDie(path);
    ASSERT_TRUE(Insert(*store, MakeRow(IndicatorType::kDomain, "evil.example"))
                    .ok());
  }
  auto store = OpenOrDie(path);  // second open: nothing to migrate
  auto reader = ReaderOrDie(*store);
  Result<Counts> counts = reader->GetCounts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->indicators, 1u);
  EXPECT_EQ(counts->records, 1u);
  EXPECT_EQ(counts->by_origin_country.at("UZ"), 1u);
}

TEST(StoreOpen, RefusesSchemaNewerThanCode) {
  TempDir dir;
  const std::string path = dir.File("store.db");
  OpenOrDie(path).reset();
  // One past the newest migration this code knows (migrations get added).
  const std::string newer = std::to_string(internal::kSchemaVersion + 1);
  RawExec(path, "INSERT INTO schema_version VALUES (" + newer + ", 0)");
  Result<std::unique_ptr<Store>> s = Store::Open(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(s.status().message().find("schema version " + newer),
            std::string::npos)
      << s.status().message();
  Result<std::unique_ptr<Reader>> r = Reader::Open(path, 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("schema version " + newer),
            std::string::npos);
}

TEST(StoreOpen, RefusesForeignDatabase) {
  TempDir dir;
  const std::string path = dir.File("other.db");
  RawExec(path, "CREATE TABLE t (x)");
  Result<std::unique_ptr<Store>> s = Store::Open(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(s.status().message().find("not a caravan store"),
            std::string::npos);
}

TEST(StoreOpen, MissingDirectoryIsUnavailable) {
  Result<std::unique_ptr<Store>> s =
      Store::Open("/nonexistent-caravan-dir/store.db");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kUnavailable);
}

TEST(StoreInsert, SameRecordTwiceIsStoredAndLoggedOnce) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("store.db"));
  RecordRow row = MakeRow(IndicatorType::kIpv4, "1.2.3.4");
  Result<InsertOutcome> first = Insert(*store, row);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->kind, InsertOutcome::kInserted);
  EXPECT_TRUE(first->became_current);
  EXPECT_EQ(first->log_seq, 1u);

  row.received_from = "KZ-CERT";  // the same record relayed back to us
  Result<InsertOutcome> second = Insert(*store, row);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->kind, InsertOutcome::kDuplicate);
  EXPECT_FALSE(second->became_current);
  EXPECT_EQ(second->log_seq, 1u);

  auto reader = ReaderOrDie(*store);
  Result<std::vector<StoredRecord>> log = reader->LogRange(0, 100);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 1u);
  EXPECT_FALSE((*log)[0].received_from.has_value());  // first copy kept
  EXPECT_EQ((*log)[0].signed_bytes, row.signed_bytes);
}

// Calls inside InOneSnapshot see the store as it was when it began, a
// public call with its own read transaction included; after it, the
// reader sees what was written meanwhile.
TEST(StoreRead, InOneSnapshotSeesOneStateUntilItEnds) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("store.db"));
  RecordRow first = MakeRow(IndicatorType::kDomain, "first.example", 1);
  RecordRow later = MakeRow(IndicatorType::kDomain, "later.example", 1);
  ASSERT_TRUE(Insert(*store, first).ok());
  auto reader = ReaderOrDie(*store);

  Result<bool> inside = reader->InOneSnapshot([&]() -> Result<bool> {
    auto before = reader->Get(later.id);
    if (!before.ok()) return before.status();
    if (before->has_value()) return false;
    auto stored = Insert(*store, later);  // committed meanwhile
    if (!stored.ok()) return stored.status();
    auto after = reader->Get(later.id);
    auto held = reader->Get(first.id);
    auto log = reader->LogRange(0, 100);  // its own read transaction nests
    return after.ok() && !after->has_value() && held.ok() &&
           held->has_value() && log.ok() && log->size() == 1;
  });
  ASSERT_TRUE(inside.ok()) << inside.status().message();
  EXPECT_TRUE(*inside);

  // It does not nest, and the connection is left outside it either way.
  Result<bool> nested = reader->InOneSnapshot([&]() -> Result<bool> {
    return reader->InOneSnapshot([]() -> Result<bool> { return true; });
  });
  EXPECT_EQ(nested.status().code(), StatusCode::kInternal);

  auto now = reader->Get(later.id);
  ASSERT_TRUE(now.ok()) << now.status().message();
  EXPECT_TRUE(now->has_value());
  auto log = reader->LogRange(0, 100);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->size(), 2u);
}

TEST(StoreInsert, NewerRevisionSupersedesOlderDoesNot) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("store.db"));
  RecordRow r2 = MakeRow(IndicatorType::kDomain, "evil.example", 2);
  r2.body.indicator.tags = {"c2", "apt"};
  RecordRow r1 = MakeRow(IndicatorType::kDomain, "evil.example", 1);
  RecordRow r3 = MakeRow(IndicatorType::kDomain, "evil.example", 3);
  r3.body.indicator.revoked = true;
  r3.body.indicator.revoke_reason = "false positive";
  r3.body.indicator.tags = {"fp"};

  Result<InsertOutcome> o2 = Insert(*store, r2);
  ASSERT_TRUE(o2.ok());
  EXPECT_TRUE(o2->became_current);
  Result<InsertOutcome> o1 = Insert(*store, r1);  // late, older
  ASSERT_TRUE(o1.ok());
  EXPECT_EQ(o1->kind, InsertOutcome::kInserted);
  EXPECT_FALSE(o1->became_current);

  auto reader = ReaderOrDie(*store);
  Result<std::optional<IndicatorRow>> cur = reader->Get(r2.id);
  ASSERT_TRUE(cur.ok() && cur->has_value());
  EXPECT_EQ((*cur)->revision, 2u);
  EXPECT_EQ((*cur)->indicator.tags, (std::vector<std::string>{"apt", "c2"}));
  const uint64_t cursor = (*cur)->cursor;

  Result<InsertOutcome> o3 = Insert(*store, r3);
  ASSERT_TRUE(o3.ok());
  EXPECT_TRUE(o3->became_current);
  cur = reader->Get(r2.id);
  ASSERT_TRUE(cur.ok() && cur->has_value());
  EXPECT_EQ((*cur)->revision, 3u);
  EXPECT_TRUE((*cur)->indicator.revoked);
  EXPECT_EQ((*cur)->indicator.revoke_reason, "false positive");
  EXPECT_EQ((*cur)->indicator.tags, (std::vector<std::string>{"fp"}));
  EXPECT_EQ((*cur)->cursor, cursor);  // same row, new content
  EXPECT_EQ((*cur)->record_seq, o3->log_seq);

  Result<std::vector<StoredRecord>> revs = reader->GetRevisions(r2.id);
  ASSERT_TRUE(revs.ok());
  ASSERT_EQ(revs->size(), 3u);
  EXPECT_EQ((*revs)[0].revision, 1u);
  EXPECT_EQ((*revs)[2].revision, 3u);
  Result<std::vector<uint8_t>> bytes = reader->GetRecordBytes(r2.id, 1, 0);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, r1.signed_bytes);
  EXPECT_EQ(reader->GetRecordBytes(r2.id, 9, 0).status().code(),
            StatusCode::kNotFound);

  // Current() inside a transaction sees the latest revision.
  Result<std::optional<CurrentInfo>> info =
      store
          ->WriteValue<std::optional<CurrentInfo>>(
              [&](WriteTxn& txn) { return txn.Current(r2.id); })
          .get();
  ASSERT_TRUE(info.ok() && info->has_value());
  EXPECT_EQ((*info)->revision, 3u);
  EXPECT_TRUE((*info)->revoked);
}

TEST(StoreInsert, FullVariantReplacesRedactedOfSameRevision) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("store.db"));
  RecordRow redacted = MakeRow(IndicatorType::kUrl, "http://x.example/a");
  redacted.body.variant = 5;
  RecordRow full = MakeRow(IndicatorType::kUrl, "http://x.example/a");
  full.body.indicator.description = "full text";
  RecordRow other = redacted;
  other.body.variant = 7;

  EXPECT_TRUE(Insert(*store, redacted)->became_current);
  EXPECT_TRUE(Insert(*store, full)->became_current);
  Result<InsertOutcome> o = Insert(*store, other);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->kind, InsertOutcome::kInserted);
  EXPECT_FALSE(o->became_current);
  auto reader = ReaderOrDie(*store);
  auto cur = reader->Get(full.id);
  ASSERT_TRUE(cur.ok() && cur->has_value());
  EXPECT_EQ((*cur)->variant, 0u);
  EXPECT_EQ((*cur)->indicator.description, "full text");
}

// The log marks what is not current (the sender skips it: only current
// revisions leave): an older revision that arrives late, the revision a
// newer one replaced, a redacted variant the full one replaced.
TEST(StoreInsert, TheLogMarksEveryRecordThatIsNotCurrent) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("store.db"));
  RecordRow r2 = MakeRow(IndicatorType::kDomain, "evil.example", 2);
  RecordRow r1 = MakeRow(IndicatorType::kDomain, "evil.example", 1);
  RecordRow r3 = MakeRow(IndicatorType::kDomain, "evil.example", 3);
  RecordRow redacted = MakeRow(IndicatorType::kDomain, "other.example", 1);
  redacted.body.variant = 5;
  RecordRow full = MakeRow(IndicatorType::kDomain, "other.example", 1);
  for (const RecordRow* r : {&r2, &r1, &redacted, &full}) {
    ASSERT_TRUE(Insert(*store, *r).ok());
  }
  auto reader = ReaderOrDie(*store);
  auto superseded = [&] {
    std::vector<bool> out;
    Result<std::vector<StoredRecord>> log = reader->LogRange(0, 100);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    if (!log.ok()) return out;
    for (const auto& e : log.value()) out.push_back(e.superseded);
    return out;
  };
  EXPECT_EQ(superseded(), (std::vector<bool>{false, true, true, false}));
  ASSERT_TRUE(Insert(*store, r3).ok());
  EXPECT_EQ(superseded(), (std::vector<bool>{true, true, true, false, false}));
}

// Migration 5 marks what an older store holds.
TEST(StoreOpen, Migration5MarksSupersededRecordsOfAnOlderStore) {
  TempDir dir;
  const std::string path = dir.File("store.db");
  {
    auto store = OpenOrDie(path);
    ASSERT_TRUE(Insert(*store, MakeRow(IndicatorType::kDomain, "a.example", 1)).ok());
    ASSERT_TRUE(Insert(*store, MakeRow(IndicatorType::kDomain, "a.example", 2)).ok());
    ASSERT_TRUE(Insert(*store, MakeRow(IndicatorType::kDomain, "b.example", 1)).ok());
  }
  RawExec(path, caravan::store::testing::kRollBackToSchema6);
  RawExec(path,
          "DROP TABLE unacked_pages;"
          "DELETE FROM schema_version WHERE version = 6;"
          "ALTER TABLE records DROP COLUMN superseded;"
          "DELETE FROM schema_version WHERE version = 5;");
  auto store = OpenOrDie(path);
  auto reader = ReaderOrDie(*store);
  auto log = reader->LogRange(0, 100);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 3u);
  EXPECT_TRUE((*log)[0].superseded);
  EXPECT_FALSE((*log)[1].superseded);
  EXPECT_FALSE((*log)[2].superseded);
}

TEST(StoreInsert, RejectsContradictoryAndInvalidRecords) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("store.db"));
  RecordRow good = MakeRow(IndicatorType::kDomain, "a.example");
  ASSERT_TRUE(Insert(*store, good).ok());

  RecordRow liar = MakeRow(IndicatorType::kDomain, "b.example", 2);
  liar.id = good.id;  // same id, other value
  Result<InsertOutcome> o = Insert(*store, liar);
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), StatusCode::kInvalidInput);

  RecordRow empty = MakeRow(IndicatorType::kDomain, "c.example");
  empty.signed_bytes.clear();
  EXPECT_EQ(Insert(*store, empty).status().code(), StatusCode::kInvalidInput);

  RecordRow huge = MakeRow(IndicatorType::kDomain, "d.example");
  huge.signed_bytes.assign(kMaxSignedRecordBytes + 1, 7);
  EXPECT_EQ(Insert(*store, huge).status().code(), StatusCode::kInvalidInput);

  RecordRow bad_ip = MakeRow(IndicatorType::kIpv4, "1.2.3.400");
  Result<InsertOutcome> b = Insert(*store, bad_ip);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("1.2.3.400"), std::string::npos);

  RecordRow v6_as_v4 = MakeRow(IndicatorType::kIpv4, "2001:db8::1");
  EXPECT_EQ(Insert(*store, v6_as_v4).status().code(),
            StatusCode::kInvalidInput);

  RecordRow too_many_tags = MakeRow(IndicatorType::kDomain, "e.example");
  too_many_tags.body.indicator.tags.assign(protocol::kMaxTags + 1, "t");
  EXPECT_EQ(Insert(*store, too_many_tags).status().code(),
            StatusCode::kInvalidInput);

  auto reader = ReaderOrDie(*store);
  Result<Counts> c = reader->GetCounts();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->records, 1u);  // none of the rejected ones left a trace
  EXPECT_EQ(c->last_log_seq, 1u);
  // A duplicate adds no log entry: the last log seq (what peer backlogs
  // count to) stays at the last held entry, read alone or with the counts.
  RecordRow first = MakeRow(IndicatorType::kDomain, "dup.example");
  ASSERT_TRUE(Insert(*store, first).ok());
  ASSERT_TRUE(Insert(*store, first).ok());
  auto last = reader->LastLogSeq();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, 2u);
  EXPECT_EQ(reader->GetCounts()->last_log_seq, 2u);
}

// writes_committed() tells a reader whether anything was written since
// it last looked (status counts are kept until it moves).
TEST(StoreWrite, WritesCommittedCountsOnlyCommittedTransactions) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("store.db"));
  const uint64_t at_open = store->writes_committed();
  ASSERT_TRUE(
      Insert(*store, MakeRow(IndicatorType::kDomain, "a.example")).ok());
  EXPECT_EQ(store->writes_committed(), at_open + 1);
  Status failed =
      store->Write([](WriteTxn&) { return InvalidInput("caller gave up"); })
          .get();
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(store->writes_committed(), at_open + 1);
  // Known to the writer before the caller learns its write committed.
  uint64_t seen_by_done = 0;
  std::promise<void> done;
  store->Submit([](WriteTxn&) { return Status::Ok(); },
                [&](Status s) {
                  EXPECT_TRUE(s.ok());
                  seen_by_done = store->writes_committed();
                  done.set_value();
                });
  done.get_future().wait();
  EXPECT_EQ(seen_by_done, at_open + 2);
}

TEST(StoreWrite, OriginSeqIncrementsAndIsNeverHandedOutTwice) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("store.db"));
  auto next = [&] {
    return store
        ->WriteValue<uint64_t>([](WriteTxn& txn) { return txn.NextOriginSeq(); })
        .get();
  };
  EXPECT_EQ(*next(), 1u);
  EXPECT_EQ(*next(), 2u);
  Status failed = store
                      ->Write([](WriteTxn& txn) {
                        EXPECT_EQ(*txn.NextOriginSeq(), 3u);
                        return InvalidInput("caller gave up");
                      })
                      .get();
  EXPECT_EQ(failed.code(), StatusCode::kInvalidInput);
  // The failed function's number is skipped: a caller may have signed a
  // record with it before the write failed.
  EXPECT_EQ(*next(), 4u);
}

// Numbers reserved before a write (to sign off the writer thread) come
// from the same sequence; the write keeps the highest it used, and a store
// reopened goes on after the highest kept.
TEST(StoreWrite, OriginSeqsReservedBeforeTheWriteAreKeptByIt) {
  TempDir dir;
  const std::string path = dir.File("store.db");
  {
    auto store = OpenOrDie(path);
    EXPECT_EQ(*store->ReserveOriginSeqs(10), 1u);
    EXPECT_EQ(*store
                   ->WriteValue<uint64_t>(
                       [](WriteTxn& txn) { return txn.NextOriginSeq(); })
                   .get(),
              11u);
    EXPECT_EQ(*store->ReserveOriginSeqs(5), 12u);
    EXPECT_TRUE(
        store->Write([](WriteTxn& txn) { return txn.KeepOriginSeqs(16); })
            .get()
            .ok());
    // Kept out of order: the highest stays.
    EXPECT_TRUE(
        store->Write([](WriteTxn& txn) { return txn.KeepOriginSeqs(10); })
            .get()
            .ok());
    // Reserved and never kept (the write did not happen).
    EXPECT_EQ(*store->ReserveOriginSeqs(100), 17u);
    EXPECT_EQ(store->ReserveOriginSeqs(0).status().code(),
              StatusCode::kInvalidInput);
  }
  auto reopened = OpenOrDie(path);
  EXPECT_EQ(*reopened->ReserveOriginSeqs(1), 17u);
}

TEST(StoreWrite, ReserveOriginSeqsTakesOneBlock) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("store.db"));
  auto run = [&](auto fn) { return store->WriteValue<uint64_t>(fn).get(); };
  EXPECT_EQ(*run([](WriteTxn& t) { return t.NextOriginSeq(); }), 1u);
  EXPECT_EQ(*run([](WriteTxn& t) { return t.ReserveOriginSeqs(5); }), 2u);
  EXPECT_EQ(*run([](WriteTxn& t) { return t.NextOriginSeq(); }), 7u);
  Result<uint64_t> none = run([](WriteTxn& t) { return t.ReserveOriginSeqs(0); });
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(*run([](WriteTxn& t) { return t.NextOriginSeq(); }), 8u);
}

// A record planned as new outside the write (the submitter's early plan)
// whose id another write stored meanwhile: InsertIfStillNew says so and
// writes nothing; InsertRecord told "new" for a held id is a bug, not a
// silent overwrite.
TEST(StoreWrite, InsertIfStillNewFindsAnIdStoredMeanwhile) {
  TempDir dir;
  const std::string path = dir.File("store.db");
  auto store = OpenOrDie(path);
  RecordRow first = MakeRow(IndicatorType::kDomain, "meanwhile.example");
  ASSERT_TRUE(Insert(*store, first).ok());
  RecordRow second = first;
  second.body.revision = 2;
  second.body.indicator.tags = {"later"};
  second.signed_bytes = {1, 2, 3};
  auto taken = store
                   ->WriteValue<bool>([&](WriteTxn& txn) -> Result<bool> {
                     auto o = txn.InsertIfStillNew(second);
                     if (!o.ok()) return o.status();
                     return o->has_value();
                   })
                   .get();
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  EXPECT_FALSE(*taken);
  Status told_new =
      store
          ->Write([&](WriteTxn& txn) {
            return txn.InsertRecord(second, std::nullopt).status();
          })
          .get();
  EXPECT_EQ(told_new.code(), StatusCode::kInternal);
  auto reader = ReaderOrDie(*store);
  EXPECT_EQ(reader->GetCounts()->records, 1u);
  EXPECT_EQ((*reader->Get(first.id))->revision, 1u);
  RecordRow fresh = MakeRow(IndicatorType::kDomain, "fresh.example");
  auto stored = store
                    ->WriteValue<bool>([&](WriteTxn& txn) -> Result<bool> {
                      auto o = txn.InsertIfStillNew(fresh);
                      if (!o.ok()) return o.status();
                      return o->has_value() && (*o)->became_current;
                    })
                    .get();
  EXPECT_TRUE(stored.ok() && *stored);
}

TEST(StoreWrite, LoneFunctionFailingAfterWritesLeavesNothing) {
  // Alone in its transaction a function runs without a savepoint: the
  // transaction's rollback must undo what it wrote.
  TempDir dir;
  auto store = OpenOrDie(dir.File("store.db"));
  RecordRow row = MakeRow(IndicatorType::kDomain, "lone.example");
  Status failed = store
                      ->Write([&](WriteTxn& txn) -> Status {
                        auto o = txn.InsertRecord(row);
                        if (!o.ok()) return o.status();
                        auto a = txn.AppendAudit(
                            {1, "uid:0", "submit", "lone", "", "{}"});
                        if (!a.ok()) return a.status();
                        return Denied("changed my mind");
                      })
                      .get();
  EXPECT_EQ(failed.code(), StatusCode::kDenied);
  auto reader = ReaderOrDie(*store);
  Result<std::optional<IndicatorRow>> got = reader->Get(row.id);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  Result<uint64_t> chain = reader->VerifyAuditChain();
  ASSERT_TRUE(chain.ok()) << chain.status().ToString();
  EXPECT_EQ(*chain, 0u);
  EXPECT_TRUE(store->Write([&](WriteTxn& txn) {
                     return txn.InsertRecord(row).status();
                   }).get().ok());
}

TEST(StoreWrite, GroupCommitIsolatesFailingFunctions) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("store.db"));
  constexpr int kThreads = 4;
  constexpr int kPerThread = 150;
  std::vector<std::vector<std::future<Status>>> futures(kThreads);
  std::vector<std::thread> threads;
  std::latch go(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      go.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        RecordRow row = MakeRow(IndicatorType::kDomain,
                                "t" + std::to_string(t) + "-" +
                                    std::to_string(i) + ".example");
        const bool fail = i % 10 == 3;
        futures[t].push_back(store->Write([row, fail](WriteTxn& txn) {
          Result<InsertOutcome> o = txn.InsertRecord(row);
          if (!o.ok()) return o.status();
          // Fails after writing: its savepoint must undo the insert.
          if (fail) return Denied("rejected on purpose");
          return Status::Ok();
        }));
      }
    });
  }
  for (auto& th : threads) th.join();
  auto reader = ReaderOrDie(*store);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      Status s = futures[t][i].get();
      const bool fail = i % 10 == 3;
      EXPECT_EQ(s.code(), fail ? StatusCode::kDenied : StatusCode::kOk)
          << t << "/" << i << ": " << s.ToString();
      RecordRow row = MakeRow(IndicatorType::kDomain,
                              "t" + std::to_string(t) + "-" +
                                  std::to_string(i) + ".example");
      Result<std::optional<IndicatorRow>> got = reader->Get(row.id);
      ASSERT_TRUE(got.ok());
      EXPECT_EQ(got->has_value(), !fail) << t << "/" << i;
    }
  }
  Result<Counts> c = reader->GetCounts();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->records, static_cast<uint64_t>(kThreads * kPerThread * 9 / 10));
}

TEST(StoreWrite, ThrowingFunctionGetsInternalAndOthersCommit) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("store.db"));
  RecordRow row = MakeRow(IndicatorType::kSha256, std::string(64, 'a'));
  auto bad = store->Write([](WriteTxn&) -> Status {
    throw std::runtime_error("boom");
  });
  auto good = store->Write(
      [row](WriteTxn& txn) { return txn.InsertRecord(row).status(); });
  EXPECT_EQ(bad.get().code(), StatusCode::kInternal);
  EXPECT_TRUE(good.get().ok());
}

TEST(StoreWrite, FullQueueGivesRetryLaterToTryWrite) {
  TempDir dir;
  StoreOptions options;
  options.max_queue = 1;
  auto store = OpenOrDie(dir.File("store.db"), options);
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> release_f = release.get_future().share();
  auto blocker = store->Write([&](WriteTxn&) {
    started.set_value();
    release_f.wait();  // holds the writer thread
    return Status::Ok();
  });
  started.get_future().wait();  // the writer has taken it off the queue
  auto queued = store->TryWrite([](WriteTxn&) { return Status::Ok(); });
  auto refused = store->TryWrite([](WriteTxn&) { return Status::Ok(); });
  ASSERT_EQ(refused.wait_for(std::chrono::seconds(0)),
            std::future_status::ready);
  EXPECT_EQ(refused.get().code(), StatusCode::kRetryLater);
  release.set_value();
  EXPECT_TRUE(blocker.get().ok());
  EXPECT_TRUE(queued.get().ok());
}

TEST(StoreWrite, CloseDrainsQueueThenRefuses) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("store.db"));
  std::vector<std::future<Status>> fs;
  for (int i = 0; i < 200; ++i) {
    RecordRow row =
        MakeRow(IndicatorType::kDomain, "d" + std::to_string(i) + ".example");
    fs.push_back(store->Write(
        [row](WriteTxn& txn) { return txn.InsertRecord(row).status(); }));
  }
  store->Close();
  for (auto& f : fs) {
    ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);
    EXPECT_TRUE(f.get().ok());
  }
  EXPECT_EQ(store->Write([](WriteTxn&) { return Status::Ok(); }).get().code(),
            StatusCode::kUnavailable);
  auto reader = ReaderOrDie(*store);
  EXPECT_EQ(reader->GetCounts()->records, 200u);
}

TEST(StoreRoster, AddListRemove) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("store.db"));
  RosterMember kz{"KZ-CERT", "KZ", testing::KeyOf(9), "kz.example:7443"};
  auto write = [&](WriteFn fn) { return store->Write(std::move(fn)).get(); };
  EXPECT_TRUE(write([&](WriteTxn& t) { return t.AddRosterMember(kz); }).ok());
  RosterMember same_name = kz;
  same_name.identity_key = testing::KeyOf(10);
  Status s = write([&](WriteTxn& t) { return t.AddRosterMember(same_name); });
  EXPECT_EQ(s.code(), StatusCode::kInvalidInput);
  EXPECT_NE(s.message().find("named 'KZ-CERT'"), std::string::npos);
  RosterMember same_key = kz;
  same_key.name = "OTHER";
  s = write([&](WriteTxn& t) { return t.AddRosterMember(same_key); });
  EXPECT_NE(s.message().find("already in the roster as 'KZ-CERT'"),
            std::string::npos);
  RosterMember bad_country = same_key;
  bad_country.identity_key = testing::KeyOf(11);
  bad_country.country = "kz";
  EXPECT_EQ(
      write([&](WriteTxn& t) { return t.AddRosterMember(bad_country); }).code(),
      StatusCode::kInvalidInput);

  auto reader = ReaderOrDie(*store);
  Result<std::vector<RosterMember>> list = reader->Roster();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].endpoint, "kz.example:7443");
  auto by_key = reader->RosterByKey(testing::KeyOf(9));
  ASSERT_TRUE(by_key.ok() && by_key->has_value());
  EXPECT_EQ((*by_key)->name, "KZ-CERT");

  EXPECT_TRUE(
      write([](WriteTxn& t) { return t.RemoveRosterMember("KZ-CERT"); }).ok());
  EXPECT_EQ(
      write([](WriteTxn& t) { return t.RemoveRosterMember("KZ-CERT"); }).code(),
      StatusCode::kNotFound);
  EXPECT_TRUE(reader->Roster()->empty());
}

TEST(StorePeerState, CursorsOnlyMoveForward) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("store.db"));
  ASSERT_TRUE(store
                  ->Write([](WriteTxn& t) {
                    CARAVAN_RETURN_IF_ERROR(t.AdvanceDecided("KZ-CERT", 10));
                    CARAVAN_RETURN_IF_ERROR(t.AdvanceDecided("KZ-CERT", 4));
                    CARAVAN_RETURN_IF_ERROR(t.AdvanceAcked("KZ-CERT", 7));
                    CARAVAN_RETURN_IF_ERROR(t.AdvanceInbound("KZ-CERT", 99));
                    CARAVAN_RETURN_IF_ERROR(
                        t.RecordContact("KZ-CERT", 1000, 100, 50));
                    CARAVAN_RETURN_IF_ERROR(
                        t.RecordContact("KZ-CERT", 1001, 1, 2));
                    return t.SetLinkState("KZ-CERT", "up");
                  })
                  .get()
                  .ok());
  EXPECT_EQ(store->Write([](WriteTxn& t) { return t.AdvanceAcked("", 1); })
                .get()
                .code(),
            StatusCode::kInvalidInput);
  EXPECT_EQ(store
                ->Write([](WriteTxn& t) {
                  return t.AdvanceInbound("KZ-CERT", ~uint64_t{0});
                })
                .get()
                .code(),
            StatusCode::kInvalidInput);
  auto reader = ReaderOrDie(*store);
  Result<PeerState> p = reader->GetPeerState("KZ-CERT");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->decided_seq, 10u);
  EXPECT_EQ(p->acked_seq, 7u);
  EXPECT_EQ(p->inbound_seq, 99u);
  EXPECT_EQ(p->last_contact, 1001);
  EXPECT_EQ(p->bytes_sent, 101u);
  EXPECT_EQ(p->bytes_received, 52u);
  EXPECT_EQ(p->link_state, "up");
  Result<PeerState> unknown = reader->GetPeerState("NOBODY");
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->acked_seq, 0u);
  EXPECT_EQ(reader->PeerStates()->size(), 1u);
}

TEST(StoreDeliveries, KeepHighestRevisionPerPeer) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("store.db"));
  const RecordRow row = MakeRow(IndicatorType::kDomain, "x.example");
  ASSERT_TRUE(Insert(*store, row).ok());
  const IndicatorId id = row.id;
  auto deliver = [&](std::string peer, uint32_t rev) {
    return store
        ->Write([=](WriteTxn& t) {
          return t.RecordDelivery(Delivery{id, peer, rev, 0, 100 + rev});
        })
        .get();
  };
  EXPECT_TRUE(deliver("KZ-CERT", 1).ok());
  EXPECT_TRUE(deliver("KZ-CERT", 2).ok());
  EXPECT_TRUE(deliver("KZ-CERT", 1).ok());  // late report of an old send
  EXPECT_TRUE(deliver("TJ-CERT", 1).ok());
  auto reader = ReaderOrDie(*store);
  Result<std::vector<Delivery>> d = reader->Deliveries(id);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->size(), 2u);
  EXPECT_EQ((*d)[0].peer, "KZ-CERT");
  EXPECT_EQ((*d)[0].revision, 2u);
  EXPECT_EQ((*d)[1].peer, "TJ-CERT");
  EXPECT_EQ((*d)[1].revision, 1u);
}

// Deliveries are kept by the indicator's row (schema.md): one of an id the
// store does not hold has no row to name and is not kept; deleting an
// indicator takes its deliveries, and an id stored again later starts
// with none.
TEST(StoreDeliveries, OnlyHeldIndicatorsKeepDeliveries) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("store.db"));
  const RecordRow held = MakeRow(IndicatorType::kDomain, "held.example");
  const RecordRow never = MakeRow(IndicatorType::kDomain, "never.example");
  ASSERT_TRUE(Insert(*store, held).ok());
  auto deliver = [&](const IndicatorId& id) {
    return store
        ->Write([=](WriteTxn& t) {
          return t.RecordDelivery(Delivery{id, "KZ-CERT", 1, 0, 100});
        })
        .get();
  };
  EXPECT_TRUE(deliver(never.id).ok());
  EXPECT_TRUE(deliver(held.id).ok());
  auto reader = ReaderOrDie(*store);
  EXPECT_TRUE(reader->Deliveries(never.id)->empty());
  ASSERT_EQ(reader->Deliveries(held.id)->size(), 1u);
  EXPECT_EQ((*reader->Deliveries(held.id))[0].id, held.id);

  ASSERT_TRUE(store
                  ->WriteValue<uint64_t>(
                      [&](WriteTxn& t) { return t.DeleteIndicator(held.id); })
                  .get()
                  .ok());
  EXPECT_TRUE(reader->Deliveries(held.id)->empty());
  ASSERT_TRUE(Insert(*store, held).ok());
  EXPECT_TRUE(reader->Deliveries(held.id)->empty());
}

// A sender names the record it delivered by its log seq (Delivery::
// record_seq): the row is found through it, kept by the same rule, and
// nothing is kept for a seq that is not that id's record or whose
// indicator is gone.
TEST(StoreDeliveries, BySeqFindsTheRecordsIndicator) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("store.db"));
  const RecordRow a = MakeRow(IndicatorType::kDomain, "a.example");
  const RecordRow a2 = MakeRow(IndicatorType::kDomain, "a.example", 2);
  const RecordRow b = MakeRow(IndicatorType::kDomain, "b.example");
  const uint64_t seq_a = Insert(*store, a)->log_seq;
  const uint64_t seq_a2 = Insert(*store, a2)->log_seq;
  const uint64_t seq_b = Insert(*store, b)->log_seq;
  auto deliver = [&](const IndicatorId& id, uint32_t rev, uint64_t seq) {
    return store
        ->Write([=](WriteTxn& t) {
          return t.RecordDelivery(
              Delivery{id, "KZ-CERT", rev, 0, 100 + rev, seq});
        })
        .get();
  };
  EXPECT_TRUE(deliver(a.id, 2, seq_a2).ok());
  EXPECT_TRUE(deliver(a.id, 1, seq_a).ok());      // late: the higher one stays
  EXPECT_TRUE(deliver(b.id, 1, seq_a).ok());      // seq of another id's record
  EXPECT_TRUE(deliver(b.id, 1, seq_b + 7).ok());  // no such record
  auto reader = ReaderOrDie(*store);
  Result<std::vector<Delivery>> got = reader->Deliveries(a.id);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].revision, 2u);
  EXPECT_EQ((*got)[0].delivered_at, 102);
  EXPECT_TRUE(reader->Deliveries(b.id)->empty());

  ASSERT_TRUE(store
                  ->WriteValue<uint64_t>(
                      [&](WriteTxn& t) { return t.DeleteIndicator(b.id); })
                  .get()
                  .ok());
  EXPECT_TRUE(deliver(b.id, 1, seq_b).ok());
  EXPECT_TRUE(reader->Deliveries(b.id)->empty());
  EXPECT_EQ(Count(dir.File("store.db"), "SELECT count(*) FROM deliveries"), 1);
}

TEST(StoreWithheld, DueForPeerRemoveAndCascade) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("store.db"));
  RecordRow a = MakeRow(IndicatorType::kDomain, "a.example");
  RecordRow b = MakeRow(IndicatorType::kDomain, "b.example");
  uint64_t seq_a = Insert(*store, a)->log_seq;
  uint64_t seq_b = Insert(*store, b)->log_seq;
  auto write = [&](WriteFn fn) { return store->Write(std::move(fn)).get(); };
  ASSERT_TRUE(write([&](WriteTxn& t) {
                CARAVAN_RETURN_IF_ERROR(t.AddWithheld(
                    Withheld{seq_a, "KZ-CERT", "kz.toml:outbound.embargo",
                             500, 1}));
                CARAVAN_RETURN_IF_ERROR(t.AddWithheld(
                    Withheld{seq_b, "KZ-CERT", "kz.toml:outbound.max_tlp", 0,
                             1}));
                return t.AddWithheld(
                    Withheld{seq_b, "TJ-CERT", "default.toml:share", 0, 1});
              }).ok());
  Status missing = write([](WriteTxn& t) {
    return t.AddWithheld(Withheld{999, "KZ-CERT", "r", 0, 1});
  });
  EXPECT_EQ(missing.code(), StatusCode::kInvalidInput);

  auto reader = ReaderOrDie(*store);
  EXPECT_TRUE(reader->WithheldDue(499, 10)->empty());
  Result<std::vector<Withheld>> due = reader->WithheldDue(500, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].seq, seq_a);
  EXPECT_EQ((*due)[0].rule, "kz.toml:outbound.embargo");
  Result<std::vector<Withheld>> kz = reader->WithheldForPeer("KZ-CERT", 0, 10);
  ASSERT_TRUE(kz.ok());
  EXPECT_EQ(kz->size(), 2u);
  EXPECT_EQ(reader->WithheldForPeer("KZ-CERT", seq_a, 10)->size(), 1u);

  ASSERT_TRUE(
      write([&](WriteTxn& t) { return t.RemoveWithheld(seq_a, "KZ-CERT"); })
          .ok());
  EXPECT_EQ(reader->WithheldForPeer("KZ-CERT", 0, 10)->size(), 1u);
  // Deleting the indicator (retention) takes its withheld entries along.
  Result<uint64_t> deleted =
      store->WriteValue<uint64_t>([&](WriteTxn& t) {
        return t.DeleteIndicator(b.id);
      }).get();
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 1u);
  EXPECT_TRUE(reader->WithheldForPeer("KZ-CERT", 0, 10)->empty());
  EXPECT_TRUE(reader->WithheldForPeer("TJ-CERT", 0, 10)->empty());
  EXPECT_EQ(reader->WithheldDue(0, 0).status().code(),
            StatusCode::kInvalidInput);
}

TEST(StoreQuota, CountsPerCountryAndDay) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("store.db"));
  auto add = [&](std::string cc, int64_t day, uint64_t n) {
    return store
        ->WriteValue<uint64_t>(
            [=](WriteTxn& t) { return t.AddQuota(cc, day, n); })
        .get();
  };
  EXPECT_EQ(*add("KZ", 19000, 5), 5u);
  EXPECT_EQ(*add("KZ", 19000, 3), 8u);
  EXPECT_EQ(*add("KZ", 19001, 1), 1u);
  auto reader = ReaderOrDie(*store);
  EXPECT_EQ(*reader->QuotaCount("KZ", 19000), 8u);
  EXPECT_EQ(*reader->QuotaCount("TJ", 19000), 0u);
  EXPECT_EQ(UtcDay(86400 * 19000 + 5), 19000);
  EXPECT_EQ(UtcDay(-1), -1);
}

TEST(StoreRetention, DeleteIndicatorRemovesEverythingAndNeverReusesSeq) {
  TempDir dir;
  FakeClock clock;
  StoreOptions options;
  options.clock = clock.Fn();
  auto store = OpenOrDie(dir.File("store.db"), options);
  RecordRow old_kz = MakeRow(IndicatorType::kDomain, "old.example", 1, 2, "KZ");
  old_kz.received_from = "KZ-CERT";
  RecordRow local = MakeRow(IndicatorType::kDomain, "mine.example", 1, 2, "KZ");
  ASSERT_TRUE(Insert(*store, old_kz).ok());
  ASSERT_TRUE(Insert(*store, local).ok());
  clock.now->fetch_add(1000);
  RecordRow new_kz = MakeRow(IndicatorType::kDomain, "new.example", 1, 2, "KZ");
  new_kz.received_from = "KZ-CERT";
  ASSERT_TRUE(Insert(*store, new_kz).ok());
  auto reader = ReaderOrDie(*store);
  Result<std::vector<IndicatorId>> due =
      reader->ReceivedBefore("KZ", *clock.now - 10, 100);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);  // not the local one, not the recent one
  EXPECT_EQ((*due)[0], old_kz.id);

  ASSERT_TRUE(store
                  ->Write([&](WriteTxn& t) {
                    return t.AddSighting(
                        Sighting{old_kz.id, 5, "seen on proxy", "uid:1000"});
                  })
                  .get()
                  .ok());
  EXPECT_EQ(reader->Sightings(old_kz.id)->size(), 1u);
  Result<uint64_t> deleted =
      store->WriteValue<uint64_t>([&](WriteTxn& t) {
        return t.DeleteIndicator(old_kz.id);
      }).get();
  ASSERT_TRUE(deleted.ok());
  EXPECT_FALSE(reader->Get(old_kz.id)->has_value());
  EXPECT_TRUE(reader->GetRevisions(old_kz.id)->empty());
  EXPECT_TRUE(reader->Sightings(old_kz.id)->empty());
  EXPECT_EQ(store
                ->WriteValue<uint64_t>([&](WriteTxn& t) {
                  return t.DeleteIndicator(old_kz.id);
                })
                .get()
                .status()
                .code(),
            StatusCode::kNotFound);

  // The highest log seq (3) belonged to new.example; delete it and insert:
  // the new record gets 4, never a reused number.
  ASSERT_TRUE(store
                  ->WriteValue<uint64_t>([&](WriteTxn& t) {
                    return t.DeleteIndicator(new_kz.id);
                  })
                  .get()
                  .ok());
  Result<InsertOutcome> again = Insert(*store, new_kz);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->log_seq, 4u);
}

TEST(StoreQuarantine, SetAndList) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("store.db"));
  RecordRow held = MakeRow(IndicatorType::kDomain, "held.example");
  held.quarantined = true;
  RecordRow open = MakeRow(IndicatorType::kDomain, "open.example");
  ASSERT_TRUE(Insert(*store, held).ok());
  ASSERT_TRUE(Insert(*store, open).ok());
  auto reader = ReaderOrDie(*store);
  QueryFilter only;
  only.quarantine = QuarantineFilter::kOnly;
  Result<QueryPage> q = reader->Query(only);
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->rows.size(), 1u);
  EXPECT_EQ(q->rows[0].indicator.value, "held.example");
  EXPECT_EQ(reader->Query(QueryFilter{})->rows.size(), 1u);  // excluded
  EXPECT_EQ(reader->GetCounts()->quarantined, 1u);

  ASSERT_TRUE(store
                  ->Write([&](WriteTxn& t) {
                    return t.SetQuarantined(held.id, false);
                  })
                  .get()
                  .ok());
  EXPECT_TRUE(reader->Query(only)->rows.empty());
  EXPECT_EQ(reader->Query(QueryFilter{})->rows.size(), 2u);
  IndicatorId unknown{};
  EXPECT_EQ(store
                ->Write([&](WriteTxn& t) {
                  return t.SetQuarantined(unknown, true);
                })
                .get()
                .code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace caravan::store

namespace caravan::store {
namespace {

using protocol::IndicatorType;
using testing::Insert;
using testing::MakeRow;
using testing::OpenOrDie;
using testing::ReaderOrDie;
using testing::TempDir;

// TAXII lookups by id (issue 19): ids by prefix come from the id index,
// and posted STIX ids map to indicators (first posted wins for export).
TEST(StoreStixIds, PrefixProbeAndPostedIds) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("store.db"));
  std::vector<IndicatorId> ids;
  for (int i = 0; i < 50; ++i) {
    RecordRow row = MakeRow(IndicatorType::kDomain,
                            "h" + std::to_string(i) + ".example");
    ids.push_back(row.id);
    ASSERT_TRUE(Insert(*store, row).ok());
  }
  auto reader = ReaderOrDie(*store);
  for (const auto& id : ids) {
    auto hits = reader->IdsWithPrefix(std::span(id.data(), 6), 10);
    ASSERT_TRUE(hits.ok()) << hits.status().ToString();
    ASSERT_EQ(hits->size(), 1u);
    EXPECT_EQ((*hits)[0], id);
    auto whole = reader->IdsWithPrefix(std::span(id.data(), 32), 10);
    ASSERT_TRUE(whole.ok());
    EXPECT_EQ(whole->size(), 1u);
  }
  // A prefix of 0xff bytes has no upper bound; a short one finds many.
  const uint8_t ff[2] = {0xff, 0xff};
  EXPECT_TRUE(reader->IdsWithPrefix(std::span(ff, 2), 10).ok());
  const uint8_t none[1] = {0x00};
  auto many = reader->IdsWithPrefix(std::span(ids[0].data(), 0), 10);
  EXPECT_FALSE(many.ok());  // empty prefix refused
  EXPECT_TRUE(reader->IdsWithPrefix(std::span(none, 1), 100).ok());

  EXPECT_FALSE(*reader->HasPostedStixIds());
  auto put = [&](const std::string& stix_id, const IndicatorId& id) {
    return store->Write([&](WriteTxn& t) { return t.PutStixId(stix_id, id); })
        .get();
  };
  ASSERT_TRUE(put("indicator--a", ids[1]).ok());
  ASSERT_TRUE(put("indicator--b", ids[1]).ok());
  ASSERT_TRUE(put("indicator--a", ids[2]).ok());  // kept: still ids[1]
  EXPECT_FALSE(put("", ids[1]).ok());
  EXPECT_FALSE(put(std::string(257, 'x'), ids[1]).ok());
  EXPECT_TRUE(*reader->HasPostedStixIds());
  EXPECT_EQ(*reader->IndicatorOfStixId("indicator--a"), ids[1]);
  EXPECT_EQ(*reader->IndicatorOfStixId("indicator--b"), ids[1]);
  EXPECT_FALSE(reader->IndicatorOfStixId("indicator--c")->has_value());
  EXPECT_EQ(*reader->PostedStixId(ids[1]), "indicator--a");
  EXPECT_FALSE(reader->PostedStixId(ids[2])->has_value());
}

}  // namespace
}  // namespace caravan::store
