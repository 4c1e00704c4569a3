// Issue 14, finding 8: store failures are classified for the error log and
// caravan_store_errors_total{kind}; business errors are not counted.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "daemon/store/sqlite_db.h"

namespace caravan::store::internal {
namespace {

TEST(StorageErrorKind, NamesStorageFailuresOnly) {
  EXPECT_EQ(StorageErrorKind(SQLITE_FULL), "disk_full");
  EXPECT_EQ(StorageErrorKind(SQLITE_IOERR), "io_error");
  EXPECT_EQ(StorageErrorKind(SQLITE_IOERR_WRITE), "io_error");  // EFBIG
  EXPECT_EQ(StorageErrorKind(SQLITE_IOERR_FSYNC), "io_error");
  EXPECT_EQ(StorageErrorKind(SQLITE_READONLY), "read_only");
  EXPECT_EQ(StorageErrorKind(SQLITE_CORRUPT), "corrupt");
  EXPECT_EQ(StorageErrorKind(SQLITE_NOTADB), "corrupt");
  EXPECT_EQ(StorageErrorKind(SQLITE_NOMEM), "no_memory");
  EXPECT_EQ(StorageErrorKind(SQLITE_CANTOPEN), "cant_open");
  for (int rc : {SQLITE_OK, SQLITE_DONE, SQLITE_ROW, SQLITE_BUSY,
                 SQLITE_CONSTRAINT, SQLITE_CONSTRAINT_UNIQUE, SQLITE_MISMATCH}) {
    EXPECT_EQ(StorageErrorKind(rc), "") << rc;
  }
}

}  // namespace
}  // namespace caravan::store::internal
