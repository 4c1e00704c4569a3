// WriteTxn and Reader methods for table identity_rotations (schema.cc,
// kMigrationIdentityRotations): the identity key rotations this node holds,
// its own and its members', so signer resolution and relaying survive a
// restart (docs/federation.md, Identity key rotation).
#include "daemon/store/reader.h"
#include "daemon/store/sqlite_db.h"
#include "daemon/store/write_txn.h"

namespace caravan::store {

using internal::Statement;

Result<bool> WriteTxn::PutIdentityRotation(const IdentityRotationRow& row) {
  if (row.statement.empty() || row.statement.size() > 1024) {
    return InvalidInput("identity rotation statement must be 1 to 1024 bytes");
  }
  // DO NOTHING: a statement already held (a replay, a relay of what we
  // have) changes nothing and says so (false). Whether a different
  // statement for a key already retired may be stored is KeyChains'
  // decision, made before this is called; here it is simply not stored.
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("INSERT INTO identity_rotations (old_key, new_key, rotated_at, "
                  "issued_at, statement, member, accepted_at) VALUES "
                  "(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING"));
  st.BindBlob(1, row.old_key);
  st.BindBlob(2, row.new_key);
  st.Bind(3, row.rotated_at);
  st.Bind(4, row.issued_at);
  st.BindBlob(5, row.statement);
  st.BindText(6, row.member);
  st.Bind(7, now_);
  CARAVAN_RETURN_IF_ERROR(st.Run());
  return sqlite3_changes(db_.handle()) > 0;
}

Result<std::vector<IdentityRotationRow>> Reader::IdentityRotations() {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT old_key, new_key, rotated_at, issued_at, statement, "
                   "member, accepted_at FROM identity_rotations "
                   "ORDER BY rotated_at, rowid"));
  std::vector<IdentityRotationRow> out;
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    IdentityRotationRow r;
    if (!st.FixedBlob(0, r.old_key) || !st.FixedBlob(1, r.new_key)) {
      return Corrupt("identity_rotations holds a malformed key");
    }
    r.rotated_at = st.Int(2);
    r.issued_at = st.Int(3);
    r.statement = st.Blob(4);
    r.member = st.Text(5);
    r.accepted_at = st.Int(6);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace caravan::store
