#pragma once
// The one outbound decision (DESIGN.md "Policy"): what may a peer in
// `country` receive of an indicator now. Its inputs are the indicator's
// current revision, what the peer already holds of it, the policy set, the
// time and today's delivery count; nothing else. The sync sender, relays,
// hub sub-sessions and `caravan policy explain` all call DecideShare with
// the same inputs, so explain is the sender's answer.
//
// The rule for a peer that holds an earlier revision (docs/policy.md,
// "Updates and holders"): the current revision is judged like any first
// send. A revocation reaches every holder whose scope passes its content;
// a relayed one that carries content the holder never had (a withdrawal
// made for another holder, say) goes only as a relayed record would, since
// a relay cannot redact what the origin signed. Anything else that may not go
// becomes a withdrawal of what the peer holds when this node is the origin
// (kWithdraw), and nothing when it is a relay (kWithhold): a holder never
// receives what today's policy would not send, and never keeps acting on a
// revision its origin no longer stands behind for it.
//
// Superseded revisions never reach this function: callers pass the current
// revision only (the sender skips log entries that are not current).
//
// Pure; thread-safe (a const PolicySet may be shared).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/policy/member_trust_rule.h"
#include "daemon/policy/policy.h"
#include "daemon/policy/policy_eval.h"
#include "protocol/indicator.h"

namespace caravan::policy {

// What the recipient already holds of the indicator (deliveries table).
struct HeldRevision {
  uint32_t revision = 0;
  uint32_t variant = 0;
  bool withdrawn = false;  // what it holds is our withdrawal (a revocation)
  // What that revision says, when the caller could read it from its store
  // (a relay needs it to forward a revocation; nullopt: judged as new).
  std::optional<protocol::Indicator> content;
};

// True when `revocation` tells a holder of `held` nothing it did not have:
// every field equal but revoked, its reason and reshare.
bool RevealsNothingNew(const protocol::Indicator& held,
                       const protocol::Indicator& revocation);

// The indicator matched a warninglist and was not submitted with --force
// (docs/warninglists.md).
struct WarninglistFlag {
  std::string list;
  std::string entry;
};

struct ShareInputs {
  int64_t now = 0;                     // Unix seconds UTC
  uint64_t sent_today_to_country = 0;  // records sent today (UTC day)
  bool is_relay = false;               // the indicator's origin is not us
  std::optional<HeldRevision> held;    // nullopt: the peer holds nothing
  std::optional<WarninglistFlag> warninglist;
  OriginTrust origin_trust;  // removed member, compromised key (issue 16)
};

struct ShareDecision {
  enum class Action {
    kShare,     // send the current revision (redacted as listed)
    kWithhold,  // send nothing; the rule says why
    kDefer,     // send nothing until retry_at (embargo, quota)
    kWithdraw,  // the peer holds an earlier revision it may no longer keep:
                // send it a signed withdrawal (we are the origin)
    kSkip,      // the peer already holds this revision: nothing to decide
  };
  Action action = Action::kWithhold;
  Rule rule;               // the rule that decided (for kWithdraw: the rule
                           // that keeps the current revision home)
  std::string scope_file;  // the file that governs outbound for the country
  int64_t retry_at = 0;    // kDefer only
  // kShare only: field names (RedactFieldName) to remove, sorted as the
  // scope lists them; and min(record's reshare, the scope's reshare).
  std::vector<std::string> redact;
  protocol::Reshare reshare_ceiling = protocol::Reshare::kNone;
};

ShareDecision DecideShare(const PolicySet& set,
                          const protocol::RecordBody& current,
                          std::string_view recipient_country,
                          const ShareInputs& in);

// "share", "withhold", "defer", "withdraw", "skip".
std::string_view ActionName(ShareDecision::Action a);

}  // namespace caravan::policy
