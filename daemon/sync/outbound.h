#pragma once
// Outbound decisions: for one record of our log and one peer, whether it
// goes out (and in which form), is withheld, or waits (embargo, quota).
// This is where DESIGN.md's sovereignty promise is kept on the wire:
// nothing leaves unless the outbound policy for the peer's country allows
// it, except a revocation or update of an indicator the peer already holds.
//
// Pure apart from signing redacted variants with our identity key; runs on
// the worker pool. Thread-safe (no state).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crypto/identity_key.h"
#include "daemon/policy/policy.h"
#include "daemon/policy/policy_eval.h"
#include "daemon/store/warninglist_hit.h"
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
  enum class Kind { kSend, kWithhold, kDefer, kSkip };
  Kind kind = Kind::kWithhold;
  // kSend: the bytes to send (the origin's record, or a variant we signed).
  protocol::SignedRecord to_send;
  uint32_t variant = 0;
  int64_t retry_at = 0;  // kDefer
  policy::Rule rule;     // why (kSkip: loop prevention, no policy involved)
};

struct OutboundInputs {
  const policy::PolicySet* policy = nullptr;
  const crypto::IdentityKey* identity = nullptr;
  int64_t now = 0;
  uint64_t sent_today = 0;  // to the peer's country, this UTC day
  // The highest revision of this id the peer already holds, if any.
  std::optional<uint32_t> peer_holds_revision;
};

OutboundChoice DecideOutbound(const LogRecord& entry, const PeerInfo& peer,
                              const OutboundInputs& in);

// The variant number for a redaction set and reshare ceiling: stable, never
// 0 (0 is the full record). Bits 0..7: redacted fields; bits 8..9: reshare
// ceiling + 1 when lowered.
uint32_t VariantNumber(const std::vector<std::string>& redact,
                       std::optional<protocol::Reshare> lowered_reshare);

}  // namespace caravan::daemon::sync
