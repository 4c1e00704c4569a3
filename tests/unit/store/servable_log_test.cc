// Reader::ServableLogRange and Reader::LogTimes (TAXII paging, issue 17):
// one statement per chunk that must give each log record exactly what the
// per-record Get / GetRevisions / PostedStixId calls gave before.

#include "daemon/store/reader.h"
#include "store_test_util.h"

namespace caravan::store {
namespace {

using protocol::IndicatorType;
using testing::Insert;
using testing::MakeRow;
using testing::OpenOrDie;
using testing::RawExec;
using testing::ReaderOrDie;
using testing::TempDir;

TEST(ServableLogRange, JoinsEachRecordWithWhatServingItNeeds) {
  TempDir dir;
  const std::string path = dir.File("store.db");
  auto store = OpenOrDie(path);
  const RecordRow a1 = MakeRow(IndicatorType::kDomain, "a.example", 1);
  const RecordRow a2 = MakeRow(IndicatorType::kDomain, "a.example", 2);
  const RecordRow b1 = MakeRow(IndicatorType::kDomain, "b.example", 1, 2, "KZ");
  const RecordRow c1 = MakeRow(IndicatorType::kDomain, "c.example", 1);
  for (const auto* row : {&a1, &a2, &b1, &c1}) {
    ASSERT_TRUE(Insert(*store, *row).ok());
  }
  ASSERT_TRUE(store
                  ->Write([&](WriteTxn& txn) {
                    return txn.PutStixId(
                        "indicator--11111111-2222-4333-8444-555555555555",
                        b1.id);
                  })
                  .get()
                  .ok());
  RawExec(path,
          "UPDATE indicators SET quarantined = 1, warning = 1 "
          "WHERE value = 'c.example'");
  auto reader = ReaderOrDie(*store);
  auto log = reader->LogRange(0, 100);
  ASSERT_TRUE(log.ok());
  auto served = reader->ServableLogRange(0, 100);
  ASSERT_TRUE(served.ok()) << served.status().ToString();
  ASSERT_EQ(served->size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    const auto& s = (*served)[i];
    const StoredRecord& want = (*log)[i];
    EXPECT_EQ(s.record.seq, want.seq);
    EXPECT_EQ(s.record.id, want.id);
    EXPECT_EQ(s.record.revision, want.revision);
    EXPECT_EQ(s.record.signed_bytes, want.signed_bytes);
    EXPECT_EQ(s.record.stored_at, want.stored_at);
    EXPECT_TRUE(s.has_current);
  }
  const auto& ra1 = (*served)[0];
  const auto& ra2 = (*served)[1];
  const auto& rb1 = (*served)[2];
  const auto& rc1 = (*served)[3];
  // Both revisions of a: the current view is revision 2; revision 1's time.
  EXPECT_EQ(ra1.current_revision, 2u);
  EXPECT_EQ(ra2.current_revision, 2u);
  EXPECT_EQ(ra1.first_created, a1.body.created);
  EXPECT_EQ(ra2.first_created, a1.body.created);
  EXPECT_EQ(ra2.record.created, a2.body.created);
  EXPECT_EQ(ra1.origin_name, "UZ-CERT");
  EXPECT_FALSE(ra1.posted_stix_id.has_value());
  EXPECT_EQ(rb1.origin_country, "KZ");
  ASSERT_TRUE(rb1.posted_stix_id.has_value());
  EXPECT_EQ(*rb1.posted_stix_id,
            "indicator--11111111-2222-4333-8444-555555555555");
  EXPECT_FALSE(rb1.quarantined);
  EXPECT_TRUE(rc1.quarantined);
  EXPECT_TRUE(rc1.warning);

  // A keyset page: after a seq, at most `limit`.
  auto page = reader->ServableLogRange(ra1.record.seq, 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].record.seq, ra2.record.seq);
  EXPECT_EQ((*page)[1].record.seq, rb1.record.seq);
  auto past = reader->ServableLogRange(rc1.record.seq, 10);
  ASSERT_TRUE(past.ok());
  EXPECT_TRUE(past->empty());
}

TEST(ServableLogRange, RecordWithoutCurrentViewAndBadLimits) {
  TempDir dir;
  const std::string path = dir.File("store.db");
  auto store = OpenOrDie(path);
  ASSERT_TRUE(Insert(*store, MakeRow(IndicatorType::kDomain, "gone.example")).ok());
  // A record names its indicator by rid: with the indicator's row gone
  // (damage from outside; the store deletes both together) it has no id
  // and is not served.
  RawExec(path, "DELETE FROM indicators WHERE value = 'gone.example'");
  auto reader = ReaderOrDie(*store);
  auto served = reader->ServableLogRange(0, 10);
  ASSERT_TRUE(served.ok());
  EXPECT_TRUE(served->empty());
  EXPECT_EQ(reader->ServableLogRange(0, 0).status().code(),
            StatusCode::kInvalidInput);
  EXPECT_EQ(reader->ServableLogRange(0, kMaxQueryLimit + 1).status().code(),
            StatusCode::kInvalidInput);
  EXPECT_EQ(reader->LogTimes(0, 0).status().code(),
            StatusCode::kInvalidInput);
}

TEST(LogTimes, GivesEachRecordsSeqAndStoredAtWithoutItsBytes) {
  TempDir dir;
  testing::FakeClock clock;
  StoreOptions options;
  options.clock = clock.Fn();
  auto store = OpenOrDie(dir.File("store.db"), options);
  for (int i = 0; i < 5; ++i) {
    clock.now->store(1'700'000'000 + i * 7);
    ASSERT_TRUE(Insert(*store, MakeRow(IndicatorType::kDomain,
                                       "t" + std::to_string(i) + ".example"))
                    .ok());
  }
  auto reader = ReaderOrDie(*store);
  auto log = reader->LogRange(0, 100);
  auto times = reader->LogTimes(0, 100);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE(times.ok());
  ASSERT_EQ(times->size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ((*times)[i].seq, (*log)[i].seq);
    EXPECT_EQ((*times)[i].stored_at, (*log)[i].stored_at);
  }
  EXPECT_EQ((*times)[4].stored_at - (*times)[0].stored_at, 28);
  auto tail = reader->LogTimes((*times)[2].seq, 100);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->size(), 2u);
}

}  // namespace
}  // namespace caravan::store
