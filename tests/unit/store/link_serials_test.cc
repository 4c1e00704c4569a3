// Table link_serials (link key rotation): the highest link certificate
// serial per member identity only ever goes up, survives reopening the
// store, and a serial SQLite cannot hold is refused.
#include <gtest/gtest.h>

#include <climits>

#include "tests/unit/store/store_test_util.h"

namespace caravan::store::testing {
namespace {

Status Raise(Store& store, const PublicKey& key, uint64_t serial) {
  return store
      .Write([key, serial](WriteTxn& txn) { return txn.RaiseLinkSerial(key, serial); })
      .get();
}

std::map<PublicKey, uint64_t> Serials(Store& store) {
  auto reader = ReaderOrDie(store);
  auto serials = reader->LinkSerials();
  EXPECT_TRUE(serials.ok()) << serials.status().ToString();
  return serials.ok() ? *serials : std::map<PublicKey, uint64_t>{};
}

TEST(LinkSerials, EmptyStoreHasNone) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("s.db"));
  EXPECT_TRUE(Serials(*store).empty());
}

TEST(LinkSerials, OnlyRaisedNeverLowered) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("s.db"));
  const PublicKey b = KeyOf(0xb0);
  const PublicKey c = KeyOf(0xc0);
  ASSERT_TRUE(Raise(*store, b, 1'700'000'100).ok());
  ASSERT_TRUE(Raise(*store, c, 5).ok());
  ASSERT_TRUE(Raise(*store, b, 1'700'000'200).ok());
  // Lower and equal serials (a late write, a replayed old certificate)
  // are accepted as writes but change nothing.
  ASSERT_TRUE(Raise(*store, b, 1'700'000'150).ok());
  ASSERT_TRUE(Raise(*store, b, 1).ok());
  ASSERT_TRUE(Raise(*store, c, 5).ok());
  const std::map<PublicKey, uint64_t> want = {{b, 1'700'000'200}, {c, 5}};
  EXPECT_EQ(Serials(*store), want);
}

TEST(LinkSerials, SurviveReopen) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  const PublicKey b = KeyOf(0xb1);
  {
    auto store = OpenOrDie(path);
    ASSERT_TRUE(Raise(*store, b, 42).ok());
    ASSERT_TRUE(Raise(*store, b, 7).ok());
  }
  auto store = OpenOrDie(path);
  const std::map<PublicKey, uint64_t> want = {{b, 42}};
  EXPECT_EQ(Serials(*store), want);
  // Still only raised after reopening.
  ASSERT_TRUE(Raise(*store, b, 41).ok());
  ASSERT_TRUE(Raise(*store, b, 43).ok());
  EXPECT_EQ(Serials(*store).at(b), 43u);
}

TEST(LinkSerials, SerialAboveInt64Refused) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("s.db"));
  const PublicKey b = KeyOf(0xb2);
  const uint64_t too_big = static_cast<uint64_t>(INT64_MAX) + 1;
  Status s = Raise(*store, b, too_big);
  EXPECT_EQ(s.code(), StatusCode::kInvalidInput) << s.ToString();
  EXPECT_NE(s.message().find(std::to_string(too_big)), std::string::npos) << s.message();
  EXPECT_TRUE(Serials(*store).empty());
  // The largest storable serial is stored exactly.
  ASSERT_TRUE(Raise(*store, b, static_cast<uint64_t>(INT64_MAX)).ok());
  EXPECT_EQ(Serials(*store).at(b), static_cast<uint64_t>(INT64_MAX));
}

TEST(LinkSerials, CorruptRowIsReported) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  { auto store = OpenOrDie(path); }
  // Tampered behind the store's back with the CHECKs off: a key of the
  // wrong length is reported, never read as some member's key.
  RawExec(path, "PRAGMA ignore_check_constraints = 1;"
                "INSERT INTO link_serials VALUES (zeroblob(31), 3, 0);");
  auto store = OpenOrDie(path);
  auto reader = ReaderOrDie(*store);
  auto serials = reader->LinkSerials();
  ASSERT_FALSE(serials.ok());
  EXPECT_EQ(serials.status().code(), StatusCode::kCorrupt) << serials.status().ToString();
}

}  // namespace
}  // namespace caravan::store::testing
