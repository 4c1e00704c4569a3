// Table warninglist_hits (migration 3): put/get, "forced once means
// forced", the indicators.warning mirror, refusal for an indicator not
// held, and deletion with the indicator (retention).
#include <gtest/gtest.h>

#include "tests/unit/store/store_test_util.h"

namespace caravan::store::testing {
namespace {

using protocol::IndicatorType;

Status Put(Store& store, const WarninglistHit& hit) {
  return store.Write([hit](WriteTxn& txn) { return txn.PutWarninglistHit(hit); })
      .get();
}

TEST(WarninglistHits, PutGetAndStickyForce) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("s.db"));
  const RecordRow row = MakeRow(IndicatorType::kIpv4, "10.1.2.3");
  ASSERT_TRUE(Insert(*store, row).ok());
  auto reader = ReaderOrDie(*store);

  auto none = reader->GetWarninglistHit(row.id);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  ASSERT_TRUE(Put(*store, {row.id, "RFC 1918", "10.0.0.0/8", false, 0}).ok());
  auto hit = reader->GetWarninglistHit(row.id);
  ASSERT_TRUE(hit.ok() && hit->has_value());
  EXPECT_EQ((*hit)->list, "RFC 1918");
  EXPECT_EQ((*hit)->entry, "10.0.0.0/8");
  EXPECT_FALSE((*hit)->forced);
  EXPECT_GT((*hit)->flagged_at, 0);
  auto current = reader->Get(row.id);
  ASSERT_TRUE(current.ok() && current->has_value());
  EXPECT_TRUE((*current)->warning) << "flagged, not forced: warning set";

  ASSERT_TRUE(Put(*store, {row.id, "RFC 1918", "10.0.0.0/8", true, 0}).ok());
  current = reader->Get(row.id);
  EXPECT_FALSE((*current)->warning) << "forced: shared as usual";
  // A later unforced hit does not take the force back.
  ASSERT_TRUE(Put(*store, {row.id, "RFC 5735", "10.0.0.0/8", false, 0}).ok());
  hit = reader->GetWarninglistHit(row.id);
  EXPECT_EQ((*hit)->list, "RFC 5735");
  EXPECT_TRUE((*hit)->forced);
}

TEST(WarninglistHits, RefusedWithoutIndicatorAndDeletedWithIt) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("s.db"));
  const RecordRow row = MakeRow(IndicatorType::kDomain, "t.me");
  EXPECT_EQ(Put(*store, {row.id, "Tranco", "t.me", false, 0}).code(),
            StatusCode::kInvalidInput)
      << "a hit for an indicator we do not hold";
  EXPECT_EQ(Put(*store, {row.id, "", "t.me", false, 0}).code(),
            StatusCode::kInvalidInput);
  ASSERT_TRUE(Insert(*store, row).ok());
  ASSERT_TRUE(Put(*store, {row.id, "Tranco", "t.me", false, 0}).ok());
  Status deleted = store->Write([&](WriteTxn& txn) -> Status {
                          auto n = txn.DeleteIndicator(row.id);
                          return n.ok() ? Status::Ok() : n.status();
                        }).get();
  ASSERT_TRUE(deleted.ok()) << deleted.ToString();
  auto reader = ReaderOrDie(*store);
  auto hit = reader->GetWarninglistHit(row.id);
  ASSERT_TRUE(hit.ok());
  EXPECT_FALSE(hit->has_value()) << "the hit outlived its indicator";
}

}  // namespace
}  // namespace caravan::store::testing
