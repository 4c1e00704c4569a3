#include "daemon/store/write_txn.h"

#include <limits>
#include <map>
#include <string>

#include "crypto/key_text.h"
#include "daemon/store/audit_chain.h"
#include "daemon/store/id_key_filter.h"
#include "daemon/store/index_levels.h"
#include "daemon/store/ip_key.h"
#include "daemon/store/origin_seqs.h"
#include "daemon/store/record_forms.h"
#include "daemon/store/sqlite_db.h"

namespace caravan::store {
namespace {

using internal::Statement;
using protocol::IndicatorType;

constexpr uint64_t kMaxSqlInt =
    static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

std::string Hex(const IndicatorId& id) { return crypto::ToHex(id); }

Status CheckLength(std::string_view what, std::string_view value,
                   size_t max) {
  if (value.size() > max) {
    return InvalidInput(std::string(what) + " is " +
                        std::to_string(value.size()) +
                        " bytes, more than the limit of " +
                        std::to_string(max));
  }
  return Status::Ok();
}

Status CheckName(std::string_view what, std::string_view value) {
  if (value.empty()) return InvalidInput(std::string(what) + " is empty");
  return CheckLength(what, value, kMaxNameBytes);
}

Status CheckSeq(std::string_view what, uint64_t seq) {
  if (seq > kMaxSqlInt) {
    return InvalidInput(std::string(what) + " " + std::to_string(seq) +
                        " is out of range");
  }
  return Status::Ok();
}

Status ValidateRecord(const RecordRow& row) {
  const protocol::RecordBody& b = row.body;
  const protocol::Indicator& ind = b.indicator;
  if (row.signed_bytes.empty()) {
    return InvalidInput("record " + Hex(row.id) + " has no signed bytes");
  }
  if (row.signed_bytes.size() > kMaxSignedRecordBytes) {
    return InvalidInput("record " + Hex(row.id) + " is " +
                        std::to_string(row.signed_bytes.size()) +
                        " bytes, more than the limit of " +
                        std::to_string(kMaxSignedRecordBytes));
  }
  if (b.revision < 1) {
    return InvalidInput("record " + Hex(row.id) + " has revision 0");
  }
  CARAVAN_RETURN_IF_ERROR(CheckSeq("origin_seq", b.origin_seq));
  if (static_cast<int>(ind.type) >= protocol::kIndicatorTypeCount) {
    return InvalidInput("record " + Hex(row.id) + " has an unknown type");
  }
  if (ind.value.empty()) {
    return InvalidInput("record " + Hex(row.id) + " has an empty value");
  }
  CARAVAN_RETURN_IF_ERROR(
      CheckLength("value", ind.value, protocol::kMaxValueBytes));
  CARAVAN_RETURN_IF_ERROR(CheckLength("description", ind.description,
                                      protocol::kMaxDescriptionBytes));
  CARAVAN_RETURN_IF_ERROR(CheckLength("revoke_reason", ind.revoke_reason,
                                      protocol::kMaxRevokeReasonBytes));
  if (ind.confidence > 100) {
    return InvalidInput("confidence " + std::to_string(ind.confidence) +
                        " is above 100");
  }
  if (ind.tags.size() > protocol::kMaxTags) {
    return InvalidInput("record " + Hex(row.id) + " has " +
                        std::to_string(ind.tags.size()) +
                        " tags, more than the limit of " +
                        std::to_string(protocol::kMaxTags));
  }
  for (const std::string& tag : ind.tags) {
    if (tag.empty()) return InvalidInput("a tag is empty");
    CARAVAN_RETURN_IF_ERROR(CheckLength("tag", tag, protocol::kMaxTagBytes));
  }
  CARAVAN_RETURN_IF_ERROR(CheckName("origin_country", row.origin_country));
  CARAVAN_RETURN_IF_ERROR(CheckName("origin_name", row.origin_name));
  CARAVAN_RETURN_IF_ERROR(
      CheckLength("received_from", row.received_from, kMaxNameBytes));
  return Status::Ok();
}

// Which of two records of one id is the better current view: the higher
// revision; at equal revision the full variant 0 beats a redacted one.
bool Supersedes(uint32_t revision, uint32_t variant, const CurrentInfo& cur) {
  if (revision != cur.revision) return revision > cur.revision;
  return variant == 0 && cur.variant != 0;
}

}  // namespace

namespace {

// `prepared`, its tree levels decided from the levels of its batch
// (`leaves`; computed once per batch, in `levels`).
std::shared_ptr<const internal::PreparedForm> Kept(
    internal::PreparedForm prepared,
    const std::shared_ptr<const std::vector<crypto::MerkleHash>>& leaves,
    BatchLevelsCache& levels) {
  auto kept = std::make_shared<internal::PreparedForm>(std::move(prepared));
  if (!kept->levels_decided) {
    auto& of_batch = levels.of_batch[leaves.get()];
    if (!of_batch) {
      of_batch = std::make_shared<const crypto::MerkleLevels>(
          crypto::MerkleTreeLevels(*leaves));
    }
    internal::DecideLevels(*kept, of_batch);
  }
  return kept;
}

}  // namespace

void PrepareRecords(std::span<RecordRow> rows) {
  BatchLevelsCache levels;
  for (RecordRow& row : rows) {
    row.prepared = Kept(internal::PrepareForm(row.signed_bytes, row.body.origin,
                                              row.salt_seed, row.batch_leaves),
                        row.batch_leaves, levels);
  }
}

void PrepareSignerRecords(std::span<RecordRow> rows,
                          std::vector<protocol::SignedRecord> records) {
  if (records.size() != rows.size()) {  // not one record per row: no trust
    PrepareRecords(rows);
    return;
  }
  BatchLevelsCache levels;
  for (size_t i = 0; i < rows.size(); ++i) {
    RecordRow& row = rows[i];
    row.prepared = PrepareReceivedForm(std::move(records[i]), row.signed_bytes,
                                       row.body.origin, row.salt_seed,
                                       row.batch_leaves, levels);
  }
}

std::shared_ptr<const internal::PreparedForm> PrepareReceivedForm(
    protocol::SignedRecord record, const std::vector<uint8_t>& signed_bytes,
    const std::array<uint8_t, 32>& origin,
    const std::optional<std::array<uint8_t, 32>>& salt_seed,
    const std::shared_ptr<const std::vector<crypto::MerkleHash>>& leaves,
    BatchLevelsCache& levels) {
  return Kept(internal::PrepareSignerForm(std::move(record), signed_bytes,
                                          origin, salt_seed, leaves),
              leaves, levels);
}

WriteTxn::WriteTxn(internal::Database& db, internal::OriginSeqs& origin_seqs,
                   internal::IdKeyFilter& id_filter, int64_t now)
    : db_(db),
      origin_seqs_(origin_seqs),
      id_filter_(id_filter),
      now_(now),
      forms_(std::make_unique<internal::RecordForms>(db)) {}

WriteTxn::~WriteTxn() = default;

Result<std::optional<CurrentInfo>> WriteTxn::Current(const IndicatorId& id) {
  // The rows the id's key names (index_levels.h), the one with this whole
  // id read: asked before every new row is added, so no SQL text is built
  // and no temporary table made here; and nothing at all is searched for
  // an id whose key the filter never saw (most new ids).
  if (!id_filter_.MayHold(internal::IdKeyOf(id))) {
    return std::optional<CurrentInfo>();
  }
  CARAVAN_STORE_ASSIGN_OR_RETURN(std::vector<int64_t> rids,
                                 internal::RidsWithIdKey(db_, id));
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("SELECT type, value, origin, revision, variant, revoked, "
                  "quarantined, record_seq, rid FROM indicators "
                  "WHERE rid = ?1 AND id = ?2"));
  bool row = false;
  for (int64_t rid : rids) {
    st.Reset();
    st.Bind(1, rid);
    st.BindBlob(2, id);
    CARAVAN_STORE_ASSIGN_OR_RETURN(row, st.Step());
    if (row) break;
  }
  if (!row) return std::optional<CurrentInfo>();
  CurrentInfo info;
  info.type = static_cast<IndicatorType>(st.Int(0));
  info.value = st.Text(1);
  if (!st.FixedBlob(2, info.origin)) {
    return Corrupt("indicator " + Hex(id) + " has a malformed origin key");
  }
  info.revision = static_cast<uint32_t>(st.Int(3));
  info.variant = static_cast<uint32_t>(st.Int(4));
  info.revoked = st.Int(5) != 0;
  info.quarantined = st.Int(6) != 0;
  info.record_seq = static_cast<uint64_t>(st.Int(7));
  info.rid = st.Int(8);
  return std::optional<CurrentInfo>(std::move(info));
}

Result<uint64_t> WriteTxn::LastLogSeq() {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      int64_t seq, db_.QueryInt("SELECT coalesce(max(seq), 0) FROM records"));
  return static_cast<uint64_t>(seq);
}

Result<std::optional<CurrentBody>> WriteTxn::CurrentRecordBody(
    const IndicatorId& id) {
  return internal::CurrentBodyOf(db_, id);
}

Result<InsertOutcome> WriteTxn::InsertRecord(const RecordRow& row) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(std::optional<CurrentInfo> cur,
                                 Current(row.id));
  return InsertChecked(row, cur, NewId::kLookedUpNow);
}

Result<InsertOutcome> WriteTxn::InsertRecord(
    const RecordRow& row, const std::optional<CurrentInfo>& cur) {
  return InsertChecked(row, cur, NewId::kCallerSays);
}

Result<InsertOutcome> WriteTxn::InsertChecked(
    const RecordRow& row, const std::optional<CurrentInfo>& cur, NewId why) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(std::optional<InsertOutcome> out,
                                 Insert(row, cur, why));
  if (!out) {
    return Internal("indicator " + Hex(row.id) +
                    " is held already, though read as new in this write");
  }
  return *out;
}

Result<std::optional<InsertOutcome>> WriteTxn::InsertIfStillNew(
    const RecordRow& row) {
  return Insert(row, std::nullopt, NewId::kMayBeHeld);
}

Result<std::optional<InsertOutcome>> WriteTxn::Insert(
    const RecordRow& row, const std::optional<CurrentInfo>& cur, NewId why) {
  const bool id_may_be_held = why == NewId::kMayBeHeld;
  CARAVAN_RETURN_IF_ERROR(ValidateRecord(row));
  const protocol::RecordBody& b = row.body;
  if (b.indicator.type == IndicatorType::kIpv4 ||
      b.indicator.type == IndicatorType::kIpv6) {
    // Checked here so a bad value fails before anything is written.
    CARAVAN_RETURN_IF_ERROR(
        internal::IpKeyFor(b.indicator.type, b.indicator.value).status());
  }
  if (cur && (cur->type != b.indicator.type ||
              cur->value != b.indicator.value || cur->origin != b.origin)) {
    return InvalidInput("record " + Hex(row.id) + " revision " +
                        std::to_string(b.revision) +
                        " names a different type, value or origin than the "
                        "revisions already held for that id");
  }

  InsertOutcome out;
  if (cur) {
    // A record held already is a no-op that names its log entry (what
    // stops relay loops); probed first, so a duplicate costs no encoding.
    // A new id has no records yet.
    CARAVAN_STORE_ASSIGN_OR_RETURN(
        Statement st,
        db_.Prepare("SELECT seq FROM records WHERE rid = ? AND revision = ? "
                    "AND variant = ?"));
    st.Bind(1, cur->rid);
    st.Bind(2, b.revision);
    st.Bind(3, b.variant);
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool found, st.Step());
    if (found) {
      out.kind = InsertOutcome::kDuplicate;
      out.log_seq = static_cast<uint64_t>(st.Int(0));
      return std::optional<InsertOutcome>(out);
    }
  }
  // A record names its indicator by rid, so a new id's current row is
  // written first, naming the log entry the record is about to get. When
  // the id may be held already (InsertIfStillNew) that row goes in before
  // the record's form is placed, so an id found held leaves nothing
  // behind; otherwise after it, so a form that cannot be placed (a store
  // error a receiver records as a rejection and goes on) leaves no
  // indicator without its record.
  internal::RecordForm form;
  const auto place = [&]() -> Status {
    const bool prepared =
        row.prepared &&
        internal::PreparedFor(*row.prepared, row.signed_bytes, b.origin,
                              row.salt_seed, row.batch_leaves);
    if (prepared) {
      CARAVAN_STORE_ASSIGN_OR_RETURN(form, forms_->Place(*row.prepared));
    } else {
      CARAVAN_STORE_ASSIGN_OR_RETURN(
          form, forms_->Compact(row.signed_bytes, b.origin, row.salt_seed,
                                row.batch_leaves));
    }
    return Status::Ok();
  };
  if (!id_may_be_held) CARAVAN_RETURN_IF_ERROR(place());
  int64_t rid = 0;
  if (!cur && why != NewId::kLookedUpNow) {
    // No unique index stops a second row for an id (index_levels.h): the
    // id is looked up here, by the only writer, before its row is added,
    // unless InsertRecord just did.
    CARAVAN_STORE_ASSIGN_OR_RETURN(std::optional<CurrentInfo> held,
                                   Current(row.id));
    if (held) return std::optional<InsertOutcome>();
  }
  if (!cur) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(out.log_seq, NextLogSeq());
    CARAVAN_STORE_ASSIGN_OR_RETURN(rid, WriteCurrent(row, out.log_seq, 0));
    out.became_current = true;
  } else {
    rid = cur->rid;
  }
  if (id_may_be_held) CARAVAN_RETURN_IF_ERROR(place());
  {
    CARAVAN_STORE_ASSIGN_OR_RETURN(
        Statement st,
        db_.Prepare("INSERT INTO records (seq, rid, revision, variant, "
                    "origin_seq, created, received_from, stored_at, batch, "
                    "leaf, signature, salt, body, raw) VALUES (?1, ?2, ?3, "
                    "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"));
    if (out.log_seq != 0) {
      st.Bind(1, static_cast<int64_t>(out.log_seq));
    } else {
      st.BindNull(1);
    }
    st.Bind(2, rid);
    st.Bind(3, b.revision);
    st.Bind(4, b.variant);
    st.Bind(5, static_cast<int64_t>(b.origin_seq));
    st.Bind(6, b.created);
    if (row.received_from.empty()) {
      st.BindNull(7);
    } else {
      st.BindTextBorrowed(7, row.received_from);
    }
    st.Bind(8, now_);
    internal::BindRecordForm(st, 9, form);
    CARAVAN_RETURN_IF_ERROR(st.Run());
  }
  const uint64_t seq =
      static_cast<uint64_t>(sqlite3_last_insert_rowid(db_.handle()));
  if (out.log_seq != 0 && seq != out.log_seq) {
    return Internal("record stored as log entry " + std::to_string(seq) +
                    ", not the " + std::to_string(out.log_seq) +
                    " its indicator names");
  }
  out.log_seq = seq;
  // Every record is appended here, at the end of the log (AUTOINCREMENT
  // never reuses a number), so the next one follows it.
  next_log_seq_ = seq + 1;
  CARAVAN_RETURN_IF_ERROR(
      forms_->Inserted(static_cast<int64_t>(out.log_seq), form));
  if (!cur) return std::optional<InsertOutcome>(out);
  if (Supersedes(b.revision, b.variant, *cur)) {
    CARAVAN_RETURN_IF_ERROR(WriteCurrent(row, out.log_seq, cur->rid).status());
    out.became_current = true;
    CARAVAN_RETURN_IF_ERROR(MarkSuperseded(cur->record_seq));
  } else {
    CARAVAN_RETURN_IF_ERROR(MarkSuperseded(out.log_seq));
  }
  return std::optional<InsertOutcome>(out);
}

Result<uint64_t> WriteTxn::NextLogSeq() {
  if (next_log_seq_ != 0) return next_log_seq_;
  // AUTOINCREMENT gives one more than the largest number ever used (kept
  // in sqlite_sequence) or held, whichever is larger.
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      int64_t next,
      db_.QueryInt("SELECT max(coalesce((SELECT seq FROM sqlite_sequence "
                   "WHERE name = 'records'), 0), "
                   "coalesce((SELECT max(seq) FROM records), 0)) + 1"));
  next_log_seq_ = static_cast<uint64_t>(next);
  return next_log_seq_;
}

void WriteTxn::SavepointRolledBack() {
  next_log_seq_ = 0;
  forms_->Forget();
}

Status WriteTxn::MarkSuperseded(uint64_t seq) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("UPDATE records SET superseded = 1 WHERE seq = ?"));
  st.Bind(1, static_cast<int64_t>(seq));
  return st.Run();
}

Result<int64_t> WriteTxn::WriteCurrent(const RecordRow& row, uint64_t seq,
                                       int64_t replacing_rid) {
  const bool replacing = replacing_rid != 0;
  const protocol::RecordBody& b = row.body;
  const protocol::Indicator& ind = b.indicator;
  // An INSERT for the first revision, an UPDATE (the row keeps its rid, the
  // query cursor) when one supersedes. Neither uses RETURNING: SQLite runs
  // RETURNING as a trigger, which makes every such statement open a
  // statement journal and copy the pages it touches there first.
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare(
          replacing
              ? "UPDATE indicators SET origin_country = ?5, origin_name = ?6, "
                "revision = ?7, variant = ?8, record_seq = ?9, tlp = ?10, "
                "confidence = ?11, description = ?12, created = ?13, "
                "valid_until = ?14, first_seen = ?15, last_seen = ?16, "
                "reshare = ?17, revoked = ?18, revoke_reason = ?19, "
                "received_from = ?20, quarantined = ?21, warning = ?22, "
                "stored_at = ?23 WHERE rid = ?24"  // type, value and origin
                                                   // never change (checked)
              : "INSERT INTO indicators (id, type, value, origin, "
                "origin_country, origin_name, revision, variant, record_seq, "
                "tlp, confidence, description, created, valid_until, "
                "first_seen, last_seen, reshare, revoked, revoke_reason, "
                "received_from, quarantined, warning, stored_at) VALUES (?1, "
                "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
                "?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)"));
  // The row's own fields, borrowed: `row` outlives `st` (the writer's hot
  // path; Statement::BindTextBorrowed).
  st.BindBlobBorrowed(1, row.id);
  st.Bind(2, static_cast<int64_t>(ind.type));
  st.BindTextBorrowed(3, ind.value);
  st.BindBlobBorrowed(4, b.origin);
  st.BindTextBorrowed(5, row.origin_country);
  st.BindTextBorrowed(6, row.origin_name);
  st.Bind(7, b.revision);
  st.Bind(8, b.variant);
  st.Bind(9, static_cast<int64_t>(seq));
  st.Bind(10, static_cast<int64_t>(ind.tlp));
  st.Bind(11, ind.confidence);
  st.BindTextBorrowed(12, ind.description);
  st.Bind(13, b.created);
  st.Bind(14, ind.valid_until);
  st.Bind(15, ind.first_seen);
  st.Bind(16, ind.last_seen);
  st.Bind(17, static_cast<int64_t>(ind.reshare));
  st.Bind(18, ind.revoked ? 1 : 0);
  st.BindTextBorrowed(19, ind.revoke_reason);
  if (row.received_from.empty()) {
    st.BindNull(20);
  } else {
    st.BindTextBorrowed(20, row.received_from);
  }
  st.Bind(21, row.quarantined ? 1 : 0);
  st.Bind(22, row.warning ? 1 : 0);
  st.Bind(23, now_);
  if (replacing) st.Bind(24, replacing_rid);
  CARAVAN_RETURN_IF_ERROR(st.Run());
  int64_t rid = replacing_rid;
  if (!replacing) {
    rid = sqlite3_last_insert_rowid(db_.handle());
    std::optional<internal::IpKey> ip;
    if (ind.type == IndicatorType::kIpv4 || ind.type == IndicatorType::kIpv6) {
      CARAVAN_STORE_ASSIGN_OR_RETURN(ip,
                                     internal::IpKeyFor(ind.type, ind.value));
    }
    CARAVAN_RETURN_IF_ERROR(
        internal::AddKeys(db_, rid, row.id, ind.value, ip ? &*ip : nullptr));
    id_filter_.Add(internal::IdKeyOf(row.id));
    ++level0_rows_added_;
  } else if (sqlite3_changes(db_.handle()) != 1) {
    return Internal("indicator " + Hex(row.id) +
                    " to supersede is not in the current view");
  }

  if (replacing) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(
        Statement del,
        db_.Prepare("DELETE FROM indicator_tags WHERE rid = ?"));
    del.Bind(1, rid);
    CARAVAN_RETURN_IF_ERROR(del.Run());
  }
  for (const std::string& tag : ind.tags) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(
        Statement ins, db_.Prepare("INSERT OR IGNORE INTO indicator_tags "
                                   "(rid, tag) VALUES (?, ?)"));
    ins.Bind(1, rid);
    ins.BindText(2, tag);
    CARAVAN_RETURN_IF_ERROR(ins.Run());
  }
  return rid;
}

Result<uint64_t> WriteTxn::NextOriginSeq() { return ReserveOriginSeqs(1); }

Result<uint64_t> WriteTxn::ReserveOriginSeqs(uint64_t n) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(uint64_t first, origin_seqs_.Take(n));
  CARAVAN_RETURN_IF_ERROR(KeepOriginSeqs(first + n - 1));
  return first;
}

Status WriteTxn::KeepOriginSeqs(uint64_t last) {
  CARAVAN_RETURN_IF_ERROR(CheckSeq("origin_seq", last));
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st, db_.Prepare("UPDATE meta SET value = max(value, ?) "
                                "WHERE key = 'origin_seq'"));
  st.Bind(1, static_cast<int64_t>(last));
  CARAVAN_RETURN_IF_ERROR(st.Run());
  if (sqlite3_changes(db_.handle()) != 1) {
    return Corrupt("meta table has no origin_seq");
  }
  return Status::Ok();
}

Result<uint64_t> WriteTxn::AppendAudit(const AuditEvent& event) {
  return AppendAudits(std::span<const AuditEvent>(&event, 1));
}

Result<uint64_t> WriteTxn::AppendAudits(std::span<const AuditEvent> events) {
  for (const AuditEvent& e : events) {
    CARAVAN_RETURN_IF_ERROR(CheckLength("audit actor", e.actor,
                                        kMaxAuditFieldBytes));
    CARAVAN_RETURN_IF_ERROR(CheckLength("audit action", e.action,
                                        kMaxAuditFieldBytes));
    CARAVAN_RETURN_IF_ERROR(CheckLength("audit subject", e.subject,
                                        kMaxAuditFieldBytes));
    CARAVAN_RETURN_IF_ERROR(CheckLength("audit peer", e.peer,
                                        kMaxAuditFieldBytes));
    CARAVAN_RETURN_IF_ERROR(CheckLength("audit detail", e.detail,
                                        kMaxAuditDetailBytes));
    if (e.actor.empty() || e.action.empty()) {
      return InvalidInput("audit entry needs an actor and an action");
    }
  }
  if (events.empty()) return InvalidInput("no audit entries to append");
  uint64_t seq = 0;
  internal::AuditHash hash{};
  {
    CARAVAN_STORE_ASSIGN_OR_RETURN(
        Statement st,
        db_.Prepare("SELECT (SELECT value FROM meta WHERE key = "
                    "'audit_head_seq'), (SELECT value FROM meta WHERE key = "
                    "'audit_head_hash')"));
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row || !st.FixedBlob(1, hash)) {
      return Corrupt("meta table has no valid audit head");
    }
    seq = static_cast<uint64_t>(st.Int(0));
  }
  for (const AuditEvent& e : events) {
    const internal::AuditHash prev_hash = hash;
    ++seq;
    hash = internal::ComputeAuditHash(prev_hash, seq, e);
    CARAVAN_STORE_ASSIGN_OR_RETURN(
        Statement st,
        db_.Prepare("INSERT INTO audit (seq, time, actor, action, subject, "
                    "peer, detail, prev_hash, hash) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    st.Bind(1, static_cast<int64_t>(seq));
    st.Bind(2, e.time);
    st.BindText(3, e.actor);
    st.BindText(4, e.action);
    st.BindText(5, e.subject);
    st.BindText(6, e.peer);
    st.BindText(7, e.detail);
    st.BindBlob(8, prev_hash);
    st.BindBlob(9, hash);
    CARAVAN_RETURN_IF_ERROR(st.Run());
  }
  // The head is anchored in meta in the same transaction, so deleting the
  // newest entries is detected too (Reader::VerifyAuditChain).
  {
    CARAVAN_STORE_ASSIGN_OR_RETURN(
        Statement st,
        db_.Prepare("UPDATE meta SET value = CASE key "
                    "WHEN 'audit_head_seq' THEN ?1 ELSE ?2 END "
                    "WHERE key IN ('audit_head_seq', 'audit_head_hash')"));
    st.Bind(1, static_cast<int64_t>(seq));
    st.BindBlob(2, hash);
    CARAVAN_RETURN_IF_ERROR(st.Run());
  }
  return seq;
}

Status WriteTxn::AddSighting(const Sighting& s) {
  CARAVAN_RETURN_IF_ERROR(CheckLength("sighting note", s.note, kMaxNoteBytes));
  CARAVAN_RETURN_IF_ERROR(
      CheckLength("sighting actor", s.actor, kMaxAuditFieldBytes));
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st, db_.Prepare("INSERT INTO sightings (id, time, note, actor) "
                                "VALUES (?, ?, ?, ?)"));
  st.BindBlob(1, s.id);
  st.Bind(2, s.time);
  st.BindText(3, s.note);
  st.BindText(4, s.actor);
  return st.Run();
}

Status WriteTxn::AddRosterMember(const RosterMember& m) {
  CARAVAN_RETURN_IF_ERROR(CheckName("roster name", m.name));
  if (m.country.size() != 2 || m.country[0] < 'A' || m.country[0] > 'Z' ||
      m.country[1] < 'A' || m.country[1] > 'Z') {
    return InvalidInput("roster country '" + m.country.substr(0, 16) +
                        "' is not an upper-case ISO 3166-1 alpha-2 code");
  }
  CARAVAN_RETURN_IF_ERROR(
      CheckLength("roster endpoint", m.endpoint, kMaxNameBytes));
  {
    CARAVAN_STORE_ASSIGN_OR_RETURN(
        Statement st, db_.Prepare("SELECT name, identity_key = ?2 FROM roster "
                                  "WHERE name = ?1 OR identity_key = ?2"));
    st.BindText(1, m.name);
    st.BindBlob(2, m.identity_key);
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool clash, st.Step());
    if (clash) {
      if (st.Int(1)) {
        return InvalidInput("identity key is already in the roster as '" +
                            st.Text(0) + "'");
      }
      return InvalidInput("roster already has a member named '" + m.name +
                          "'");
    }
  }
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("INSERT INTO roster (name, country, identity_key, endpoint, "
                  "added_at) VALUES (?, ?, ?, ?, ?)"));
  st.BindText(1, m.name);
  st.BindText(2, m.country);
  st.BindBlob(3, m.identity_key);
  st.BindText(4, m.endpoint);
  st.Bind(5, now_);
  return st.Run();
}

Status WriteTxn::RemoveRosterMember(std::string_view name) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st, db_.Prepare("DELETE FROM roster WHERE name = ?"));
  st.BindText(1, name);
  CARAVAN_RETURN_IF_ERROR(st.Run());
  if (sqlite3_changes(db_.handle()) == 0) {
    return NotFound("no roster member named '" + std::string(name) + "'");
  }
  return Status::Ok();
}

Status WriteTxn::EnsurePeer(std::string_view peer) {
  CARAVAN_RETURN_IF_ERROR(CheckName("peer name", peer));
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st, db_.Prepare("INSERT INTO peer_state (peer) VALUES (?) "
                                "ON CONFLICT (peer) DO NOTHING"));
  st.BindText(1, peer);
  return st.Run();
}

namespace {

// One statement per cursor column; the column name is not a parameter, so
// each gets its own (cached) SQL text.
Status AdvanceColumn(internal::Database& db, const char* sql,
                     std::string_view peer, uint64_t seq) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
  st.Bind(1, static_cast<int64_t>(seq));
  st.BindText(2, peer);
  return st.Run();
}

}  // namespace

Status WriteTxn::AdvanceDecided(std::string_view peer, uint64_t seq) {
  CARAVAN_RETURN_IF_ERROR(CheckSeq("decided seq", seq));
  CARAVAN_RETURN_IF_ERROR(EnsurePeer(peer));
  return AdvanceColumn(db_,
                       "UPDATE peer_state SET decided_seq = "
                       "max(decided_seq, ?1) WHERE peer = ?2",
                       peer, seq);
}

Status WriteTxn::AdvanceAcked(std::string_view peer, uint64_t seq) {
  CARAVAN_RETURN_IF_ERROR(CheckSeq("acked seq", seq));
  CARAVAN_RETURN_IF_ERROR(EnsurePeer(peer));
  return AdvanceColumn(db_,
                       "UPDATE peer_state SET acked_seq = max(acked_seq, ?1) "
                       "WHERE peer = ?2",
                       peer, seq);
}

Status WriteTxn::AdvanceAckedWithinDecided(std::string_view peer,
                                           uint64_t seq) {
  CARAVAN_RETURN_IF_ERROR(CheckSeq("acked seq", seq));
  CARAVAN_RETURN_IF_ERROR(EnsurePeer(peer));
  return AdvanceColumn(db_,
                       "UPDATE peer_state SET acked_seq = "
                       "max(acked_seq, min(?1, decided_seq)) WHERE peer = ?2",
                       peer, seq);
}

Status WriteTxn::AdvanceInbound(std::string_view peer, uint64_t sender_seq) {
  CARAVAN_RETURN_IF_ERROR(CheckSeq("inbound seq", sender_seq));
  CARAVAN_RETURN_IF_ERROR(EnsurePeer(peer));
  return AdvanceColumn(db_,
                       "UPDATE peer_state SET inbound_seq = "
                       "max(inbound_seq, ?1) WHERE peer = ?2",
                       peer, sender_seq);
}

Status WriteTxn::RecordContact(std::string_view peer, int64_t time,
                               uint64_t bytes_sent, uint64_t bytes_received) {
  CARAVAN_RETURN_IF_ERROR(CheckSeq("bytes sent", bytes_sent));
  CARAVAN_RETURN_IF_ERROR(CheckSeq("bytes received", bytes_received));
  CARAVAN_RETURN_IF_ERROR(EnsurePeer(peer));
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("UPDATE peer_state SET last_contact = max(last_contact, ?1), "
                  "bytes_sent = bytes_sent + ?2, "
                  "bytes_received = bytes_received + ?3 WHERE peer = ?4"));
  st.Bind(1, time);
  st.Bind(2, static_cast<int64_t>(bytes_sent));
  st.Bind(3, static_cast<int64_t>(bytes_received));
  st.BindText(4, peer);
  return st.Run();
}

Status WriteTxn::SetLinkState(std::string_view peer, std::string_view state) {
  CARAVAN_RETURN_IF_ERROR(CheckLength("link state", state, kMaxNameBytes));
  CARAVAN_RETURN_IF_ERROR(EnsurePeer(peer));
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("UPDATE peer_state SET link_state = ? WHERE peer = ?"));
  st.BindText(1, state);
  st.BindText(2, peer);
  return st.Run();
}

Status WriteTxn::RecordDelivery(const Delivery& d) {
  CARAVAN_RETURN_IF_ERROR(CheckName("peer name", d.peer));
  if (d.revision < 1) return InvalidInput("delivery of revision 0");
  // One per record a peer acknowledged (a sender's hot path). An id no
  // longer held records nothing (schema.md, "deliveries"). By the
  // record's seq, the id compared: two integer-key reads, where the id's
  // key tables (Current) cost two index searches.
  static constexpr std::string_view kBySeq =
      "INSERT INTO deliveries (rid, peer, revision, variant, delivered_at) "
      "SELECT i.rid, ?2, ?3, ?4, ?5 FROM records r JOIN indicators i "
      "ON i.rid = r.rid WHERE r.seq = ?6 AND i.id = ?1 "
      "ON CONFLICT (rid, peer) DO UPDATE SET revision = ?3, variant = ?4, "
      "delivered_at = ?5 WHERE ?3 >= revision";
  static constexpr std::string_view kByRid =
      "INSERT INTO deliveries (rid, peer, revision, variant, delivered_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5) "
      "ON CONFLICT (rid, peer) DO UPDATE SET revision = ?3, variant = ?4, "
      "delivered_at = ?5 WHERE ?3 >= revision";
  const bool by_seq = d.record_seq != 0;
  int64_t rid = 0;
  if (!by_seq) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(std::optional<CurrentInfo> cur,
                                   Current(d.id));
    if (!cur) return Status::Ok();
    rid = cur->rid;
  }
  CARAVAN_STORE_ASSIGN_OR_RETURN(Statement st,
                                 db_.Prepare(by_seq ? kBySeq : kByRid));
  // `d` outlives `st`: borrowed (a sender's hot path, one per record).
  if (by_seq) {
    st.BindBlobBorrowed(1, d.id);
    st.Bind(6, static_cast<int64_t>(d.record_seq));
  } else {
    st.Bind(1, rid);
  }
  st.BindTextBorrowed(2, d.peer);
  st.Bind(3, d.revision);
  st.Bind(4, d.variant);
  st.Bind(5, d.delivered_at);
  return st.Run();
}

Status WriteTxn::AddWithheld(const Withheld& w) {
  CARAVAN_RETURN_IF_ERROR(CheckName("peer name", w.peer));
  CARAVAN_RETURN_IF_ERROR(CheckLength("withheld rule", w.rule,
                                      kMaxAuditFieldBytes));
  CARAVAN_RETURN_IF_ERROR(CheckSeq("withheld seq", w.seq));
  {
    CARAVAN_STORE_ASSIGN_OR_RETURN(
        Statement st, db_.Prepare("SELECT 1 FROM records WHERE seq = ?"));
    st.Bind(1, static_cast<int64_t>(w.seq));
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool found, st.Step());
    if (!found) {
      return InvalidInput("cannot withhold log entry " +
                          std::to_string(w.seq) + ": no such record");
    }
  }
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("INSERT INTO withheld (peer, seq, rule, retry_at, "
                  "withheld_at) VALUES (?1, ?2, ?3, ?4, ?5) "
                  "ON CONFLICT (peer, seq) DO UPDATE SET rule = ?3, "
                  "retry_at = ?4, withheld_at = ?5"));
  st.BindText(1, w.peer);
  st.Bind(2, static_cast<int64_t>(w.seq));
  st.BindText(3, w.rule);
  st.Bind(4, w.retry_at);
  st.Bind(5, w.withheld_at);
  return st.Run();
}

Status WriteTxn::RemoveWithheld(uint64_t seq, std::string_view peer) {
  CARAVAN_RETURN_IF_ERROR(CheckSeq("withheld seq", seq));
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("DELETE FROM withheld WHERE peer = ? AND seq = ?"));
  st.BindText(1, peer);
  st.Bind(2, static_cast<int64_t>(seq));
  return st.Run();
}

Status WriteTxn::PutUnackedPage(std::string_view peer, uint64_t up_to_seq,
                               std::string_view sent) {
  CARAVAN_RETURN_IF_ERROR(CheckName("peer name", peer));
  CARAVAN_RETURN_IF_ERROR(CheckSeq("page end", up_to_seq));
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("INSERT OR REPLACE INTO unacked_pages (peer, up_to_seq, "
                  "sent) VALUES (?, ?, ?)"));
  st.BindText(1, peer);
  st.Bind(2, static_cast<int64_t>(up_to_seq));
  st.BindText(3, sent);
  return st.Run();
}

Status WriteTxn::PutStixId(std::string_view stix_id, const IndicatorId& id) {
  if (stix_id.empty() || stix_id.size() > 256) {
    return InvalidInput("STIX id must be 1..256 bytes");
  }
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("INSERT OR IGNORE INTO stix_ids (stix_id, id) VALUES (?, ?)"));
  st.BindText(1, stix_id);
  st.BindBlob(2, id);
  return st.Run();
}

Status WriteTxn::DropUnackedPages(std::string_view peer, uint64_t up_to_seq) {
  CARAVAN_RETURN_IF_ERROR(CheckSeq("page end", up_to_seq));
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("DELETE FROM unacked_pages WHERE peer = ? AND "
                  "up_to_seq <= ?"));
  st.BindText(1, peer);
  st.Bind(2, static_cast<int64_t>(up_to_seq));
  return st.Run();
}

Result<std::vector<std::pair<uint64_t, std::string>>>
WriteTxn::TakeUnackedPages(std::string_view peer) {
  std::vector<std::pair<uint64_t, std::string>> pages;
  {
    CARAVAN_STORE_ASSIGN_OR_RETURN(
        Statement st,
        db_.Prepare("SELECT up_to_seq, sent FROM unacked_pages WHERE "
                    "peer = ? ORDER BY up_to_seq"));
    st.BindText(1, peer);
    for (;;) {
      CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      pages.emplace_back(static_cast<uint64_t>(st.Int(0)), st.Text(1));
    }
  }
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st, db_.Prepare("DELETE FROM unacked_pages WHERE peer = ?"));
  st.BindText(1, peer);
  CARAVAN_RETURN_IF_ERROR(st.Run());
  return pages;
}

Result<uint64_t> WriteTxn::AddQuota(std::string_view country, int64_t day,
                                   uint64_t n) {
  CARAVAN_RETURN_IF_ERROR(CheckName("quota country", country));
  CARAVAN_RETURN_IF_ERROR(CheckSeq("quota increment", n));
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("INSERT INTO quota (country, day, count) VALUES (?1, ?2, ?3) "
                  "ON CONFLICT (country, day) DO UPDATE SET "
                  "count = count + ?3 RETURNING count"));
  st.BindText(1, country);
  st.Bind(2, day);
  st.Bind(3, static_cast<int64_t>(n));
  CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Internal("quota upsert returned no row");
  const int64_t count = st.Int(0);
  CARAVAN_RETURN_IF_ERROR(st.Run());
  return static_cast<uint64_t>(count);
}

Status WriteTxn::SetQuarantined(const IndicatorId& id, bool quarantined) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_.Prepare("UPDATE indicators SET quarantined = ? WHERE rid = ?"));
  CARAVAN_STORE_ASSIGN_OR_RETURN(std::optional<CurrentInfo> cur, Current(id));
  if (!cur) return NotFound("no indicator " + Hex(id));
  st.Bind(1, quarantined ? 1 : 0);
  st.Bind(2, cur->rid);
  return st.Run();
}

Result<uint64_t> WriteTxn::DeleteIndicator(const IndicatorId& id) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(std::optional<CurrentInfo> cur, Current(id));
  if (!cur) return NotFound("no records held for indicator " + Hex(id));
  // Records first (they name the indicator's rid); tags, withheld entries
  // and kept paths go by cascade, the keys and a warninglist hit here.
  uint64_t records = 0;
  {
    CARAVAN_STORE_ASSIGN_OR_RETURN(
        Statement st, db_.Prepare("DELETE FROM records WHERE rid = ?"));
    st.Bind(1, cur->rid);
    CARAVAN_RETURN_IF_ERROR(st.Run());
    records = static_cast<uint64_t>(sqlite3_changes(db_.handle()));
  }
  {
    CARAVAN_STORE_ASSIGN_OR_RETURN(
        Statement st, db_.Prepare("DELETE FROM indicators WHERE rid = ?"));
    st.Bind(1, cur->rid);
    CARAVAN_RETURN_IF_ERROR(st.Run());
    std::optional<internal::IpKey> ip;
    if (cur->type == IndicatorType::kIpv4 ||
        cur->type == IndicatorType::kIpv6) {
      CARAVAN_STORE_ASSIGN_OR_RETURN(ip,
                                     internal::IpKeyFor(cur->type, cur->value));
    }
    CARAVAN_RETURN_IF_ERROR(internal::RemoveKeys(db_, cur->rid, id, cur->value,
                                                 ip ? &*ip : nullptr));
  }
  static constexpr const char* kDeletes[] = {
      "DELETE FROM sightings WHERE id = ?",
      "DELETE FROM warninglist_hits WHERE id = ?",
  };
  for (const char* sql : kDeletes) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(Statement st, db_.Prepare(sql));
    st.BindBlob(1, id);
    CARAVAN_RETURN_IF_ERROR(st.Run());
  }
  {
    CARAVAN_STORE_ASSIGN_OR_RETURN(
        Statement st, db_.Prepare("DELETE FROM deliveries WHERE rid = ?"));
    st.Bind(1, cur->rid);
    CARAVAN_RETURN_IF_ERROR(st.Run());
  }
  return records;
}

}  // namespace caravan::store
