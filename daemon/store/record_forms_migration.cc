// Migration 15: the records table in the shape of record_forms.h, each
// record naming its indicator by rid (the 32-byte id and the origin key
// stay on the indicator's row only; every record has one, and all records
// of an id share its origin, which the store has always enforced).
//
// The old table kept every record's signed bytes whole (proof and all).
// SQLite cannot change a table's columns in place beyond adding some, and
// the conversion needs code (each record decoded, its body packed, its
// batch found), so the old table is renamed aside, the new one created
// under the old name, every row copied through RecordForms in log order
// (log numbers kept) and the old table dropped, all inside the migration's
// one transaction: a crash (kill -9, power) anywhere in it leaves the
// store at version 14, untouched, and the next start runs it again.
//
// Foreign keys are off while it runs (Migrate turns them off before its
// transaction): dropping the old table must not cascade into `withheld`,
// whose REFERENCES records (seq) then names the new table, and
// legacy_alter_table keeps the rename from rewriting that reference to the
// old table's new name.

#include <string>

#include "daemon/store/record_forms.h"
#include "daemon/store/schema.h"

namespace caravan::store::internal {
namespace {

constexpr const char* kRecordsTable = R"sql(
CREATE TABLE records (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  rid INTEGER NOT NULL,
  revision INTEGER NOT NULL CHECK (revision >= 1),
  variant INTEGER NOT NULL CHECK (variant >= 0),
  origin_seq INTEGER NOT NULL,
  created INTEGER NOT NULL,
  received_from TEXT,
  stored_at INTEGER NOT NULL,
  superseded INTEGER NOT NULL DEFAULT 0 CHECK (superseded IN (0, 1)),
  batch INTEGER,
  leaf INTEGER,
  signature BLOB CHECK (signature IS NULL OR length(signature) = 64),
  salt BLOB CHECK (salt IS NULL OR length(salt) = 32),
  body BLOB,
  raw BLOB,
  CHECK ((raw IS NULL) = (body IS NOT NULL)),
  UNIQUE (rid, revision, variant)
);
CREATE INDEX records_batch ON records (batch, leaf) WHERE batch IS NOT NULL;
CREATE VIEW log AS SELECT r.seq, i.id, r.revision, r.variant
  FROM records r JOIN indicators i ON i.rid = r.rid;
CREATE TABLE record_paths (
  seq INTEGER PRIMARY KEY REFERENCES records (seq) ON DELETE CASCADE,
  path BLOB NOT NULL
);
)sql";

Status CopyRecords(Database& db) {
  RecordForms forms(db);
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement read,
      db.PrepareUncached(
          "SELECT r.seq, i.rid, r.revision, r.variant, r.origin_seq, "
          "r.created, r.received_from, r.stored_at, r.superseded, "
          "r.signed_bytes, i.origin FROM records_v14 r "
          "LEFT JOIN indicators i ON i.id = r.id ORDER BY r.seq"));
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement write,
      db.PrepareUncached(
          "INSERT INTO records (seq, rid, revision, variant, origin_seq, "
          "created, received_from, stored_at, superseded, batch, leaf, "
          "signature, salt, body, raw) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
          "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"));
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, read.Step());
    if (!row) break;
    if (read.IsNull(1)) {
      // Every record is written with its indicator's row and deleted with
      // it; one without is damage this migration must not hide.
      return Corrupt("log entry " + std::to_string(read.Int(0)) +
                     " has no indicator row; the store is damaged (run "
                     "PRAGMA integrity_check and restore from a backup)");
    }
    std::array<uint8_t, 32> origin{};
    if (!read.FixedBlob(10, origin)) {
      return Corrupt("the indicator of log entry " +
                     std::to_string(read.Int(0)) + " has a malformed origin");
    }
    CARAVAN_STORE_ASSIGN_OR_RETURN(RecordForm form,
                                   forms.Compact(read.Blob(9), origin));
    for (int c = 0; c < 9; ++c) {
      switch (sqlite3_column_type(read.raw(), c)) {
        case SQLITE_NULL: write.BindNull(c + 1); break;
        case SQLITE_INTEGER: write.Bind(c + 1, read.Int(c)); break;
        case SQLITE_TEXT: write.BindText(c + 1, read.Text(c)); break;
        default: {
          std::vector<uint8_t> blob = read.Blob(c);
          write.BindBlob(c + 1, blob);
        }
      }
    }
    BindRecordForm(write, 10, form);
    CARAVAN_RETURN_IF_ERROR(write.Run());
    write.Reset();
    CARAVAN_RETURN_IF_ERROR(forms.Inserted(read.Int(0), form));
  }
  return Status::Ok();
}

}  // namespace

Status MigrateRecordForms(Database& db) {
  CARAVAN_RETURN_IF_ERROR(db.Exec("PRAGMA legacy_alter_table = ON"));
  Status s = [&db]() -> Status {
    CARAVAN_RETURN_IF_ERROR(db.Exec(
        "DROP VIEW log;"
        "DROP INDEX records_origin;"
        "ALTER TABLE records RENAME TO records_v14;"));
    CARAVAN_RETURN_IF_ERROR(db.Exec(kRecordsTable));
    // The conversion writes through today's RecordForms, so the batch
    // tables are made in today's shape; migrations 17 and 18, which
    // reshape the tables older code made, then find nothing to do.
    CARAVAN_RETURN_IF_ERROR(db.Exec(kBatchTables));
    CARAVAN_RETURN_IF_ERROR(CopyRecords(db));
    // Log numbers are never reused: the new table's counter starts where
    // the old one stood, even when its last entries were deleted.
    CARAVAN_RETURN_IF_ERROR(db.Exec(
        "INSERT INTO sqlite_sequence (name, seq) SELECT 'records', 0 "
        "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence "
        "WHERE name = 'records');"
        "UPDATE sqlite_sequence SET seq = max(seq, coalesce((SELECT seq "
        "FROM sqlite_sequence WHERE name = 'records_v14'), 0)) "
        "WHERE name = 'records';"
        "DROP TABLE records_v14;"));
    return Status::Ok();
  }();
  Status off = db.Exec("PRAGMA legacy_alter_table = OFF");
  if (!s.ok()) return s;
  return off;
}

}  // namespace caravan::store::internal
