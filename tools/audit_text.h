#pragma once
// `caravan audit` for people: aligned columns, short ids, a one-line
// summary of each entry's detail, times as RFC 3339. `--json` prints the
// entries as the daemon sent them; none of this applies there.
//
// Pure functions; thread-safe.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace caravan::tools {

// Summaries longer than this end in "..." (an audit line stays one line).
inline constexpr size_t kMaxAuditSummary = 200;

// The header line of the audit table.
std::string AuditHeader();

// One entry (as `audit --json` prints it) as one aligned line.
std::string AuditRow(const nlohmann::json& entry);

// The detail as "key=value, ..." on one line: a 64-hex id cut to 12
// digits, a Unix time in a *_at field as RFC 3339, a batch's record list
// as "N records, listed with --json", nested objects compact; at most
// kMaxAuditSummary characters.
std::string AuditSummary(const nlohmann::json& detail);

// A 64-hex indicator id cut to its first 12 digits, as `query` shows ids;
// anything else unchanged.
std::string ShortId(const std::string& text);

}  // namespace caravan::tools
