#pragma once
// Outbound decisions: for one record of our log and one peer, whether it
// goes out (and in which form), is withheld, waits (embargo, quota), or
// becomes a withdrawal of what the peer holds. The policy answer is
// policy::DecideShare (daemon/policy/share_decision.h), the same function
// `caravan policy explain` calls; this file adds loop prevention and builds
// the bodies of redacted variants and withdrawals, which the page signs
// with our identity key (outbound_page.h: one Merkle batch per page).
// This is where DESIGN.md's sovereignty promise is kept on the wire.
//
// Pure; runs on the worker pool. Thread-safe (no state).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crypto/identity_key.h"
#include "daemon/policy/policy.h"
#include "daemon/policy/policy_eval.h"
#include "daemon/policy/share_decision.h"
#include "daemon/store/warninglist_hit.h"
#include "daemon/sync/key_chain.h"
#include "protocol/record_codec.h"

namespace caravan::daemon::sync {

// Who the record would go to.
struct PeerInfo {
  std::string name;
  std::string country;
  protocol::PublicKey key{};
};

// One log entry as the decider sees it.
struct LogRecord {
  uint64_t seq = 0;
  protocol::IndicatorId id{};
  protocol::SignedRecord record;  // decoded signed form
  protocol::RecordBody body;      // decoded body
  std::optional<std::string> received_from;  // nullopt: made here
  // Set when the indicator matched a warninglist: not forced, it is
  // withheld (rule "warninglist:NAME") except as an update to a holder.
  std::optional<store::WarninglistHit> warninglist = std::nullopt;
};

struct OutboundChoice {
  // kWithdraw: the peer holds an earlier revision of one of our own
  // indicators that the current revision may not replace; the caller
  // builds the withdrawal (BuildWithdrawal) from the held revision.
  enum class Kind { kSend, kWithhold, kDefer, kSkip, kWithdraw };
  Kind kind = Kind::kWithhold;
  // kSend: the record to send: the origin's as stored, or a variant of our
  // own record whose body is not signed yet (needs_signature).
  protocol::SignedRecord to_send;
  // to_send.body is a variant of our own record and to_send.signature a
  // placeholder: the caller signs it before anything leaves (the page
  // signs all of them as one Merkle batch).
  bool needs_signature = false;
  uint32_t variant = 0;
  int64_t retry_at = 0;  // kDefer
  policy::Rule rule;     // why (kSkip: loop prevention, no policy involved)
};

struct OutboundInputs {
  const policy::PolicySet* policy = nullptr;
  const crypto::IdentityKey* identity = nullptr;
  // Identity key rotations held (docs/federation.md): a record made under a
  // key its member (or we) rotated away from is still that member's (ours).
  // Null: no rotations.
  const KeyChains* chains = nullptr;
  int64_t now = 0;
  uint64_t sent_today = 0;  // to the peer's country, this UTC day
  // The highest revision of this id the peer already holds, if any
  // (deliveries table).
  std::optional<policy::HeldRevision> held;
  // The origin's member trust (origin_trust.h): removed, compromised.
  policy::OriginTrust origin_trust;
};

// `entry` must be the indicator's current record: superseded log entries
// are skipped by the caller and never decided.
OutboundChoice DecideOutbound(const LogRecord& entry, const PeerInfo& peer,
                              const OutboundInputs& in);

// The variant number of a withdrawal: outside VariantNumber's bits, so it
// never collides with a redaction variant.
inline constexpr uint32_t kWithdrawalVariant = 1u << 16;

// A withdrawal of `held` (the full record of the revision of our own
// indicator the peer holds, which it holds as `held_variant`) at the
// current revision `current`: a revocation signed by us, carrying only what
// the peer already had (type, value, TLP, confidence, and the reshare of
// its variant) and no field of the current revision, so it leaks nothing
// the current revision's policy withholds. Returns the canonical body
// bytes, to be signed by us (the page signs them with its batch).
// Deterministic: a resend has the same body.
std::vector<uint8_t> BuildWithdrawalBody(const protocol::RecordBody& current,
                                         const protocol::RecordBody& held,
                                         uint32_t held_variant);

// The variant number for a redaction set and reshare ceiling: stable, never
// 0 (0 is the full record). Bits 0..7: redacted fields; bits 8..9: reshare
// ceiling + 1 when lowered.
uint32_t VariantNumber(const std::vector<std::string>& redact,
                       std::optional<protocol::Reshare> lowered_reshare);

}  // namespace caravan::daemon::sync
