#pragma once
// Inbound: what happens to records a peer sends. Each record is decoded
// with strict limits, its origin looked up in the roster, its origin
// signature checked (batch proofs against one cached root check), the
// inbound policy for the sending peer's country applied, and what is
// accepted (or quarantined) stored with the peer as its source. One peer
// message is one store write: the acknowledgement that follows names only
// what that write committed.
//
// A bad record is rejected and audited; the others in the message, and the
// link, go on. Runs on the worker pool (SQLite and signature checks).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "daemon/sync/record_signing.h"
#include "daemon/policy/policy.h"
#include "daemon/store/store.h"
#include "daemon/sync/outbound.h"
#include "protocol/record_codec.h"
#include "protocol/roster_file.h"
#include "protocol/warninglist.h"

namespace caravan::daemon::sync {

// The roster indexed by identity key, immutable once built.
class RosterIndex {
 public:
  explicit RosterIndex(std::vector<protocol::RosterMember> members);
  const protocol::RosterMember* Find(const protocol::PublicKey& key) const;
  const std::vector<protocol::RosterMember>& members() const {
    return members_;
  }

 private:
  std::vector<protocol::RosterMember> members_;
  std::map<protocol::PublicKey, size_t> by_key_;
};

struct InboundEntry {
  uint64_t sender_seq = 0;
  protocol::SignedRecord record;
};

struct InboundOutcome {
  uint64_t ack_seq = 0;  // acknowledge this (0: nothing committed)
  size_t accepted = 0, quarantined = 0, rejected = 0, duplicates = 0;
  // `rejected` split by metrics reason (daemon/config/metrics.h kReject*).
  std::map<std::string, size_t> rejected_by_reason;
  bool stored_new = false;  // something new entered our log (wake relays)
};

struct InboundContext {
  store::Store* store = nullptr;
  const RosterIndex* roster = nullptr;
  const policy::PolicySet* policy = nullptr;
  protocol::PublicKey self{};
  BatchRootCache* root_cache = nullptr;  // per link, pool-thread confined
  int64_t now = 0;
  // Received records that match are stored flagged (never relayed onward
  // automatically). Null: no warninglists.
  std::shared_ptr<const protocol::WarninglistSet> warninglists = nullptr;
};

// Applies one Records message from `from`. Fails only when the store write
// fails (then nothing is acknowledged and the peer resends).
Result<InboundOutcome> ApplyInbound(const InboundContext& ctx,
                                    const PeerInfo& from,
                                    const std::vector<InboundEntry>& entries,
                                    uint64_t up_to_seq);

}  // namespace caravan::daemon::sync
