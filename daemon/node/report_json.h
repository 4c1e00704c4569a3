#pragma once
// The document of `caravan report` (docs/report.md) from the store's
// counts (store::ReportCounts): what left the country, what was withheld
// and why, what arrived, and the trend per day. The daemon builds it once;
// `--json` prints it, the text and HTML views (tools/report_*.cc) only
// lay it out, so all three show the same numbers.
//
// Pure functions; thread-safe.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "daemon/store/report_types.h"

namespace caravan::daemon {

struct ReportContext {
  std::string node_name, node_country;
  int64_t since = 0, until = 0;  // the period, Unix seconds, inclusive
  int64_t generated = 0;         // when the report was made
  // Peer name -> country (the roster), for entries whose detail names no
  // country (accept, quarantine, reject).
  std::map<std::string, std::string, std::less<>> peer_countries;
};

// Why a record was held back, from the rule that held it:
// "protected_asset", "tlp_red", "ceiling" (max_tlp, types,
// min_confidence), "quota", "embargo", "tags", "sharing_off",
// "revocation", "redaction", "reshare" or "other".
std::string_view WithheldCategory(std::string_view rule_file,
                                  std::string_view rule_key);

// Periods up to this many days get a row for every day (zeros included);
// longer ones only for days with decisions.
inline constexpr int64_t kReportMaxFilledDays = 400;

nlohmann::json ReportJson(const ReportContext& context,
                          const store::ReportCounts& counts);

}  // namespace caravan::daemon
