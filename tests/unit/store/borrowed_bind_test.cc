// Statement::BindTextBorrowed / BindBlobBorrowed: SQLite reads the caller's
// bytes in place, so what is stored must be exactly them, and a cached
// statement must not keep a pointer past the Statement that bound it.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "daemon/store/sqlite_db.h"
#include "tests/unit/store/store_test_util.h"

namespace caravan::store::internal {
namespace {

// Borrowing a temporary is refused at compile time (it would dangle by
// the time the statement runs); borrowing a named value is allowed.
template <class T>
concept CanBorrowText = requires(Statement& s, T&& t) {
  s.BindTextBorrowed(1, std::forward<T>(t));
};
template <class T>
concept CanBorrowBlob = requires(Statement& s, T&& t) {
  s.BindBlobBorrowed(1, std::forward<T>(t));
};
static_assert(!CanBorrowText<std::string>);
static_assert(CanBorrowText<const std::string&>);
static_assert(!CanBorrowBlob<std::vector<uint8_t>>);
static_assert(!CanBorrowBlob<std::array<uint8_t, 8>>);
static_assert(CanBorrowBlob<const std::vector<uint8_t>&>);

std::unique_ptr<Database> OpenTable(const std::string& path) {
  auto db = Database::Open(path, /*read_only=*/false, 1000);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_TRUE((*db)->Exec("CREATE TABLE t (s TEXT, b BLOB)").ok());
  return std::move(*db);
}

TEST(BorrowedBind, StoresTheBytesAndForgetsThemWithTheStatement) {
  const testing::TempDir dir;
  auto db = OpenTable(dir.File("borrowed.db"));
  constexpr std::string_view kInsert = "INSERT INTO t (s, b) VALUES (?, ?)";
  {
    auto text = std::make_unique<std::string>("first value, longer than SSO");
    auto blob = std::make_unique<std::vector<uint8_t>>(300, 0xab);
    {
      auto st = db->Prepare(kInsert);
      ASSERT_TRUE(st.ok());
      st->BindTextBorrowed(1, *text);
      st->BindBlobBorrowed(2, *blob);
      ASSERT_TRUE(st->Run().ok());
    }
    // Overwritten and freed after the Statement is gone: the cached
    // statement must not read them again.
    std::fill(text->begin(), text->end(), 'x');
    std::fill(blob->begin(), blob->end(), 0);
  }
  {
    // The same cached statement, a NULL in place of the text: had the
    // first binding survived the Statement, "first value..." (or freed
    // memory) would be read here.
    auto st = db->Prepare(kInsert);
    ASSERT_TRUE(st.ok());
    const std::vector<uint8_t> empty;
    st->BindBlobBorrowed(2, empty);
    ASSERT_TRUE(st->Run().ok());
  }
  auto read = db->Prepare("SELECT s, b, typeof(s), typeof(b) FROM t ORDER BY rowid");
  ASSERT_TRUE(read.ok());
  ASSERT_TRUE(*read->Step());
  EXPECT_EQ(read->Text(0), "first value, longer than SSO");
  EXPECT_EQ(read->Blob(1), std::vector<uint8_t>(300, 0xab));
  ASSERT_TRUE(*read->Step());
  EXPECT_EQ(read->Text(2), "null");
  EXPECT_EQ(read->Text(3), "blob");  // an empty blob is a blob, not NULL
  EXPECT_TRUE(read->Blob(1).empty());
  EXPECT_FALSE(*read->Step());
}

}  // namespace
}  // namespace caravan::store::internal
