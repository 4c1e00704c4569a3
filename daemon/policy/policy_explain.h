#pragma once
// Decisions as people and scripts read them: `caravan policy explain`, the
// audit log and `caravand --check-policy`.
//
// Explanation is a flat value whose fields are the stable snake_case JSON
// fields of `caravan policy explain --json`:
//   decision    "share" | "withhold" | "defer" | "withdraw" | "skip" |
//               "accept" | "reject" | "quarantine"
//   rule        {file, line, key}: file is null for built-in rules
//   reason      one sentence
//   scope_file  the file that governs the direction for the country
//   redact      field names removed before sending (share only)
//   reshare     the reshare the recipient gets (share only), else null
//   retry_at    RFC 3339 (defer only), else null
//   expires_at  RFC 3339 (accept/quarantine with a retention), else null
// Pure functions; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/policy/policy_eval.h"
#include "daemon/policy/share_decision.h"

namespace caravan::policy {

struct Explanation {
  std::string decision;
  Rule rule;
  std::string scope_file;
  std::vector<std::string> redact;
  std::optional<std::string> reshare;
  std::optional<int64_t> retry_at;    // Unix seconds
  std::optional<int64_t> expires_at;  // Unix seconds
};

Explanation Explain(const OutboundDecision& d);
Explanation Explain(const ShareDecision& d);
Explanation Explain(const InboundDecision& d);

// "share", "withhold", "defer" / "accept", "reject", "quarantine".
std::string_view VerdictName(OutboundDecision::Verdict v);
std::string_view VerdictName(InboundDecision::Verdict v);

// Several lines for a terminal, e.g.
//   withhold
//   rule: kz.toml:5 outbound.max_tlp
//   reason: TLP amber+strict is above max_tlp amber
//   scope: kz.toml
std::string ExplainText(const Explanation& e);
std::string ExplainText(const OutboundDecision& d);
std::string ExplainText(const InboundDecision& d);

// "2024-05-01T00:00:00Z".
std::string FormatRfc3339(int64_t unix_seconds);

}  // namespace caravan::policy
