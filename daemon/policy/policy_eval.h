#pragma once
// Policy decisions: pure functions (record, country, policy, now) ->
// decision, each naming the rule that made it (DESIGN.md "Policy";
// docs/policy.md lists the order of the checks).
//
// Nothing here reads clocks, files or the store: the caller passes the time
// and the state a decision depends on (today's count for a quota, whether
// the recipient already holds the indicator). Decisions hold no references
// into the PolicySet. Thread-safe: a const PolicySet may be shared.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/policy/policy.h"
#include "protocol/indicator.h"

namespace caravan::policy {

// The rule behind a decision. `file` is a file of the policy set
// ("kz.toml", "protected.toml"), or empty for a built-in rule (TLP:RED,
// revocations) or the record's own field (reshare of a relayed record).
struct Rule {
  std::string file;
  int line = 0;        // line of the key in `file`; 0 when absent (default)
  std::string key;     // "outbound.max_tlp", "cidrs", "tlp_red", ...
  std::string reason;  // one human sentence naming the values compared

  bool operator==(const Rule&) const = default;
};

// Which files govern a country: the most specific file that has the
// direction's table (country file > group file > default.toml).
struct ResolvedScope {
  std::string country;
  const PolicyFile* outbound_file = nullptr;  // never null; into the set
  const PolicyFile* inbound_file = nullptr;   // never null; into the set
  std::string outbound_via;  // "country KZ", "group central-asia", "default"
  std::string inbound_via;

  const OutboundRules& outbound() const { return *outbound_file->outbound; }
  const InboundRules& inbound() const { return *inbound_file->inbound; }
};

// The returned pointers live as long as `set`. An unknown or malformed
// country resolves to default.toml.
ResolvedScope ScopeFor(const PolicySet& set, std::string_view country);

struct OutboundContext {
  int64_t now = 0;                      // Unix seconds UTC
  uint64_t sent_today_to_country = 0;   // records sent today (UTC day)
  bool is_relay = false;                // a third party's record
  // The recipient holds an earlier revision (deliveries table). Only then
  // does a revocation go out regardless of today's policy.
  bool recipient_holds_indicator = false;
  // A relayed revocation carries nothing the recipient did not hold (its
  // held revision's fields, revoked and reshare aside, are the same). Only
  // then does it reach a holder whatever the relay rules say.
  bool revocation_tells_holder_nothing_new = false;
};

struct OutboundDecision {
  enum class Verdict { kShare, kWithhold, kDefer };
  Verdict verdict = Verdict::kWithhold;
  // kDefer only: when to decide again (end of embargo, next UTC midnight).
  int64_t retry_at = 0;
  Rule rule;
  std::string scope_file;  // the file that governs outbound for the country
  // kShare only: field names (RedactFieldName) to remove, sorted.
  std::vector<std::string> redact;
  // kShare only: min(record's reshare, the scope's reshare).
  protocol::Reshare reshare_ceiling = protocol::Reshare::kNone;
};

OutboundDecision EvaluateOutbound(const PolicySet& set,
                                  const protocol::RecordBody& revision,
                                  std::string_view recipient_country,
                                  const OutboundContext& ctx);

struct InboundContext {
  int64_t now = 0;     // when the record is received
  bool relayed = false;  // it arrived from a peer that is not its origin
  // We hold an earlier revision of this indicator from its origin.
  bool holds_indicator = false;
};

struct InboundDecision {
  enum class Verdict { kAccept, kReject, kQuarantine };
  Verdict verdict = Verdict::kReject;
  Rule rule;
  std::string scope_file;
  // kAccept/kQuarantine with a retention: now + retention (delete after).
  std::optional<int64_t> expires_at;
};

// `sender_country` is the country of the record's origin (relayed records
// are judged by their origin's scope plus accept_relayed).
InboundDecision EvaluateInbound(const PolicySet& set,
                                const protocol::RecordBody& revision,
                                std::string_view sender_country,
                                const InboundContext& ctx);

// Quota days are UTC days: floor(now / 86400).
int64_t UtcDayIndex(int64_t now);
// The first second of the next UTC day.
int64_t NextUtcMidnight(int64_t now);

}  // namespace caravan::policy
