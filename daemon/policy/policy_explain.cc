#include "daemon/policy/policy_explain.h"

#include <ctime>

namespace caravan::policy {

std::string_view VerdictName(OutboundDecision::Verdict v) {
  switch (v) {
    case OutboundDecision::Verdict::kShare: return "share";
    case OutboundDecision::Verdict::kWithhold: return "withhold";
    case OutboundDecision::Verdict::kDefer: return "defer";
  }
  return "withhold";
}

std::string_view VerdictName(InboundDecision::Verdict v) {
  switch (v) {
    case InboundDecision::Verdict::kAccept: return "accept";
    case InboundDecision::Verdict::kReject: return "reject";
    case InboundDecision::Verdict::kQuarantine: return "quarantine";
  }
  return "reject";
}

Explanation Explain(const OutboundDecision& d) {
  Explanation e;
  e.decision = std::string(VerdictName(d.verdict));
  e.rule = d.rule;
  e.scope_file = d.scope_file;
  if (d.verdict == OutboundDecision::Verdict::kShare) {
    e.redact = d.redact;
    e.reshare = std::string(protocol::ReshareName(d.reshare_ceiling));
  }
  if (d.verdict == OutboundDecision::Verdict::kDefer) e.retry_at = d.retry_at;
  return e;
}

Explanation Explain(const ShareDecision& d) {
  Explanation e;
  e.decision = std::string(ActionName(d.action));
  e.rule = d.rule;
  e.scope_file = d.scope_file;
  if (d.action == ShareDecision::Action::kShare) {
    e.redact = d.redact;
    e.reshare = std::string(protocol::ReshareName(d.reshare_ceiling));
  }
  if (d.action == ShareDecision::Action::kDefer) e.retry_at = d.retry_at;
  return e;
}

Explanation Explain(const InboundDecision& d) {
  Explanation e;
  e.decision = std::string(VerdictName(d.verdict));
  e.rule = d.rule;
  e.scope_file = d.scope_file;
  if (d.verdict != InboundDecision::Verdict::kReject) e.expires_at = d.expires_at;
  return e;
}

std::string FormatRfc3339(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Built by appending pieces: GCC 12 at -O2 reports a false -Wrestrict on
// `"literal" + std::string` here, and appends are cheaper anyway.
std::string ExplainText(const Explanation& e) {
  std::string out;
  auto line = [&out](std::string_view label, std::string_view value) {
    out.append(label).append(value).push_back('\n');
  };
  line("", e.decision);
  out.append("rule: ");
  if (e.rule.file.empty()) {
    out.append("built-in ").append(e.rule.key);
  } else {
    out.append(e.rule.file);
    if (e.rule.line > 0) out.append(":").append(std::to_string(e.rule.line));
    out.append(" ").append(e.rule.key);
    if (e.rule.line == 0) out.append(" (not set: default)");
  }
  out.push_back('\n');
  line("reason: ", e.rule.reason);
  line("scope: ", e.scope_file);
  if (!e.redact.empty()) {
    out.append("redact:");
    for (const auto& f : e.redact) out.append(" ").append(f);
    out.push_back('\n');
  }
  if (e.reshare) line("reshare: ", *e.reshare);
  if (e.retry_at) line("retry at: ", FormatRfc3339(*e.retry_at));
  if (e.expires_at) line("expires at: ", FormatRfc3339(*e.expires_at));
  return out;
}

std::string ExplainText(const OutboundDecision& d) {
  return ExplainText(Explain(d));
}
std::string ExplainText(const InboundDecision& d) {
  return ExplainText(Explain(d));
}

}  // namespace caravan::policy
