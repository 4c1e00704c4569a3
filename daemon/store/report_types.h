#pragma once
// What the store counts for `caravan report` (docs/report.md): the record
// decisions of the audit log in a period, summed by SQL aggregates in the
// store (Reader::SovereigntyCounts, daemon/store/report.cc), never by
// streaming the log out. Values, copied freely.

#include <cstdint>
#include <string>
#include <vector>

namespace caravan::store {

// The record decisions the report counts, as the audit log names them
// (docs/audit.md "Record decisions").
inline constexpr const char* kReportActions[] = {
    "share", "withdraw", "withhold", "defer", "accept", "quarantine", "reject"};

// Records of one action, peer and rule in the period. A batch entry
// (share, withdraw, accept, quarantine) counts its detail's "count"
// records; every other entry counts one.
struct ReportRuleGroup {
  std::string action;
  std::string peer;
  std::string country;    // the detail's "country"; empty when it has none
  std::string rule_file;  // "" for built-in rules (tlp_red, revocation)
  int64_t rule_line = 0;
  std::string rule_key;
  uint64_t entries = 0;  // audit entries
  uint64_t records = 0;  // records they cover
};

// Records of one action on one UTC day (Unix time / 86400).
struct ReportDayGroup {
  int64_t day = 0;
  std::string action;
  uint64_t records = 0;
};

// Records shared with one peer by the indicator's TLP and type, as the
// store holds the indicator now (-1: the record is no longer held).
struct ReportSharedKind {
  std::string peer;
  int64_t tlp = -1;
  int64_t type = -1;
  uint64_t records = 0;
};

struct ReportCounts {
  std::vector<ReportRuleGroup> rules;   // by action, peer, rule
  std::vector<ReportDayGroup> days;     // by day, action
  std::vector<ReportSharedKind> shared_kinds;  // by peer, tlp, type
};

}  // namespace caravan::store
