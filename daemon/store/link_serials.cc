// WriteTxn and Reader methods for table link_serials (schema.cc,
// kMigrationLinkSerials; schema.md): the highest link certificate serial
// seen per member identity, so a rotated-away link key stays refused
// after a restart (docs/federation.md, Link key rotation).
#include <climits>

#include "daemon/store/reader.h"
#include "daemon/store/sqlite_db.h"
#include "daemon/store/write_txn.h"

namespace caravan::store {

using internal::Statement;

Status WriteTxn::RaiseLinkSerial(const PublicKey& identity, uint64_t serial) {
  // SQLite integers are signed 64-bit; a serial beyond that cannot be
  // stored faithfully (rotation adds one at a time, so none gets there).
  if (serial > static_cast<uint64_t>(INT64_MAX)) {
    return InvalidInput("link serial " + std::to_string(serial) +
                        " is above the largest storable (" +
                        std::to_string(INT64_MAX) + ")");
  }
  // max(): the serial only ever goes up, whatever order writes land in.
  // seen_at moves only when the serial does.
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("INSERT INTO link_serials (identity_key, serial, seen_at) "
                  "VALUES (?1, ?2, ?3) ON CONFLICT (identity_key) DO UPDATE "
                  "SET seen_at = CASE WHEN excluded.serial > serial THEN "
                  "excluded.seen_at ELSE seen_at END, "
                  "serial = max(serial, excluded.serial)"));
  st.BindBlob(1, identity);
  st.Bind(2, static_cast<int64_t>(serial));
  st.Bind(3, now_);
  return st.Run();
}

Result<std::map<PublicKey, uint64_t>> Reader::LinkSerials() {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT identity_key, serial FROM link_serials"));
  std::map<PublicKey, uint64_t> out;
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    PublicKey key{};
    if (!st.FixedBlob(0, key) || st.Int(1) < 0) {
      return Corrupt("link_serials holds a malformed identity key or serial");
    }
    out[key] = static_cast<uint64_t>(st.Int(1));
  }
  return out;
}

}  // namespace caravan::store
