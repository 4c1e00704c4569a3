// WriteTxn and Reader methods for table hub_prekey_book (schema.cc,
// kMigrationHubPrekeyBook; schema.md): the members' signed prekey
// statements a hub keeps across restarts (docs/federation.md "Prekeys").
// The store bounds and prunes rows; it never judges a statement: the sync
// engine re-verifies each row before serving it (daemon/sync/
// hub_prekey_book.h) and deletes the ones it refuses.
#include <sqlite3.h>

#include <climits>

#include "daemon/store/reader.h"
#include "daemon/store/sqlite_db.h"
#include "daemon/store/write_txn.h"

namespace caravan::store {

using internal::Statement;

namespace {

// The SQL form of a malformed row: what the CHECKs forbid, found when
// they were bypassed (a file edited with ignore_check_constraints, bit
// rot that still parses). Kept beside the C++ check in ReadRow.
constexpr const char* kMalformedRow =
    "length(owner_key) != 32 OR typeof(owner_key) != 'blob' OR "
    "typeof(prekey_id) != 'integer' OR prekey_id < 1 OR "
    "typeof(not_after) != 'integer' OR typeof(statement) != 'blob' OR "
    "length(statement) < 1 OR length(statement) > 1024";
static_assert(kMaxHubPrekeyStatementBytes == 1024,
              "kMalformedRow and the table's CHECK spell the bound out");

}  // namespace

Result<bool> WriteTxn::HubPrekeyPut(const HubPrekeyRow& row) {
  if (row.statement.empty() ||
      row.statement.size() > kMaxHubPrekeyStatementBytes) {
    return InvalidInput("prekey statement of " +
                        std::to_string(row.statement.size()) +
                        " bytes for the hub's prekey book (1 to " +
                        std::to_string(kMaxHubPrekeyStatementBytes) + ")");
  }
  if (row.prekey_id < 1 || row.prekey_id > static_cast<uint64_t>(INT64_MAX)) {
    return InvalidInput("prekey id " + std::to_string(row.prekey_id) +
                        " out of range for the hub's prekey book");
  }
  // The first statement stored under an (owner, id) stays: the sync
  // engine stores only statements it accepted, and it refuses a second,
  // different one with the same id as a forgery attempt.
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement put,
      db_.Prepare("INSERT INTO hub_prekey_book (owner_key, prekey_id, "
                  "not_after, statement, stored_at) VALUES (?, ?, ?, ?, ?) "
                  "ON CONFLICT (owner_key, prekey_id) DO NOTHING"));
  put.BindBlob(1, row.owner_key);
  put.Bind(2, static_cast<int64_t>(row.prekey_id));
  put.Bind(3, row.not_after);
  put.BindBlob(4, row.statement);
  put.Bind(5, now_);
  CARAVAN_RETURN_IF_ERROR(put.Run());
  if (sqlite3_changes(db_.handle()) == 0) return false;
  // Only the owner's newest kHubPrekeysPerOwner stay (the row just put
  // among them unless it is older than all of those).
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement trim,
      db_.Prepare("DELETE FROM hub_prekey_book WHERE owner_key = ?1 AND "
                  "prekey_id NOT IN (SELECT prekey_id FROM hub_prekey_book "
                  "WHERE owner_key = ?1 ORDER BY prekey_id DESC LIMIT ?2)"));
  trim.BindBlob(1, row.owner_key);
  trim.Bind(2, static_cast<int64_t>(kHubPrekeysPerOwner));
  CARAVAN_RETURN_IF_ERROR(trim.Run());
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      int64_t rows, db_.QueryInt("SELECT count(*) FROM hub_prekey_book"));
  if (rows > static_cast<int64_t>(kMaxHubPrekeyRows)) {
    // Returning an error rolls this write back (its savepoint).
    return InvalidInput("the hub's prekey book is full (" +
                        std::to_string(kMaxHubPrekeyRows) +
                        " statements); expired ones are pruned hourly");
  }
  return true;
}

Result<uint64_t> WriteTxn::HubPrekeyPrune(int64_t now) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare(std::string("DELETE FROM hub_prekey_book WHERE "
                              "not_after <= ? OR ") +
                  kMalformedRow));
  st.Bind(1, now);
  CARAVAN_RETURN_IF_ERROR(st.Run());
  return static_cast<uint64_t>(sqlite3_changes(db_.handle()));
}

Status WriteTxn::HubPrekeyDelete(const PublicKey& owner, uint64_t prekey_id) {
  if (prekey_id > static_cast<uint64_t>(INT64_MAX)) return Status::Ok();
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("DELETE FROM hub_prekey_book WHERE owner_key = ? AND "
                  "prekey_id = ?"));
  st.BindBlob(1, owner);
  st.Bind(2, static_cast<int64_t>(prekey_id));
  return st.Run();
}

Result<HubPrekeyBookRows> Reader::HubPrekeyBook() {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT owner_key, prekey_id, not_after, statement, "
                   "stored_at, typeof(prekey_id), typeof(not_after), "
                   "typeof(statement) FROM "
                   "hub_prekey_book ORDER BY owner_key, prekey_id DESC"));
  HubPrekeyBookRows out;
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool more, st.Step());
    if (!more) break;
    HubPrekeyRow row;
    const bool ok = st.FixedBlob(0, row.owner_key) &&
                    st.Text(5) == "integer" && st.Text(6) == "integer" &&
                    st.Text(7) == "blob" && st.Int(1) >= 1;
    if (ok) row.statement = st.Blob(3);
    if (!ok || row.statement.empty() ||
        row.statement.size() > kMaxHubPrekeyStatementBytes) {
      ++out.malformed;  // never served; HubPrekeyPrune deletes it
      continue;
    }
    row.prekey_id = static_cast<uint64_t>(st.Int(1));
    row.not_after = st.Int(2);
    row.stored_at = st.Int(4);
    out.rows.push_back(std::move(row));
  }
  return out;
}

}  // namespace caravan::store
