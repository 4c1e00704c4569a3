// Reader::CountDecisions: the SQL aggregates behind `caravan report`
// (report_types.h, docs/report.md). Kept apart from reader.cc: only the
// report reads the audit log this way.
//
// Every query walks the audit entries of the period once through the
// audit_time index and sums in SQLite; what comes out is one row per group
// (action, peer, rule; day and action; peer, TLP and type), never a row
// per entry.

#include <algorithm>
#include <climits>

#include "daemon/store/reader.h"
#include "daemon/store/sqlite_db.h"

namespace caravan::store {
using internal::Statement;

namespace {

// Groups in all: far above any real report (peers x rules x actions, and
// days x actions), small enough that one reply stays a few MB.
constexpr size_t kMaxReportGroups = 100000;

// The period's record decisions, each detail checked once: a detail that
// is not JSON (a damaged store) counts as {} rather than failing the
// report. Binds: ?1 since, ?2 until.
constexpr const char* kDecisionsInPeriod =
    "(SELECT action, peer, time, "
    " CASE WHEN json_valid(detail) THEN detail ELSE '{}' END AS d "
    " FROM audit WHERE time >= ?1 AND time <= ?2 AND action IN "
    " ('share', 'withdraw', 'withhold', 'defer', 'accept', 'quarantine', "
    "  'reject'))";

// Records an entry covers: its "count" for the batch actions, else one.
constexpr const char* kRecordsOfEntry =
    "CASE WHEN action IN ('share', 'withdraw', 'accept', 'quarantine') "
    "THEN coalesce(json_extract(d, '$.count'), 1) ELSE 1 END";

// One read transaction for the three statements: one snapshot.
class Snapshot {
 public:
  explicit Snapshot(internal::Database& db) : db_(db) {}
  Status Begin() {
    CARAVAN_STORE_ASSIGN_OR_RETURN(Statement st, db_.Prepare("BEGIN"));
    CARAVAN_RETURN_IF_ERROR(st.Run());
    open_ = true;
    return Status::Ok();
  }
  ~Snapshot() {
    if (!open_) return;
    Result<Statement> st = db_.Prepare("COMMIT");
    if (st.ok()) (void)st->Run();
  }
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

 private:
  internal::Database& db_;
  bool open_ = false;
};

uint64_t NonNegative(int64_t v) { return v < 0 ? 0 : static_cast<uint64_t>(v); }

Status TooMany() {
  return InvalidInput("the report has more than " +
                      std::to_string(kMaxReportGroups) +
                      " groups; ask for a shorter period");
}

}  // namespace

Result<ReportCounts> Reader::CountDecisions(int64_t since, int64_t until) {
  if (since < 0 || until < since) {
    return InvalidInput("report period: since " + std::to_string(since) +
                        " is after until " + std::to_string(until));
  }
  Snapshot snapshot(*db_);
  CARAVAN_RETURN_IF_ERROR(snapshot.Begin());
  ReportCounts out;
  size_t groups = 0;

  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement rules,
      db_->Prepare(std::string(
                       "SELECT action, peer, "
                       " coalesce(json_extract(d, '$.country'), ''), "
                       " coalesce(json_extract(d, '$.rule.file'), ''), "
                       " coalesce(json_extract(d, '$.rule.line'), 0), "
                       " coalesce(json_extract(d, '$.rule.key'), ''), "
                       " count(*), sum(") +
                   kRecordsOfEntry + ") FROM " + kDecisionsInPeriod +
                   " GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6"));
  rules.Bind(1, since);
  rules.Bind(2, until);
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, rules.Step());
    if (!row) break;
    if (++groups > kMaxReportGroups) return TooMany();
    ReportRuleGroup g;
    g.action = rules.Text(0);
    g.peer = rules.Text(1);
    g.country = rules.Text(2);
    g.rule_file = rules.Text(3);
    g.rule_line = rules.Int(4);
    g.rule_key = rules.Text(5);
    g.entries = NonNegative(rules.Int(6));
    g.records = NonNegative(rules.Int(7));
    out.rules.push_back(std::move(g));
  }

  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement days,
      db_->Prepare(std::string("SELECT time / 86400, action, sum(") +
                   kRecordsOfEntry + ") FROM " + kDecisionsInPeriod +
                   " GROUP BY 1, 2 ORDER BY 1, 2"));
  days.Bind(1, since);
  days.Bind(2, until);
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, days.Step());
    if (!row) break;
    if (++groups > kMaxReportGroups) return TooMany();
    out.days.push_back({days.Int(0), days.Text(1), NonNegative(days.Int(2))});
  }

  // Each shared record through our log seq to the indicator it revises:
  // one probe of records' primary key and one of indicators' rowid.
  CARAVAN_STORE_ASSIGN_OR_RETURN(
      Statement kinds,
      db_->Prepare(
          "SELECT a.peer, coalesce(i.tlp, -1), coalesce(i.type, -1), "
          " count(*) "
          "FROM audit a, json_each(CASE WHEN json_valid(a.detail) "
          " THEN a.detail ELSE '{}' END, '$.records') j "
          "LEFT JOIN records r ON r.seq = json_extract(j.value, '$.seq') "
          "LEFT JOIN indicators i ON i.rid = r.rid "
          "WHERE a.time >= ?1 AND a.time <= ?2 AND a.action = 'share' "
          "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"));
  kinds.Bind(1, since);
  kinds.Bind(2, until);
  for (;;) {
    CARAVAN_STORE_ASSIGN_OR_RETURN(bool row, kinds.Step());
    if (!row) break;
    if (++groups > kMaxReportGroups) return TooMany();
    out.shared_kinds.push_back({kinds.Text(0), kinds.Int(1), kinds.Int(2),
                                NonNegative(kinds.Int(3))});
  }
  return out;
}

}  // namespace caravan::store
