// WriteTxn and Reader methods for member trust (schema.cc,
// kMigrationMemberTrust; member_trust.h): departed members, compromised
// keys and the compromise notices already applied (issue 16).
#include "daemon/store/member_trust.h"

#include <sqlite3.h>

#include <vector>

#include "daemon/store/index_levels.h"
#include "daemon/store/reader.h"
#include "daemon/store/sqlite_db.h"
#include "daemon/store/write_txn.h"

namespace caravan::store {

using internal::Statement;

std::string_view CompromiseActionName(CompromiseAction a) {
  return a == CompromiseAction::kFlag ? "flag" : "quarantine";
}

Status WriteTxn::PutDeparted(const DepartedMember& m) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("INSERT INTO departed_members (identity_key, name, "
                  "removed_at) VALUES (?1, ?2, ?3) ON CONFLICT (identity_key) "
                  "DO UPDATE SET name = excluded.name, "
                  "removed_at = excluded.removed_at"));
  st.BindBlob(1, m.key);
  st.BindText(2, m.name);
  st.Bind(3, m.removed_at);
  return st.Run();
}

Status WriteTxn::ForgetDeparted(const PublicKey& key) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("DELETE FROM departed_members WHERE identity_key = ?1"));
  st.BindBlob(1, key);
  return st.Run();
}

Status WriteTxn::PutCompromised(const CompromisedKey& c) {
  // A second declaration can only widen what is distrusted: the earlier
  // `since` wins, and 'quarantine' is never weakened to 'flag'.
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare(
          "INSERT INTO compromised_keys (identity_key, since, declared_at, "
          "declared_by, name, action) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
          "ON CONFLICT (identity_key) DO UPDATE SET "
          "since = min(since, excluded.since), "
          "action = CASE WHEN action = 'quarantine' THEN 'quarantine' "
          "ELSE excluded.action END"));
  st.BindBlob(1, c.key);
  st.Bind(2, c.since);
  st.Bind(3, c.declared_at);
  st.BindBlob(4, c.declared_by);
  st.BindText(5, c.name);
  st.BindText(6, CompromiseActionName(c.action));
  return st.Run();
}

Result<std::vector<IndicatorId>> WriteTxn::QuarantineOrigin(
    const PublicKey& origin, int64_t since, int64_t until) {
  std::vector<IndicatorId> ids;
  {
    CARAVAN_STORE_ASSIGN_OR_RETURN(
        Statement st,
        db_.Prepare("SELECT id FROM indicators WHERE origin = ?1 AND "
                    "created >= ?2 AND created < ?3 AND quarantined = 0 ORDER BY rid"));
    st.BindBlob(1, origin);
    st.Bind(2, since);
    st.Bind(3, until);
    for (;;) {
      CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      IndicatorId id{};
      if (!st.FixedBlob(0, id)) return Corrupt("indicators holds a bad id");
      ids.push_back(id);
    }
  }
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("UPDATE indicators SET quarantined = 1 WHERE origin = ?1 "
                  "AND created >= ?2 AND created < ?3 AND quarantined = 0"));
  st.BindBlob(1, origin);
  st.Bind(2, since);
  st.Bind(3, until);
  CARAVAN_RETURN_IF_ERROR(st.Run());
  return ids;
}

Result<PurgeCounts> WriteTxn::PurgeOrigin(const PublicKey& origin,
                                          bool count_only) {
  PurgeCounts counts;
  std::vector<IndicatorId> ids;
  {
    // Every indicator of that origin (every record has its indicator's
    // row; one pass over indicators: a rare, operator-started purge).
    CARAVAN_STORE_ASSIGN_OR_RETURN(
        Statement st,
        db_.Prepare("SELECT id FROM indicators WHERE origin = ?1"));
    st.BindBlob(1, origin);
    for (;;) {
      CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      IndicatorId id{};
      if (!st.FixedBlob(0, id)) return Corrupt("records holds a bad id");
      ids.push_back(id);
    }
  }
  for (const auto& id : ids) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(
        Statement st,
        db_.Prepare("SELECT (SELECT count(*) FROM sightings WHERE id = ?1), "
                    "(SELECT count(*) FROM indicators WHERE " +
                    internal::IdIs("", "?1") +
                    "), (SELECT count(*) FROM indicators WHERE " +
                    internal::IdIs("", "?1") +
                    " AND quarantined = 1), "
                    "(SELECT count(*) FROM records WHERE rid = "
                    "(SELECT rid FROM indicators WHERE " +
                    internal::IdIs("", "?1") + "))"));
    st.BindBlob(1, id);
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) {
      counts.sightings += static_cast<uint64_t>(st.Int(0));
      counts.indicators += static_cast<uint64_t>(st.Int(1));
      counts.quarantined += static_cast<uint64_t>(st.Int(2));
      if (count_only) counts.records += static_cast<uint64_t>(st.Int(3));
    }
    if (count_only) continue;
    auto deleted = DeleteIndicator(id);
    if (!deleted.ok()) return deleted.status();
    counts.records += *deleted;
  }
  return counts;
}

Result<bool> WriteTxn::RecordCompromiseNotice(const std::array<uint8_t, 32>& digest,
                                              const PublicKey& issuer,
                                              const PublicKey& compromised,
                                              int64_t since,
                                              int64_t issued_at) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("INSERT OR IGNORE INTO compromise_notices (digest, issuer, "
                  "compromised, since, issued_at, received_at) VALUES "
                  "(?1, ?2, ?3, ?4, ?5, ?6)"));
  st.BindBlob(1, digest);
  st.BindBlob(2, issuer);
  st.BindBlob(3, compromised);
  st.Bind(4, since);
  st.Bind(5, issued_at);
  st.Bind(6, now_);
  CARAVAN_RETURN_IF_ERROR(st.Run());
  return sqlite3_changes(db_.handle()) > 0;
}

Result<std::vector<std::string>> Reader::PeersHolding(const PublicKey& origin,
                                                      int64_t since) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT DISTINCT d.peer FROM indicators i JOIN deliveries "
                   "d ON d.rid = i.rid WHERE i.origin = ?1 AND i.created >= ?2 "
                   "ORDER BY d.peer"));
  st.BindBlob(1, origin);
  st.Bind(2, since);
  std::vector<std::string> out;
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(st.Text(0));
  }
  return out;
}

namespace {

// Both member trust tables, for the Reader and (inside a write, so an
// arriving record sees a compromise declared earlier in the same batch)
// the WriteTxn.
Result<MemberTrust> ReadMemberTrust(internal::Database& db) {
  MemberTrust out;
  {
    CARAVAN_STORE_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("SELECT identity_key, name, removed_at FROM "
                   "departed_members"));
    for (;;) {
      CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      DepartedMember m;
      if (!st.FixedBlob(0, m.key)) {
        return Corrupt("departed_members holds a malformed identity key");
      }
      m.name = st.Text(1);
      m.removed_at = st.Int(2);
      out.departed[m.key] = std::move(m);
    }
  }
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db.Prepare("SELECT identity_key, since, declared_at, declared_by, "
                 "name, action FROM compromised_keys"));
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    CompromisedKey c;
    if (!st.FixedBlob(0, c.key) || !st.FixedBlob(3, c.declared_by)) {
      return Corrupt("compromised_keys holds a malformed key");
    }
    c.since = st.Int(1);
    c.declared_at = st.Int(2);
    c.name = st.Text(4);
    c.action = st.Text(5) == "flag" ? CompromiseAction::kFlag
                                    : CompromiseAction::kQuarantine;
    out.compromised[c.key] = std::move(c);
  }
  return out;
}

}  // namespace

Result<MemberTrust> Reader::GetMemberTrust() { return ReadMemberTrust(*db_); }

Result<MemberTrust> WriteTxn::GetMemberTrust() { return ReadMemberTrust(db_); }

}  // namespace caravan::store
