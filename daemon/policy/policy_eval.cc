#include "daemon/policy/policy_eval.h"

#include <algorithm>
#include <optional>

#include "daemon/policy/policy_duration.h"
#include "daemon/policy/protected_match.h"

namespace caravan::policy {
namespace {

using protocol::Indicator;
using protocol::Reshare;
using protocol::Tlp;
using Verdict = OutboundDecision::Verdict;
using InVerdict = InboundDecision::Verdict;

constexpr int64_t kDay = 86400;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

Rule FileRule(const PolicyFile& file, std::string key, std::string reason) {
  Rule r;
  r.file = file.name;
  r.line = file.LineOf(key);
  r.key = std::move(key);
  r.reason = std::move(reason);
  return r;
}

std::string TlpText(Tlp t) { return std::string(protocol::TlpName(t)); }

// The lowercased tags of an indicator (policy tags are stored lowercase, so
// "Internal" and "internal" are the same tag to policy).
std::vector<std::string> LowerTags(const Indicator& ind) {
  std::vector<std::string> tags;
  tags.reserve(ind.tags.size());
  for (const auto& t : ind.tags) tags.push_back(Lower(t));
  return tags;
}

bool HasTag(const std::vector<std::string>& tags, const std::string& t) {
  return std::find(tags.begin(), tags.end(), t) != tags.end();
}

bool FieldPresent(const Indicator& ind, RedactField f) {
  switch (f) {
    case RedactField::kDescription: return !ind.description.empty();
    case RedactField::kTags: return !ind.tags.empty();
    case RedactField::kFirstSeen: return ind.first_seen != 0;
    case RedactField::kLastSeen: return ind.last_seen != 0;
    case RedactField::kValidUntil: return ind.valid_until != 0;
  }
  return true;
}

// A relay forwards the origin's signed bytes, so it cannot redact: no field
// the scope redacts may be present. `what` names the thing relayed
// ("record", "revocation") in the reason.
std::optional<Rule> RelayRedactRefusal(const PolicyFile& file, const OutboundRules& rules,
                                       const Indicator& ind, const std::string& what,
                                       const std::string& why_suffix) {
  for (RedactField f : rules.redact) {
    if (FieldPresent(ind, f)) {
      return FileRule(file, "outbound.redact",
                      "a relayed " + what + " cannot be redacted (only its origin "
                      "can) and it carries " +
                          std::string(RedactFieldName(f)) + why_suffix);
    }
  }
  return std::nullopt;
}

// Nor can it lower reshare: the record must allow relaying and the scope
// must allow a "federation" record; then the redaction check above.
std::optional<Rule> RelayRefusal(const PolicyFile& file, const OutboundRules& rules,
                                 const Indicator& ind, const std::string& what,
                                 const std::string& why_suffix) {
  if (ind.reshare != Reshare::kFederation) {
    return Rule{"", 0, "record.reshare",
                "the origin allows reshare '" +
                    std::string(protocol::ReshareName(ind.reshare)) +
                    "', not 'federation', so the " + what + " cannot be relayed" +
                    why_suffix};
  }
  if (rules.reshare != Reshare::kFederation) {
    return FileRule(file, "outbound.reshare",
                    "a relayed " + what + " keeps its origin's reshare 'federation', "
                    "above this scope's reshare '" +
                        std::string(protocol::ReshareName(rules.reshare)) + "'" +
                        why_suffix);
  }
  return RelayRedactRefusal(file, rules, ind, what, why_suffix);
}

// Checks common to both directions; a Rule when the record fails one.
std::optional<Rule> CheckContent(const PolicyFile& file, std::string_view dir,
                                 Tlp max_tlp, const TypeSet& types,
                                 uint8_t min_confidence, const Indicator& ind) {
  const std::string prefix = std::string(dir) + ".";
  if (ind.tlp > max_tlp) {
    return FileRule(file, prefix + "max_tlp",
                    "TLP " + TlpText(ind.tlp) + " is above max_tlp " +
                        TlpText(max_tlp));
  }
  if (!types[static_cast<size_t>(ind.type)]) {
    return FileRule(file, prefix + "types",
                    "type " + std::string(protocol::TypeName(ind.type)) +
                        " is not in types");
  }
  if (ind.confidence < min_confidence) {
    return FileRule(file, prefix + "min_confidence",
                    "confidence " + std::to_string(ind.confidence) +
                        " is below min_confidence " +
                        std::to_string(min_confidence));
  }
  return std::nullopt;
}

OutboundDecision Withhold(OutboundDecision d, Rule rule) {
  d.verdict = Verdict::kWithhold;
  d.rule = std::move(rule);
  return d;
}

}  // namespace

int64_t UtcDayIndex(int64_t now) {
  return now >= 0 ? now / kDay : -((-now + kDay - 1) / kDay);
}

int64_t NextUtcMidnight(int64_t now) { return (UtcDayIndex(now) + 1) * kDay; }

ResolvedScope ScopeFor(const PolicySet& set, std::string_view country) {
  ResolvedScope s;
  s.country = std::string(country);
  // Candidates from most to least specific; the first with the direction's
  // table governs that direction.
  struct Candidate {
    const PolicyFile* file;
    std::string via;
  };
  std::vector<Candidate> chain;
  if (auto it = set.country_files.find(country); it != set.country_files.end()) {
    chain.push_back({&set.scopes[it->second], "country " + s.country});
  }
  if (auto it = set.group_files.find(country); it != set.group_files.end()) {
    chain.push_back({&set.scopes[it->second.first], "group " + it->second.second});
  }
  chain.push_back({&set.default_file, "default"});
  for (const auto& c : chain) {
    if (s.outbound_file == nullptr && c.file->outbound) {
      s.outbound_file = c.file;
      s.outbound_via = c.via;
    }
    if (s.inbound_file == nullptr && c.file->inbound) {
      s.inbound_file = c.file;
      s.inbound_via = c.via;
    }
  }
  return s;
}

OutboundDecision EvaluateOutbound(const PolicySet& set,
                                  const protocol::RecordBody& revision,
                                  std::string_view recipient_country,
                                  const OutboundContext& ctx) {
  const Indicator& ind = revision.indicator;
  const ResolvedScope scope = ScopeFor(set, recipient_country);
  const PolicyFile& file = *scope.outbound_file;
  const OutboundRules& rules = scope.outbound();

  OutboundDecision d;
  d.scope_file = file.name;

  // 1. A revocation goes only to peers that hold the indicator: to anyone
  // else it would only leak the value. To a holder it goes below, once
  // its content has passed the same checks as any revision (it carries the
  // fields of the revision it retracts).
  if (ind.revoked && !ctx.recipient_holds_indicator) {
    return Withhold(std::move(d),
                    Rule{"", 0, "revocation",
                         "a revocation goes only to peers that received the "
                         "indicator"});
  }

  // 2. Protected national assets never leave, whatever any file says.
  if (auto m = MatchProtected(set.protected_assets, ind)) {
    return Withhold(std::move(d),
                    Rule{std::string(kProtectedFile), m->line, m->key, m->reason});
  }

  // 3. TLP:RED never leaves automatically.
  if (ind.tlp == Tlp::kRed) {
    return Withhold(std::move(d),
                    Rule{"", 0, "tlp_red", "TLP:RED never leaves automatically"});
  }

  // 4. The scope: switched on, then its filters.
  if (!rules.share) {
    return Withhold(
        std::move(d),
        FileRule(file, "outbound.share",
                 file.LineOf("outbound.share") != 0
                     ? "share = false for " + scope.outbound_via
                     : "share is not set for " + scope.outbound_via +
                           " (default deny)"));
  }
  if (auto r = CheckContent(file, "outbound", rules.max_tlp, rules.types,
                            rules.min_confidence, ind)) {
    return Withhold(std::move(d), std::move(*r));
  }
  const std::vector<std::string> tags = LowerTags(ind);
  for (const auto& t : rules.exclude_tags) {
    if (HasTag(tags, t)) {
      return Withhold(std::move(d), FileRule(file, "outbound.exclude_tags",
                                             "tag '" + t + "' is excluded"));
    }
  }
  for (const auto& t : rules.require_tags) {
    if (!HasTag(tags, t)) {
      return Withhold(std::move(d),
                      FileRule(file, "outbound.require_tags",
                               "required tag '" + t + "' is missing"));
    }
  }

  // A revocation whose content may go reaches the holder whatever the
  // relay, embargo and quota rules say: withholding a retraction does more
  // harm than sending it. In the form this scope allows: redacted, and a
  // relay cannot redact (only the origin signs).
  if (ind.revoked) {
    if (ctx.is_relay) {
      // A relayed revocation carries the fields of the revision it retracts
      // (for a withdrawal: of the revision its origin withdrew from us), which
      // may be a revision the recipient never held. Then it tells the
      // recipient something new and goes only as a relayed record would.
      auto refusal =
          ctx.revocation_tells_holder_nothing_new
              ? RelayRedactRefusal(file, rules, ind, "revocation", "")
              : RelayRefusal(file, rules, ind, "revocation",
                             " (it carries content the peer never held)");
      if (refusal) return Withhold(std::move(d), std::move(*refusal));
      d.reshare_ceiling = ind.reshare;
    } else {
      for (RedactField f : rules.redact) {
        d.redact.emplace_back(RedactFieldName(f));
      }
      // Lowered like any send (a revocation is relayed to holders whatever
      // its reshare, so this never stops it following a copy).
      d.reshare_ceiling = std::min(ind.reshare, rules.reshare);
    }
    d.verdict = Verdict::kShare;
    d.rule = Rule{"", 0, "revocation",
                  "a revocation always reaches peers that hold the indicator"};
    return d;
  }

  // 5. Relays: only the origin may change a signed record, so a relayed
  // record must allow relaying and must not need any change this scope asks
  // for (a lower reshare, a redaction).
  if (ctx.is_relay) {
    if (auto r = RelayRefusal(file, rules, ind, "record", "")) {
      return Withhold(std::move(d), std::move(*r));
    }
  }

  // 6. Time and volume: wait rather than refuse.
  if (rules.embargo > 0 && revision.created + rules.embargo > ctx.now) {
    d.verdict = Verdict::kDefer;
    d.retry_at = revision.created + rules.embargo;
    d.rule = FileRule(file, "outbound.embargo",
                      "embargo " + FormatPolicyDuration(rules.embargo) +
                          " after creation has not passed");
    return d;
  }
  if (rules.max_per_day && ctx.sent_today_to_country >= *rules.max_per_day) {
    d.verdict = Verdict::kDefer;
    d.retry_at = NextUtcMidnight(ctx.now);
    d.rule = FileRule(file, "outbound.max_per_day",
                      "today's quota of " + std::to_string(*rules.max_per_day) +
                          " is used up");
    return d;
  }

  d.verdict = Verdict::kShare;
  d.rule = FileRule(file, "outbound.share", "shared under " + file.name +
                                                " (" + scope.outbound_via + ")");
  if (!ctx.is_relay) {
    for (RedactField f : rules.redact) {
      d.redact.emplace_back(RedactFieldName(f));
    }
  }
  d.reshare_ceiling = std::min(ind.reshare, rules.reshare);
  return d;
}

InboundDecision EvaluateInbound(const PolicySet& set,
                                const protocol::RecordBody& revision,
                                std::string_view sender_country,
                                const InboundContext& ctx) {
  const Indicator& ind = revision.indicator;
  const ResolvedScope scope = ScopeFor(set, sender_country);
  const PolicyFile& file = *scope.inbound_file;
  const InboundRules& rules = scope.inbound();

  InboundDecision d;
  d.scope_file = file.name;
  auto reject = [&d](Rule r) {
    d.verdict = InVerdict::kReject;
    d.rule = std::move(r);
    return d;
  };

  if (ind.revoked && ctx.holds_indicator) {
    d.verdict = InVerdict::kAccept;
    d.rule = Rule{"", 0, "revocation",
                  "a revocation of an indicator we hold is always accepted"};
    return d;
  }
  if (!rules.accept) {
    return reject(FileRule(file, "inbound.accept",
                           "accept = false for " + scope.inbound_via));
  }
  if (ctx.relayed && !rules.accept_relayed) {
    return reject(FileRule(file, "inbound.accept_relayed",
                           "relayed records are not accepted from " +
                               scope.inbound_via));
  }
  if (auto r = CheckContent(file, "inbound", rules.max_tlp, rules.types,
                            rules.min_confidence, ind)) {
    return reject(std::move(*r));
  }
  if (rules.retention) d.expires_at = ctx.now + *rules.retention;
  if (rules.quarantine) {
    d.verdict = InVerdict::kQuarantine;
    d.rule = FileRule(file, "inbound.quarantine",
                      "held for operator review (" + scope.inbound_via + ")");
    return d;
  }
  d.verdict = InVerdict::kAccept;
  d.rule = FileRule(file, "inbound.accept",
                    "accepted under " + file.name + " (" + scope.inbound_via + ")");
  return d;
}

}  // namespace caravan::policy
