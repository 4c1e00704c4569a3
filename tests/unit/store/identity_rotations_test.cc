// Table identity_rotations (identity key rotation): statements are kept
// across reopening, a replay or a second statement for the same key
// changes nothing and says so, and oversized statements are refused.
#include <gtest/gtest.h>

#include "tests/unit/store/store_test_util.h"

namespace caravan::store::testing {
namespace {

IdentityRotationRow Row(uint8_t old_byte, uint8_t new_byte, int64_t at) {
  IdentityRotationRow r;
  r.old_key = KeyOf(old_byte);
  r.new_key = KeyOf(new_byte);
  r.rotated_at = at;
  r.issued_at = at;
  r.statement.assign(209, old_byte);
  r.member = "CERT-UZ";
  return r;
}

Result<bool> Put(Store& store, const IdentityRotationRow& row) {
  Result<bool> out = false;
  Status s = store.Write([&](WriteTxn& txn) -> Status {
    out = txn.PutIdentityRotation(row);
    return out.status();
  }).get();
  if (!s.ok()) return s;
  return out;
}

std::vector<IdentityRotationRow> Rows(Store& store) {
  auto reader = ReaderOrDie(store);
  auto rows = reader->IdentityRotations();
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  return rows.ok() ? *rows : std::vector<IdentityRotationRow>{};
}

TEST(IdentityRotations, KeptInRotationOrderAndSurviveReopen) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.File("s.db"));
    ASSERT_TRUE(*Put(*store, Row(0xb1, 0xb2, 2000)));
    ASSERT_TRUE(*Put(*store, Row(0xa0, 0xb1, 1000)));
  }
  auto store = OpenOrDie(dir.File("s.db"));
  const auto rows = Rows(*store);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].old_key, KeyOf(0xa0));
  EXPECT_EQ(rows[1].new_key, KeyOf(0xb2));
  EXPECT_EQ(rows[0].statement.size(), 209u);
  EXPECT_EQ(rows[0].member, "CERT-UZ");
  EXPECT_GT(rows[0].accepted_at, 0);
}

TEST(IdentityRotations, ReplayAndSecondRotationOfAKeyChangeNothing) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("s.db"));
  ASSERT_TRUE(*Put(*store, Row(0xa0, 0xb1, 1000)));
  EXPECT_FALSE(*Put(*store, Row(0xa0, 0xb1, 1000)));  // replay
  EXPECT_FALSE(*Put(*store, Row(0xa0, 0xc1, 1500)));  // fork of a retired key
  EXPECT_FALSE(*Put(*store, Row(0xd0, 0xb1, 1500)));  // key introduced twice
  EXPECT_EQ(Rows(*store).size(), 1u);
}

TEST(IdentityRotations, RefusesEmptyAndOversizedStatements) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("s.db"));
  auto empty = Row(0xa0, 0xb1, 1000);
  empty.statement.clear();
  EXPECT_EQ(Put(*store, empty).status().code(), StatusCode::kInvalidInput);
  auto big = Row(0xa0, 0xb1, 1000);
  big.statement.assign(1025, 1);
  EXPECT_EQ(Put(*store, big).status().code(), StatusCode::kInvalidInput);
  EXPECT_TRUE(Rows(*store).empty());
}

}  // namespace
}  // namespace caravan::store::testing
