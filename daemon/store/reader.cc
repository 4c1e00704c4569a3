#include "daemon/store/reader.h"

#include <algorithm>
#include <climits>
#include <variant>

#include "crypto/key_text.h"
#include "daemon/store/audit_chain.h"
#include "daemon/store/index_levels.h"
#include "daemon/store/ip_key.h"
#include "daemon/store/record_forms.h"
#include "daemon/store/schema.h"
#include "daemon/store/sqlite_db.h"

namespace caravan::store {
namespace {

using internal::Database;
using internal::Statement;

// Columns of an indicator row, in the order ReadIndicator expects.
constexpr const char* kIndicatorColumns =
    "rid, id, type, value, origin, origin_country, origin_name, revision, "
    "variant, record_seq, tlp, confidence, description, created, "
    "valid_until, first_seen, last_seen, reshare, revoked, revoke_reason, "
    "received_from, quarantined, warning, stored_at";

// A record's columns in the order ReadRecord expects (the signed record's
// form from column 9 on), selected FROM kRecordsJoin.
const std::string kRecordColumns =
    std::string("r.seq, i.id, r.revision, r.variant, i.origin, "
                "r.origin_seq, r.created, r.received_from, r.stored_at, ") +
    internal::kFormColumns;
constexpr int kFormColumn = 9;
constexpr int kAfterRecordColumns = kFormColumn + internal::kFormColumnCount;
// A record names its indicator by rid (the indicator's id and origin are
// its records' too).
constexpr const char* kRecordsJoin =
    " FROM records r JOIN indicators i ON i.rid = r.rid "
    "LEFT JOIN batches b ON b.bid = r.batch ";

Status CheckLimit(size_t limit) {
  if (limit == 0 || limit > kMaxQueryLimit) {
    return InvalidInput("limit " + std::to_string(limit) +
                        " is outside 1.." + std::to_string(kMaxQueryLimit));
  }
  return Status::Ok();
}

Result<IndicatorRow> ReadIndicator(const Statement& st) {
  IndicatorRow r;
  r.cursor = static_cast<uint64_t>(st.Int(0));
  if (!st.FixedBlob(1, r.id) || !st.FixedBlob(4, r.origin)) {
    return Corrupt("indicator row " + std::to_string(r.cursor) +
                   " has a malformed id or origin");
  }
  protocol::Indicator& ind = r.indicator;
  ind.type = static_cast<protocol::IndicatorType>(st.Int(2));
  ind.value = st.Text(3);
  r.origin_country = st.Text(5);
  r.origin_name = st.Text(6);
  r.revision = static_cast<uint32_t>(st.Int(7));
  r.variant = static_cast<uint32_t>(st.Int(8));
  r.record_seq = static_cast<uint64_t>(st.Int(9));
  ind.tlp = static_cast<protocol::Tlp>(st.Int(10));
  ind.confidence = static_cast<uint8_t>(st.Int(11));
  ind.description = st.Text(12);
  r.created = st.Int(13);
  ind.valid_until = st.Int(14);
  ind.first_seen = st.Int(15);
  ind.last_seen = st.Int(16);
  ind.reshare = static_cast<protocol::Reshare>(st.Int(17));
  ind.revoked = st.Int(18) != 0;
  ind.revoke_reason = st.Text(19);
  if (!st.IsNull(20)) r.received_from = st.Text(20);
  r.quarantined = st.Int(21) != 0;
  r.warning = st.Int(22) != 0;
  r.stored_at = st.Int(23);
  return r;
}

// What ReadRecord makes of the record's stored form.
enum class FormAs {
  kBytes,    // StoredRecord::signed_bytes
  kDecoded,  // StoredRecord::signed_record (signed_bytes for a raw form)
  kNothing,  // neither: an entry its reader will not decide
};

// The record's metadata, and its stored form `as` asked.
Result<StoredRecord> ReadRecord(const Statement& st,
                                internal::RecordForms& forms,
                                FormAs as = FormAs::kBytes) {
  StoredRecord r;
  r.seq = static_cast<uint64_t>(st.Int(0));
  if (!st.FixedBlob(1, r.id) || !st.FixedBlob(4, r.origin)) {
    return Corrupt("record " + std::to_string(r.seq) +
                   " has a malformed id or origin");
  }
  r.revision = static_cast<uint32_t>(st.Int(2));
  r.variant = static_cast<uint32_t>(st.Int(3));
  r.origin_seq = static_cast<uint64_t>(st.Int(5));
  r.created = st.Int(6);
  if (!st.IsNull(7)) r.received_from = st.Text(7);
  r.stored_at = st.Int(8);
  if (as == FormAs::kNothing) return r;
  internal::StoredForm form = internal::ReadStoredForm(st, kFormColumn);
  if (as == FormAs::kBytes || !form.form.raw.empty()) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(r.signed_bytes, forms.Expand(form));
    return r;
  }
  CARAVAN_STORE_ASSIGN_OR_RETURN(protocol::SignedRecord record,
                                 forms.ExpandRecord(form));
  // Within what DecodeSignedRecord would accept of its bytes; past them
  // (a damaged row), the bytes go instead and their reader refuses them.
  if (!protocol::CheckSignedRecordLimits(record).ok()) {
    r.signed_bytes = protocol::EncodeSignedRecord(record);
    return r;
  }
  r.signed_record = std::move(record);
  return r;
}

Result<std::vector<StoredRecord>> ReadRecords(Statement& st,
                                              internal::RecordForms& forms) {
  std::vector<StoredRecord> out;
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    CARAVAN_STORE_ASSIGN_OR_RETURN(StoredRecord r, ReadRecord(st, forms));
    out.push_back(std::move(r));
  }
  return out;
}

// Every public call runs in one read transaction, so its several
// statements (rows, then their tags) see one snapshot; inside
// InOneSnapshot (`nested`) that snapshot's transaction serves.
class ReadTxn {
 public:
  ReadTxn(Database& db, bool nested) : db_(db), nested_(nested) {}
  Status Begin() {
    if (nested_) return Status::Ok();
    CARAVAN_STORE_ASSIGN_OR_RETURN(Statement st, db_.Prepare("BEGIN"));
    CARAVAN_RETURN_IF_ERROR(st.Run());
    open_ = true;
    return Status::Ok();
  }
  ~ReadTxn() {
    if (!open_) return;
    Result<Statement> st = db_.Prepare("COMMIT");
    if (st.ok()) (void)st->Run();
  }

 private:
  Database& db_;
  const bool nested_;
  bool open_ = false;
};

#define CARAVAN_STORE_READ_TXN(db)     \
  ReadTxn read_txn_(db, in_snapshot_); \
  CARAVAN_RETURN_IF_ERROR(read_txn_.Begin())

using BindValue = std::variant<int64_t, std::string, std::vector<uint8_t>>;

struct BuiltQuery {
  std::string sql;
  std::vector<BindValue> binds;
  bool cacheable = true;
  bool matches_nothing = false;  // e.g. covering with no IP rows at all
};

void BindAll(Statement& st, const std::vector<BindValue>& binds) {
  int i = 1;
  for (const BindValue& v : binds) {
    if (const auto* n = std::get_if<int64_t>(&v)) {
      st.Bind(i, *n);
    } else if (const auto* s = std::get_if<std::string>(&v)) {
      st.BindText(i, *s);
    } else {
      st.BindBlob(i, std::get<std::vector<uint8_t>>(v));
    }
    ++i;
  }
}

std::vector<uint8_t> ToVec(const std::array<uint8_t, 16>& a) {
  return std::vector<uint8_t>(a.begin(), a.end());
}

// "Within" a network spanning fewer prefix lengths than this seeks each
// length without first probing which are present.
constexpr int64_t kSeekEveryPrefixBelow = 16;

// The distinct prefix lengths in [low, high] of the `family` networks
// held, ascending: one probe of each ip_keys level per length.
Result<std::vector<int64_t>> PrefixesPresent(Database& db, int family,
                                             int64_t low, int64_t high) {
  static const internal::LevelSql kSql = internal::PerLevel(
      "SELECT prefix FROM ip_keys",
      " WHERE family = ? AND prefix > ? AND prefix <= ? ORDER BY prefix "
      "LIMIT 1");
  std::vector<int64_t> out;
  int64_t prev = low - 1;
  for (;;) {
    std::optional<int64_t> next;
    for (const std::string& sql : kSql) {
      CARAVAN_STORE_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql));
      st.Bind(1, family);
      st.Bind(2, prev);
      st.Bind(3, high);
      CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
      if (row && (!next || st.Int(0) < *next)) next = st.Int(0);
    }
    if (!next) return out;
    prev = *next;
    out.push_back(prev);
  }
}

// The IP key of an exact-value filter whose value is an address or a
// network of its type (either IP type when none is given); nullopt for
// any other value.
std::optional<internal::IpKey> IpKeyOfValue(const QueryFilter& f) {
  using protocol::IndicatorType;
  for (IndicatorType t : {IndicatorType::kIpv4, IndicatorType::kIpv6}) {
    if (f.type && *f.type != t) continue;
    auto key = internal::IpKeyFor(t, *f.value);
    if (key.ok()) return *key;
  }
  return std::nullopt;
}

// The SQL for a filter. Every condition that narrows the result is one an
// index serves; revoked/quarantined are then checked on the few rows left.
Result<BuiltQuery> BuildQuery(Database& db, const QueryFilter& f) {
  CARAVAN_RETURN_IF_ERROR(CheckLimit(f.limit));
  if (f.after > static_cast<uint64_t>(INT64_MAX)) {
    return InvalidInput("query cursor is out of range");
  }
  BuiltQuery q;
  // With only a time window, SQLite would rather walk the table in rid
  // order (no sort) than use the created index; "+rid" forbids that walk,
  // so the window is found through the index and only its rows are sorted.
  const bool time_only = f.since && !f.value && !f.type &&
                         !f.origin_country && !f.tag && !f.covering &&
                         !f.within;
  const char* rid = time_only ? "+rid" : "rid";
  // A value, network or address filter names its rows through the key
  // tables (index_levels.h); then those rows, not the cursor, drive.
  const bool keyed = f.value || f.within || f.covering;
  q.sql = std::string("SELECT ") + kIndicatorColumns +
          " FROM indicators WHERE " + (keyed ? "+rid" : rid) + " > ?";
  q.binds.push_back(static_cast<int64_t>(f.after));
  // "AND rid IN (<every level of `table` WHERE `where`>)", the where's
  // parameters bound once per level.
  const auto rids_in = [&q](std::string_view table, std::string_view where,
                            const std::vector<BindValue>& binds) {
    q.sql += " AND rid IN (" + internal::RidsAtAllLevels(table, where) + ")";
    for (size_t level = 0; level < internal::kKeyLevels.size(); ++level) {
      q.binds.insert(q.binds.end(), binds.begin(), binds.end());
    }
  };
  if (f.value) {
    // An address or network is found by its IP key; any other value by
    // its value key (index_levels.h), the value itself compared.
    if (std::optional<internal::IpKey> ip = IpKeyOfValue(f)) {
      rids_in("ip_keys", "family = ? AND prefix = ? AND first = ?",
              {int64_t{ip->family}, int64_t{ip->prefix}, ToVec(ip->first)});
    } else {
      const internal::ShortKey key = internal::ValueKey(*f.value);
      rids_in("value_keys", "k = ?",
              {std::vector<uint8_t>(key.begin(), key.end())});
    }
    q.sql += " AND value = ?";
    q.binds.push_back(*f.value);
  }
  if (f.type) {
    q.sql += " AND type = ?";
    q.binds.push_back(static_cast<int64_t>(*f.type));
  }
  if (f.origin_country) {
    q.sql += " AND origin_country = ?";
    q.binds.push_back(*f.origin_country);
  }
  if (f.tag) {
    q.sql += " AND rid IN (SELECT rid FROM indicator_tags WHERE tag = ?)";
    q.binds.push_back(*f.tag);
  }
  if (f.since) {
    q.sql += " AND created >= ?";
    q.binds.push_back(*f.since);
  }
  if (f.within) {
    // A network inside `within` has a prefix p >= within's and starts in
    // its range; any such network ends in it too. One range of each
    // ip_keys level per prefix length (there is no key on the address
    // alone: one less random insert per address). A narrow
    // network (a /24: 9 lengths) seeks every length, an empty range
    // costing what probing for it would; a wide one only those present.
    internal::IpKey key = internal::IpKeyOf(*f.within);
    const int64_t max_prefix = f.within->max_prefix();
    std::vector<int64_t> prefixes;
    if (max_prefix - f.within->prefix < kSeekEveryPrefixBelow) {
      for (int64_t p = f.within->prefix; p <= max_prefix; ++p) {
        prefixes.push_back(p);
      }
    } else {
      CARAVAN_STORE_ASSIGN_OR_RETURN(
          prefixes,
          PrefixesPresent(db, key.family, f.within->prefix, max_prefix));
      q.cacheable = false;  // the list depends on the store
    }
    std::string in;
    for (size_t i = 0; i < prefixes.size(); ++i) in += i == 0 ? "?" : ", ?";
    if (prefixes.empty()) {
      q.matches_nothing = true;
      q.sql += " AND 0";
    } else {
      std::vector<BindValue> binds{int64_t{key.family}};
      for (int64_t p : prefixes) binds.emplace_back(p);
      binds.emplace_back(ToVec(key.first));
      binds.emplace_back(ToVec(key.last));
      rids_in("ip_keys",
              "family = ? AND prefix IN (" + in + ") AND first BETWEEN ? AND ?",
              binds);
    }
  }
  if (f.covering) {
    // A network holding `covering` has some prefix p <= its prefix and
    // starts at covering's address masked to p. Walk the distinct prefix
    // lengths present (one index probe each), then probe each exactly:
    // O(#prefix lengths * log n), never a scan.
    const int family = f.covering->is_v6 ? 6 : 4;
    CARAVAN_STORE_ASSIGN_OR_RETURN(
        std::vector<int64_t> prefixes,
        PrefixesPresent(db, family, 0, f.covering->prefix));
    std::string terms;
    std::vector<BindValue> binds;
    for (int64_t p : prefixes) {
      if (!terms.empty()) terms += " OR ";
      terms += "(family = ? AND prefix = ? AND first = ?)";
      binds.emplace_back(int64_t{family});
      binds.emplace_back(p);
      binds.emplace_back(
          ToVec(internal::MaskedFirst(*f.covering, static_cast<int>(p))));
    }
    if (terms.empty()) {
      q.matches_nothing = true;
      q.sql += " AND 0";
    } else {
      rids_in("ip_keys", terms, binds);
    }
    q.cacheable = false;
  }
  if (!f.include_revoked) q.sql += " AND revoked = 0";
  switch (f.quarantine) {
    case QuarantineFilter::kExclude:
      q.sql += " AND quarantined = 0";
      break;
    case QuarantineFilter::kOnly:
      q.sql += " AND quarantined = 1";
      break;
    case QuarantineFilter::kInclude:
      break;
  }
  q.sql += std::string(" ORDER BY ") + rid + " LIMIT ?";
  q.binds.push_back(static_cast<int64_t>(f.limit));
  return q;
}

Result<Statement> PrepareBuilt(Database& db, const BuiltQuery& q,
                               const std::string& sql) {
  if (q.cacheable) return db.Prepare(sql);
  return db.PrepareUncached(sql);
}

Status LoadTags(Database& db, int64_t rid, std::vector<std::string>& tags) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db.Prepare("SELECT tag FROM indicator_tags WHERE rid = ? ORDER BY tag"));
  st.Bind(1, rid);
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return Status::Ok();
    tags.push_back(st.Text(0));
  }
}

}  // namespace

Reader::Reader(std::unique_ptr<Database> db)
    : db_(std::move(db)),
      forms_(std::make_unique<internal::RecordForms>(*db_)) {}
Reader::~Reader() = default;

Result<std::unique_ptr<Reader>> Reader::Open(const std::string& path,
                                             int busy_timeout_ms) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      std::unique_ptr<Database> db,
      Database::Open(path, /*read_only=*/true, busy_timeout_ms));
  CARAVAN_RETURN_IF_ERROR(internal::CheckSchemaVersion(*db));
  return std::unique_ptr<Reader>(new Reader(std::move(db)));
}

Result<QueryPage> Reader::Query(const QueryFilter& filter) {
  CARAVAN_STORE_READ_TXN(*db_);
  CARAVAN_STORE_ASSIGN_OR_RETURN(BuiltQuery q, BuildQuery(*db_, filter));
  QueryPage page;
  if (q.matches_nothing) return page;
  CARAVAN_STORE_ASSIGN_OR_RETURN(Statement st, PrepareBuilt(*db_, q, q.sql));
  BindAll(st, q.binds);
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    CARAVAN_STORE_ASSIGN_OR_RETURN(IndicatorRow r, ReadIndicator(st));
    page.rows.push_back(std::move(r));
  }
  for (IndicatorRow& r : page.rows) {
    CARAVAN_RETURN_IF_ERROR(LoadTags(*db_, static_cast<int64_t>(r.cursor),
                                     r.indicator.tags));
  }
  if (page.rows.size() == filter.limit) page.next_after = page.rows.back().cursor;
  return page;
}

Result<uint64_t> Reader::CountMatching(const QueryFilter& filter,
                                       uint64_t cap) {
  if (cap == 0 || cap > static_cast<uint64_t>(INT64_MAX)) {
    return InvalidInput("count cap out of range");
  }
  CARAVAN_STORE_READ_TXN(*db_);
  QueryFilter f = filter;
  f.limit = 1;  // replaced by the cap below
  CARAVAN_STORE_ASSIGN_OR_RETURN(BuiltQuery q, BuildQuery(*db_, f));
  if (q.matches_nothing) return uint64_t{0};
  // The same statement selecting only rid, its LIMIT the cap, counted.
  const std::string columns = kIndicatorColumns;
  const size_t at = q.sql.find(columns);
  if (at == std::string::npos) return Internal("query text without columns");
  std::string sql = q.sql;
  sql.replace(at, columns.size(), "rid");
  sql = "SELECT count(*) FROM (" + sql + ")";
  q.binds.back() = static_cast<int64_t>(cap);
  CARAVAN_STORE_ASSIGN_OR_RETURN(Statement st, PrepareBuilt(*db_, q, sql));
  BindAll(st, q.binds);
  CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Internal("count returned no row");
  return static_cast<uint64_t>(st.Int(0));
}

Result<std::vector<std::string>> Reader::ExplainQuery(
    const QueryFilter& filter) {
  CARAVAN_STORE_READ_TXN(*db_);
  CARAVAN_STORE_ASSIGN_OR_RETURN(BuiltQuery q, BuildQuery(*db_, filter));
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st, db_->PrepareUncached("EXPLAIN QUERY PLAN " + q.sql));
  BindAll(st, q.binds);
  std::vector<std::string> lines;
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return lines;
    lines.push_back(st.Text(3));
  }
}

Result<std::optional<IndicatorRow>> Reader::Get(const IndicatorId& id) {
  CARAVAN_STORE_READ_TXN(*db_);
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare(std::string("SELECT ") + kIndicatorColumns +
                   " FROM indicators WHERE " + internal::IdIs("", "?1")));
  st.BindBlob(1, id);
  CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<IndicatorRow>();
  CARAVAN_STORE_ASSIGN_OR_RETURN(IndicatorRow r, ReadIndicator(st));
  CARAVAN_RETURN_IF_ERROR(
      LoadTags(*db_, static_cast<int64_t>(r.cursor), r.indicator.tags));
  return std::optional<IndicatorRow>(std::move(r));
}

Result<std::vector<IndicatorId>> Reader::IdsInRange(const IndicatorId& low,
                                                    const IndicatorId& high,
                                                    size_t limit) {
  CARAVAN_RETURN_IF_ERROR(CheckLimit(limit));
  CARAVAN_STORE_READ_TXN(*db_);
  // The keys in [low, high] cut to 8 bytes, at every level; the rows'
  // whole ids then bound the range exactly.
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT id FROM indicators WHERE rid IN (" +
                   internal::RidsAtAllLevels("id_keys",
                                              "k BETWEEN substr(?1, 1, 8) AND "
                                              "substr(?2, 1, 8)") +
                   ") AND id >= ?1 AND id <= ?2 ORDER BY id LIMIT ?3"));
  st.BindBlob(1, low);
  st.BindBlob(2, high);
  st.Bind(3, static_cast<int64_t>(limit));
  std::vector<IndicatorId> ids;
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return ids;
    IndicatorId id{};
    if (!st.FixedBlob(0, id)) return Corrupt("indicator id is not 32 bytes");
    ids.push_back(id);
  }
}

Result<std::vector<IndicatorId>> Reader::IdsWithPrefix(
    std::span<const uint8_t> prefix, size_t limit) {
  if (prefix.empty() || prefix.size() > 32) {
    return InvalidInput("id prefix must be 1..32 bytes");
  }
  // Every id starting with `prefix` lies in [prefix 00.., prefix ff..].
  IndicatorId low{};
  IndicatorId high{};
  high.fill(0xff);
  std::copy(prefix.begin(), prefix.end(), low.begin());
  std::copy(prefix.begin(), prefix.end(), high.begin());
  return IdsInRange(low, high, limit);
}

Result<std::optional<IndicatorId>> Reader::IndicatorOfStixId(
    std::string_view stix_id) {
  CARAVAN_STORE_READ_TXN(*db_);
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st, db_->Prepare("SELECT id FROM stix_ids WHERE stix_id = ?"));
  st.BindText(1, stix_id);
  CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<IndicatorId>();
  IndicatorId id{};
  if (!st.FixedBlob(0, id)) return Corrupt("stix_ids id is not 32 bytes");
  return std::optional<IndicatorId>(id);
}

Result<std::optional<std::string>> Reader::PostedStixId(
    const IndicatorId& id) {
  CARAVAN_STORE_READ_TXN(*db_);
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT stix_id FROM stix_ids WHERE id = ? "
                   "ORDER BY rowid LIMIT 1"));
  st.BindBlob(1, id);
  CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(st.Text(0));
}

Result<bool> Reader::HasPostedStixIds() {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      int64_t any, db_->QueryInt("SELECT EXISTS (SELECT 1 FROM stix_ids)"));
  return any != 0;
}

Status Reader::BeginSnapshot() {
  if (in_snapshot_) return Internal("InOneSnapshot does not nest");
  CARAVAN_STORE_ASSIGN_OR_RETURN(Statement st, db_->Prepare("BEGIN"));
  CARAVAN_RETURN_IF_ERROR(st.Run());
  in_snapshot_ = true;
  return Status::Ok();
}

void Reader::EndSnapshot() {
  in_snapshot_ = false;
  Result<Statement> commit = db_->Prepare("COMMIT");
  if (commit.ok() && commit->Run().ok()) return;
  if (sqlite3_get_autocommit(db_->handle())) return;
  Result<Statement> rollback = db_->Prepare("ROLLBACK");
  if (rollback.ok()) (void)rollback->Run();
}

Result<std::optional<CurrentBody>> Reader::CurrentRecordBody(
    const IndicatorId& id) {
  return internal::CurrentBodyOf(*db_, id);
}

Result<std::vector<StoredRecord>> Reader::GetRevisions(const IndicatorId& id) {
  CARAVAN_STORE_READ_TXN(*db_);
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st, db_->Prepare("SELECT " + kRecordColumns + kRecordsJoin +
                                 "WHERE " + internal::IdIs("i.", "?1") +
                                 " ORDER BY r.revision, r.variant"));
  st.BindBlob(1, id);
  return ReadRecords(st, *forms_);
}

Result<std::vector<uint8_t>> Reader::GetRecordBytes(const IndicatorId& id,
                                                    uint32_t revision,
                                                    uint32_t variant) {
  CARAVAN_STORE_READ_TXN(*db_);
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare(std::string("SELECT ") + internal::kFormColumns +
                   kRecordsJoin + "WHERE " + internal::IdIs("i.", "?1") +
                   " AND r.revision = ?2 AND r.variant = ?3"));
  st.BindBlob(1, id);
  st.Bind(2, revision);
  st.Bind(3, variant);
  CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) {
    return NotFound("no record revision " + std::to_string(revision) +
                    " variant " + std::to_string(variant) + " for that id");
  }
  return forms_->Expand(internal::ReadStoredForm(st, 0));
}

Result<std::vector<uint8_t>> Reader::GetRecordBytesAt(uint64_t seq,
                                                      const IndicatorId& id,
                                                      uint32_t revision,
                                                      uint32_t variant) {
  if (seq > static_cast<uint64_t>(INT64_MAX)) {
    return NotFound("no log entry " + std::to_string(seq));
  }
  CARAVAN_STORE_READ_TXN(*db_);
  // `+i.id`: the id is checked on the row the seq leads to, not looked up
  // in its index (the lookup this function exists to spare).
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare(std::string("SELECT ") + internal::kFormColumns +
                   kRecordsJoin +
                   "WHERE r.seq = ? AND r.revision = ? AND r.variant = ? "
                   "AND +i.id = ?"));
  st.Bind(1, static_cast<int64_t>(seq));
  st.Bind(2, revision);
  st.Bind(3, variant);
  st.BindBlob(4, id);
  CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) {
    return NotFound("log entry " + std::to_string(seq) + " is not that record");
  }
  return forms_->Expand(internal::ReadStoredForm(st, 0));
}

Result<std::vector<StoredRecord>> Reader::LogRange(uint64_t after_seq,
                                                   size_t limit) {
  return LogRange(after_seq, limit, LogReader{});
}

Result<std::vector<StoredRecord>> Reader::LogRange(uint64_t after_seq,
                                                   size_t limit,
                                                   const LogReader& for_peer) {
  CARAVAN_RETURN_IF_ERROR(CheckLimit(limit));
  if (after_seq > static_cast<uint64_t>(INT64_MAX)) {
    return std::vector<StoredRecord>();
  }
  // The superseded flag rides along, so the sender skips superseded
  // revisions without a second query. For a peer, entries come decoded
  // (no encoding to bytes and decoding back on the sender's path), and
  // neither the peer's own entries nor superseded ones are expanded (the
  // sender decides neither). With no peer, ?3 and ?4 are NULL and no row
  // matches.
  CARAVAN_STORE_READ_TXN(*db_);
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT " + kRecordColumns +
                   ", r.superseded, "
                   "coalesce(i.origin = ?3 OR r.received_from = ?4, 0)" +
                   kRecordsJoin + "WHERE r.seq > ?1 ORDER BY r.seq LIMIT ?2"));
  st.Bind(1, static_cast<int64_t>(after_seq));
  st.Bind(2, static_cast<int64_t>(limit));
  if (for_peer.peer_name.empty()) {
    st.BindNull(3);
    st.BindNull(4);
  } else {
    st.BindBlob(3, for_peer.peer_key);
    st.BindText(4, for_peer.peer_name);
  }
  std::vector<StoredRecord> out;
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    const bool superseded = st.Int(kAfterRecordColumns) != 0;
    const bool the_peers = st.Int(kAfterRecordColumns + 1) != 0;
    FormAs as = FormAs::kBytes;
    if (!for_peer.peer_name.empty()) {
      as = superseded || the_peers ? FormAs::kNothing : FormAs::kDecoded;
    }
    CARAVAN_STORE_ASSIGN_OR_RETURN(StoredRecord r,
                                   ReadRecord(st, *forms_, as));
    r.superseded = superseded;
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<Reader::ServableRecord>> Reader::ServableLogRange(
    uint64_t after_seq, size_t limit) {
  CARAVAN_RETURN_IF_ERROR(CheckLimit(limit));
  if (after_seq > static_cast<uint64_t>(INT64_MAX)) {
    return std::vector<ServableRecord>();
  }
  // Revision 1's time needs a probe of (id, revision, variant) only for
  // later revisions; the posted id is one probe of stix_ids_id (an empty
  // index when no client ever posted an id).
  CARAVAN_STORE_READ_TXN(*db_);
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare(
          "SELECT " + kRecordColumns +
          ", i.revision, i.variant, i.quarantined, i.warning, i.origin_name, "
          "i.origin_country, "
          "CASE WHEN r.revision = 1 THEN r.created ELSE "
          "(SELECT f.created FROM records f WHERE f.rid = r.rid "
          "ORDER BY f.revision, f.variant LIMIT 1) END, "
          "(SELECT s.stix_id FROM stix_ids s WHERE s.id = i.id "
          "ORDER BY s.rowid LIMIT 1)" +
          std::string(kRecordsJoin) +
          "WHERE r.seq > ?1 ORDER BY r.seq LIMIT ?2"));
  st.Bind(1, static_cast<int64_t>(after_seq));
  st.Bind(2, static_cast<int64_t>(limit));
  std::vector<ServableRecord> out;
  out.reserve(std::min<size_t>(limit, 4096));
  constexpr int c = kAfterRecordColumns;
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    ServableRecord s;
    CARAVAN_STORE_ASSIGN_OR_RETURN(s.record, ReadRecord(st, *forms_));
    s.has_current = !st.IsNull(c);
    if (s.has_current) {
      s.current_revision = static_cast<uint32_t>(st.Int(c));
      s.current_variant = static_cast<uint32_t>(st.Int(c + 1));
      s.quarantined = st.Int(c + 2) != 0;
      s.warning = st.Int(c + 3) != 0;
      s.origin_name = st.Text(c + 4);
      s.origin_country = st.Text(c + 5);
    }
    s.first_created = st.Int(c + 6);
    if (!st.IsNull(c + 7)) s.posted_stix_id = st.Text(c + 7);
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<Reader::LogTime>> Reader::LogTimes(uint64_t after_seq,
                                                      size_t limit) {
  CARAVAN_RETURN_IF_ERROR(CheckLimit(limit));
  if (after_seq > static_cast<uint64_t>(INT64_MAX)) {
    return std::vector<LogTime>();
  }
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT seq, stored_at FROM records WHERE seq > ?1 "
                   "ORDER BY seq LIMIT ?2"));
  st.Bind(1, static_cast<int64_t>(after_seq));
  st.Bind(2, static_cast<int64_t>(limit));
  std::vector<LogTime> out;
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back({static_cast<uint64_t>(st.Int(0)), st.Int(1)});
  }
  return out;
}

// The highest seq actually held, not sqlite_sequence: an insert that hits
// ON CONFLICT DO NOTHING still uses up a number, which no acknowledgement
// would ever cover (a backlog that never drains).
constexpr const char* kLastLogSeqSql =
    "SELECT coalesce(max(seq), 0) FROM records";

Result<uint64_t> Reader::LastLogSeq() {
  CARAVAN_STORE_ASSIGN_OR_RETURN(int64_t seq, db_->QueryInt(kLastLogSeqSql));
  return static_cast<uint64_t>(seq);
}

Result<Counts> Reader::GetCounts() {
  CARAVAN_STORE_READ_TXN(*db_);
  Counts c;
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT (SELECT count(*) FROM indicators), "
                   "(SELECT count(*) FROM records), "
                   "(SELECT count(*) FROM indicators WHERE quarantined = 1), "
                   "(" + std::string(kLastLogSeqSql) + ")"));
  CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
  if (row) {
    c.indicators = static_cast<uint64_t>(st.Int(0));
    c.records = static_cast<uint64_t>(st.Int(1));
    c.quarantined = static_cast<uint64_t>(st.Int(2));
    c.last_log_seq = static_cast<uint64_t>(st.Int(3));
  }
  // A walk of the origin index: linear in indicators, fine for `status`.
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement by, db_->Prepare("SELECT origin_country, count(*) FROM "
                                 "indicators GROUP BY origin_country"));
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool r, by.Step());
    if (!r) break;
    c.by_origin_country[by.Text(0)] = static_cast<uint64_t>(by.Int(1));
  }
  return c;
}

namespace {

Result<AuditEntry> ReadAuditRow(const Statement& st) {
  AuditEntry e;
  e.seq = static_cast<uint64_t>(st.Int(0));
  e.event.time = st.Int(1);
  e.event.actor = st.Text(2);
  e.event.action = st.Text(3);
  e.event.subject = st.Text(4);
  e.event.peer = st.Text(5);
  e.event.detail = st.Text(6);
  if (!st.FixedBlob(7, e.prev_hash) || !st.FixedBlob(8, e.hash)) {
    return Corrupt("audit entry " + std::to_string(e.seq) +
                   " has a malformed hash");
  }
  return e;
}

constexpr const char* kAuditColumns =
    "seq, time, actor, action, subject, peer, detail, prev_hash, hash";


}  // namespace

Result<AuditPage> Reader::ReadAudit(const AuditFilter& f) {
  CARAVAN_RETURN_IF_ERROR(CheckLimit(f.limit));
  std::string sql = std::string("SELECT ") + kAuditColumns +
                    " FROM audit WHERE seq > ?";
  std::vector<BindValue> binds{
      static_cast<int64_t>(std::min<uint64_t>(f.after, INT64_MAX))};
  if (f.since != 0) {
    sql += " AND time >= ?";
    binds.push_back(f.since);
  }
  if (!f.actor.empty()) {
    sql += " AND actor = ?";
    binds.push_back(f.actor);
  }
  if (!f.peer.empty()) {
    sql += " AND peer = ?";
    binds.push_back(f.peer);
  }
  if (f.until != 0) {
    sql += " AND time <= ?";
    binds.push_back(f.until);
  }
  if (!f.action.empty()) {
    sql += " AND action = ?";
    binds.push_back(f.action);
  }
  if (!f.subject_prefix.empty()) {
    // [prefix, prefix with its last byte raised by one): every subject that
    // starts with the prefix, as one range of audit_subject.
    std::string upper = f.subject_prefix;
    if (static_cast<unsigned char>(upper.back()) == 0xff) {
      return InvalidInput("audit subject prefix ends in byte 0xff");
    }
    upper.back() = static_cast<char>(upper.back() + 1);
    sql += " AND subject >= ? AND subject < ?";
    binds.push_back(f.subject_prefix);
    binds.push_back(upper);
  }
  // One row past the limit says whether another page follows.
  sql += " ORDER BY seq LIMIT ?";
  binds.push_back(static_cast<int64_t>(f.limit) + 1);
  CARAVAN_STORE_ASSIGN_OR_RETURN(Statement st, db_->Prepare(sql));
  BindAll(st, binds);
  AuditPage page;
  size_t detail_bytes = 0;
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return page;
    const bool full =
        page.entries.size() == f.limit ||
        (f.max_detail_bytes != 0 && detail_bytes >= f.max_detail_bytes);
    if (full) {
      page.more = true;
      return page;
    }
    CARAVAN_STORE_ASSIGN_OR_RETURN(AuditEntry e, ReadAuditRow(st));
    detail_bytes += e.event.detail.size();
    page.entries.push_back(std::move(e));
  }
}

Result<uint64_t> Reader::VerifyAuditChain() {
  CARAVAN_STORE_READ_TXN(*db_);
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st, db_->Prepare(std::string("SELECT ") + kAuditColumns +
                                 " FROM audit ORDER BY seq"));
  uint64_t expected = 1;
  internal::AuditHash prev{};
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    const uint64_t seq = static_cast<uint64_t>(st.Int(0));
    Result<AuditEntry> e = ReadAuditRow(st);
    if (!e.ok()) return e.status();
    if (seq != expected) {
      return Corrupt("audit entry " + std::to_string(expected) +
                     " is missing (the next entry is " + std::to_string(seq) +
                     ")");
    }
    if (e->prev_hash != prev) {
      return Corrupt("audit entry " + std::to_string(seq) +
                     " does not chain to entry " + std::to_string(seq - 1) +
                     " (prev_hash mismatch)");
    }
    if (internal::ComputeAuditHash(prev, seq, e->event) != e->hash) {
      return Corrupt("audit entry " + std::to_string(seq) +
                     " does not match its hash (entry or hash changed)");
    }
    prev = e->hash;
    ++expected;
  }
  const uint64_t count = expected - 1;
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement head,
      db_->Prepare("SELECT (SELECT value FROM meta WHERE key = "
                   "'audit_head_seq'), (SELECT value FROM meta WHERE key = "
                   "'audit_head_hash')"));
  CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, head.Step());
  internal::AuditHash head_hash{};
  if (!row || !head.FixedBlob(1, head_hash)) {
    return Corrupt("audit head is missing from the meta table");
  }
  const uint64_t head_seq = static_cast<uint64_t>(head.Int(0));
  if (head_seq > count) {
    return Corrupt("audit entry " + std::to_string(count + 1) +
                   " is missing: the log ends at " + std::to_string(count) +
                   " but its anchored head is " + std::to_string(head_seq));
  }
  if (head_seq < count) {
    return Corrupt("audit entry " + std::to_string(head_seq + 1) +
                   " is past the anchored head " + std::to_string(head_seq));
  }
  if (head_hash != prev) {
    return Corrupt("audit entry " + std::to_string(count) +
                   " does not match the anchored head hash " +
                   crypto::ToHex(head_hash).substr(0, 16) + "...");
  }
  return count;
}

namespace {

Result<RosterMember> ReadRosterRow(const Statement& st) {
  RosterMember m;
  m.name = st.Text(0);
  m.country = st.Text(1);
  if (!st.FixedBlob(2, m.identity_key)) {
    return Corrupt("roster member '" + m.name + "' has a malformed key");
  }
  m.endpoint = st.Text(3);
  return m;
}

Result<Withheld> ReadWithheldRow(const Statement& st) {
  Withheld w;
  w.peer = st.Text(0);
  w.seq = static_cast<uint64_t>(st.Int(1));
  w.rule = st.Text(2);
  w.retry_at = st.Int(3);
  w.withheld_at = st.Int(4);
  return w;
}

template <typename T, typename F>
Result<std::vector<T>> ReadAll(Statement& st, F read_row) {
  std::vector<T> out;
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return out;
    CARAVAN_STORE_ASSIGN_OR_RETURN(T value, read_row(st));
    out.push_back(std::move(value));
  }
}

Result<PeerState> ReadPeerRow(const Statement& st) {
  PeerState p;
  p.peer = st.Text(0);
  p.decided_seq = static_cast<uint64_t>(st.Int(1));
  p.acked_seq = static_cast<uint64_t>(st.Int(2));
  p.inbound_seq = static_cast<uint64_t>(st.Int(3));
  p.last_contact = st.Int(4);
  p.bytes_sent = static_cast<uint64_t>(st.Int(5));
  p.bytes_received = static_cast<uint64_t>(st.Int(6));
  p.link_state = st.Text(7);
  return p;
}

constexpr const char* kPeerColumns =
    "peer, decided_seq, acked_seq, inbound_seq, last_contact, bytes_sent, "
    "bytes_received, link_state";

}  // namespace

Result<std::vector<RosterMember>> Reader::Roster() {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st, db_->Prepare("SELECT name, country, identity_key, "
                                 "endpoint FROM roster ORDER BY name"));
  return ReadAll<RosterMember>(st, ReadRosterRow);
}

Result<std::optional<RosterMember>> Reader::RosterByKey(const PublicKey& key) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st, db_->Prepare("SELECT name, country, identity_key, "
                                 "endpoint FROM roster "
                                 "WHERE identity_key = ?"));
  st.BindBlob(1, key);
  CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<RosterMember>();
  CARAVAN_STORE_ASSIGN_OR_RETURN(RosterMember m, ReadRosterRow(st));
  return std::optional<RosterMember>(std::move(m));
}

Result<std::vector<PeerState>> Reader::PeerStates() {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st, db_->Prepare(std::string("SELECT ") + kPeerColumns +
                                 " FROM peer_state ORDER BY peer"));
  return ReadAll<PeerState>(st, ReadPeerRow);
}

Result<PeerState> Reader::GetPeerState(std::string_view peer) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st, db_->Prepare(std::string("SELECT ") + kPeerColumns +
                                 " FROM peer_state WHERE peer = ?"));
  st.BindText(1, peer);
  CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) {
    PeerState p;
    p.peer = std::string(peer);
    return p;
  }
  return ReadPeerRow(st);
}

Result<std::vector<Delivery>> Reader::Deliveries(const IndicatorId& id) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT d.peer, d.revision, d.variant, d.delivered_at "
                   "FROM indicators i JOIN deliveries d ON d.rid = i.rid "
                   "WHERE " +
                   internal::IdIs("i.", "?1") + " ORDER BY d.peer"));
  st.BindBlob(1, id);
  return ReadAll<Delivery>(st, [&id](const Statement& s) -> Result<Delivery> {
    Delivery d;
    d.id = id;
    d.peer = s.Text(0);
    d.revision = static_cast<uint32_t>(s.Int(1));
    d.variant = static_cast<uint32_t>(s.Int(2));
    d.delivered_at = s.Int(3);
    return d;
  });
}

Result<std::vector<Sighting>> Reader::Sightings(const IndicatorId& id) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT id, time, note, actor FROM sightings WHERE id = ? "
                   "ORDER BY time, sid LIMIT ?"));
  st.BindBlob(1, id);
  st.Bind(2, static_cast<int64_t>(kMaxQueryLimit));
  return ReadAll<Sighting>(st, [](const Statement& s) -> Result<Sighting> {
    Sighting x;
    if (!s.FixedBlob(0, x.id)) return Corrupt("malformed sighting id");
    x.time = s.Int(1);
    x.note = s.Text(2);
    x.actor = s.Text(3);
    return x;
  });
}

Result<std::vector<Withheld>> Reader::WithheldDue(int64_t now, size_t limit) {
  CARAVAN_RETURN_IF_ERROR(CheckLimit(limit));
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT peer, seq, rule, retry_at, withheld_at FROM "
                   "withheld WHERE retry_at > 0 AND retry_at <= ? "
                   "ORDER BY retry_at LIMIT ?"));
  st.Bind(1, now);
  st.Bind(2, static_cast<int64_t>(limit));
  return ReadAll<Withheld>(st, ReadWithheldRow);
}

Result<std::vector<Withheld>> Reader::WithheldForPeer(std::string_view peer,
                                                      uint64_t after_seq,
                                                      size_t limit) {
  CARAVAN_RETURN_IF_ERROR(CheckLimit(limit));
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT peer, seq, rule, retry_at, withheld_at FROM "
                   "withheld WHERE peer = ? AND seq > ? ORDER BY seq "
                   "LIMIT ?"));
  st.BindText(1, peer);
  st.Bind(2, static_cast<int64_t>(std::min<uint64_t>(after_seq, INT64_MAX)));
  st.Bind(3, static_cast<int64_t>(limit));
  return ReadAll<Withheld>(st, ReadWithheldRow);
}

Result<DeferredSummary> Reader::DeferredForPeer(std::string_view peer) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT count(*), coalesce(min(retry_at), 0) FROM withheld "
                   "WHERE peer = ? AND retry_at > 0"));
  st.BindText(1, peer);
  CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
  DeferredSummary s;
  if (!row) return s;
  s.records = static_cast<uint64_t>(st.Int(0));
  s.next_retry_at = st.Int(1);
  return s;
}

Result<uint64_t> Reader::QuotaCount(std::string_view country, int64_t day) {
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT count FROM quota WHERE country = ? AND day = ?"));
  st.BindText(1, country);
  st.Bind(2, day);
  CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? static_cast<uint64_t>(st.Int(0)) : uint64_t{0};
}

Result<std::vector<IndicatorId>> Reader::ReceivedBefore(
    std::string_view country, int64_t before, size_t limit) {
  CARAVAN_RETURN_IF_ERROR(CheckLimit(limit));
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT id FROM indicators WHERE origin_country = ? AND "
                   "received_from IS NOT NULL AND stored_at < ? LIMIT ?"));
  st.BindText(1, country);
  st.Bind(2, before);
  st.Bind(3, static_cast<int64_t>(limit));
  return ReadAll<IndicatorId>(st, [](const Statement& s) -> Result<IndicatorId> {
    IndicatorId id;
    if (!s.FixedBlob(0, id)) return Corrupt("malformed indicator id");
    return id;
  });
}

}  // namespace caravan::store
