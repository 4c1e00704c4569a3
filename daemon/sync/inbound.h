#pragma once
// Inbound: what happens to records a peer sends. Each record is decoded
// with strict limits, its origin looked up in the roster, its origin
// signature checked (batch proofs against one cached root check), the
// inbound policy for the sending peer's country applied, and what is
// accepted (or quarantined) stored with the peer as its source. The
// acknowledgement that follows a store write names only what that write
// committed.
//
// A bad record is rejected and audited; the others in the message, and the
// link, go on. Runs on the worker pool (SQLite and signature checks).
//
// Two stages, so a link can pipeline them: CheckInbound (decode, roster,
// signatures: CPU only, no store state) and StoreInbound (one store write
// for one or more checked messages, in arrival order). A session checks
// message N+1 while message N is being written, and writes every message
// checked meanwhile in one transaction: bigger transactions, one fsync and
// one acknowledgement for all of them.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/sync/key_chain.h"
#include "daemon/sync/record_signing.h"
#include "daemon/policy/policy.h"
#include "daemon/store/store.h"
#include "daemon/sync/outbound.h"
#include "protocol/record_codec.h"
#include "protocol/config/roster_file.h"
#include "protocol/formats/warninglist.h"

namespace caravan::daemon::sync {

// The roster indexed by identity key, immutable once built. With the
// identity key rotations held (key_chain.h), members' keys are their
// current ones (KeyChains::Apply).
class RosterIndex {
 public:
  explicit RosterIndex(std::vector<protocol::RosterMember> members,
                       KeyChains chains = KeyChains());
  // The member whose current key is `key` (links, sessions: never a
  // retired key).
  const protocol::RosterMember* Find(const protocol::PublicKey& key) const;
  // The member `key` names as a record origin: its current key or one it
  // rotated away from (records keep the key they were created under).
  const protocol::RosterMember* FindOrigin(const protocol::PublicKey& key) const;
  const std::vector<protocol::RosterMember>& members() const {
    return members_;
  }
  const KeyChains& chains() const { return chains_; }

 private:
  std::vector<protocol::RosterMember> members_;
  std::map<protocol::PublicKey, size_t> by_key_;
  KeyChains chains_;
};

// For a leaf of a whole batch (records_message.h): the key its batch root
// was signed by and whether that one signature verified. The leaf's proof
// was rebuilt from the batch, so its own check is that its body names the
// same origin.
struct BatchVerdict {
  protocol::PublicKey origin{};
  bool verified = false;
  uint32_t batch_no = 0;  // which batch of its message, from 0
  crypto::MerkleSaltSeed salt_seed{};  // the batch's, kept by the store
  // Its leaf hashes, in order: the store keeps the batch's tree from them.
  std::shared_ptr<const std::vector<crypto::MerkleHash>> leaf_hashes;
};

struct InboundEntry {
  uint64_t sender_seq = 0;
  protocol::SignedRecord record;
  std::optional<BatchVerdict> batch = std::nullopt;  // a whole batch's leaf
};

// A record that passed decoding, roster and signature checks.
struct CheckedRecord {
  protocol::RecordBody body;
  protocol::IndicatorId id{};
  const protocol::RosterMember* origin = nullptr;  // in the message's roster
  std::vector<uint8_t> signed_bytes;
  // A whole batch's leaf: the batch's salt seed (the store keeps it once)
  // and its leaf hashes.
  std::optional<crypto::MerkleSaltSeed> salt_seed;
  std::shared_ptr<const std::vector<crypto::MerkleHash>> batch_leaves;
  // Its stored form, prepared by CheckInbound on the worker pool from the
  // record signed_bytes were encoded from (store::PrepareReceivedForm), so
  // the store's one writer thread neither decodes, packs nor hashes it
  // (RecordRow::prepared).
  std::shared_ptr<const store::internal::PreparedForm> prepared;
};

// A record refused before the store saw it (audited by StoreInbound), or
// every leaf of one whole batch refused for the same kind of reason: one
// audit entry for the batch, so a flood of forged batches costs one row per
// batch, not one per leaf.
struct InboundRejection {
  uint64_t sender_seq = 0;
  std::string subject;  // the indicator id in hex, empty if undecodable
  std::string reason;
  std::string_view metric_reason;  // kReject* of daemon/observe/metrics.h
  // A batch's rejection: how many leaves, the last one's seq, and the ids
  // of the first few (kMaxRejectionSample).
  size_t count = 1;
  uint64_t last_sender_seq = 0;
  std::vector<std::string> sample;
  std::optional<protocol::PublicKey> batch_origin = std::nullopt;
};
inline constexpr size_t kMaxRejectionSample = 8;

// One Records message after CheckInbound. Holds the roster it was checked
// against, so `origin` pointers stay valid until it is stored.
struct CheckedMessage {
  std::shared_ptr<const RosterIndex> roster;
  std::vector<CheckedRecord> checked;
  std::vector<InboundRejection> rejected;
  size_t own_echoes = 0;  // our own records coming back (duplicates)
  uint64_t up_to_seq = 0;
  size_t size() const { return checked.size() + rejected.size() + own_echoes; }
};

struct InboundOutcome {
  uint64_t ack_seq = 0;  // acknowledge this (0: nothing committed)
  size_t accepted = 0, quarantined = 0, rejected = 0, duplicates = 0;
  // `rejected` split by metrics reason (daemon/observe/metrics.h kReject*).
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

// Decodes and checks one Records message against ctx.roster
// (which `roster` must own) and ctx.root_cache. Never fails: a bad record
// becomes a rejection. Takes `entries` to keep their records.
CheckedMessage CheckInbound(const InboundContext& ctx,
                            std::shared_ptr<const RosterIndex> roster,
                            std::vector<InboundEntry> entries,
                            uint64_t up_to_seq);

// Stores checked messages from `from`, in order, in one store write
// (inbound policy, insert, audit, warninglists) and moves the peer's
// inbound cursor to the last message's up_to_seq. Fails only when the
// store write fails (then nothing is acknowledged and the peer resends).
// Consumes `messages`: each stored record's parts move into its row.
Result<InboundOutcome> StoreInbound(const InboundContext& ctx,
                                    const PeerInfo& from,
                                    std::vector<CheckedMessage>& messages);

// CheckInbound then StoreInbound for one message (ctx.roster is borrowed:
// the caller keeps it alive).
Result<InboundOutcome> ApplyInbound(const InboundContext& ctx,
                                    const PeerInfo& from,
                                    const std::vector<InboundEntry>& entries,
                                    uint64_t up_to_seq);

}  // namespace caravan::daemon::sync
