#pragma once
// The worker-pool side of sending: decide the next page of our log for one
// peer, re-decide what was withheld from it, and record acknowledged
// deliveries. Each call is one read pass plus one store write.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "crypto/merkle.h"
#include "daemon/observe/metrics.h"
#include "daemon/store/store.h"
#include "daemon/sync/outbound.h"

namespace caravan::daemon::sync {

// What went out in one message, kept until the peer acknowledges it.
struct SentRecord {
  uint64_t seq = 0;
  protocol::IndicatorId id{};
  uint32_t revision = 0;
  uint32_t variant = 0;
  policy::Rule rule;  // the rule that let it go (a withdrawal: that kept
                      // the current revision home)
  bool withdrawal = false;  // a withdrawal of what the peer held
  // Our log's last seq, read before the page was: it was current then, so
  // only a record stored after this can have superseded it.
  uint64_t log_end = 0;
  // Released from the withheld table by a re-decision: its withheld row
  // stays until the peer acknowledges it (then it goes), so a daemon
  // stopped in between re-decides and sends it again.
  bool from_withheld = false;
};

// Records of our own in one page, signed by us as one Merkle batch whose
// salts derive from one seed (crypto/merkle.h): one signature per page
// instead of one per record. Each member in `sends` carries its proof, so
// the page can go out record by record; a peer that accepts whole batches
// gets the leaves, the seed and the signature once (Records.batches).
struct PageBatch {
  protocol::PublicKey origin{};  // ours: the key that signed the root
  crypto::MerkleSaltSeed salt_seed{};
  crypto::Ed25519Signature root_signature{};
  std::vector<size_t> members;  // indices into OutboundPage::sends, leaf order
};

struct OutboundPage {
  std::vector<std::pair<uint64_t, protocol::SignedRecord>> sends;
  std::vector<PageBatch> batches;  // over `sends`; a send is in one at most
  std::vector<SentRecord> sent;
  uint64_t up_to_seq = 0;  // decided through here (0: nothing new)
  bool full = false;       // more log follows this page
  // Entries that need no decision for this peer: superseded revisions
  // (the current one decides) and what the peer holds or sent us. A
  // re-decision forgets their withheld rows.
  std::vector<uint64_t> settled;
};

struct PageContext {
  store::Store* store = nullptr;
  // The session's own reader: used by one pool thread at a time (the send
  // loop awaits each call before making the next).
  store::Reader* reader = nullptr;
  const policy::PolicySet* policy = nullptr;
  const crypto::IdentityKey* identity = nullptr;
  int64_t now = 0;
  Metrics* metrics = nullptr;
  // Identity key rotations held (loop prevention and "ours" follow whole
  // key chains); null: none. Shares ownership of the roster it lives in.
  std::shared_ptr<const KeyChains> chains = nullptr;  // withheld counts by rule; may be null
  // The peer accepts whole batches: our own records that go unchanged are
  // signed again with the page's batch too, so the whole page of ours
  // leaves as one batch (leaves, seed and one signature) instead of each
  // record with the proof of the batch it was stored with. Off, only the
  // variants and withdrawals we must sign anyway are batched.
  bool resign_own = false;
};

// What a peer holds of an indicator (its deliveries row `d`), with that
// revision's content read from our store when `with_content` (a relayed
// revocation is judged against it: policy::HeldRevision::content); the
// content is left out when that record is no longer stored.
Result<policy::HeldRevision> ReadHeld(store::Reader& reader, const store::Delivery& d,
                                      bool with_content);

// Appends `other`'s sends (and its batches, re-indexed) to `page`.
void AppendPage(OutboundPage& page, OutboundPage&& other);

// Decides log entries after `after_seq` (at most `limit`) for `peer`;
// withheld and deferred ones are recorded and audited, the cursor advanced.
Result<OutboundPage> DecideNextPage(const PageContext& ctx,
                                    const PeerInfo& peer, uint64_t after_seq,
                                    size_t limit);

// Re-decides withheld entries for `peer`: after a policy reload all of
// them, a page at a time (`all`, resuming after log seq `after`), else
// those whose embargo or quota wait has ended. Entries that may now go are
// returned for sending and forgotten as withheld. `next_after` is where the
// next page of a full re-run starts (0: done).
Result<OutboundPage> RedecideWithheld(const PageContext& ctx,
                                      const PeerInfo& peer, bool all,
                                      uint64_t after, uint64_t* next_after);

// Records that the peer committed `sent` (a delivery each, and "share" or
// "withdraw" audit entries in batches: decision_audit.h), advances its
// acknowledged cursor and adds the byte counts since the last call. A sent
// revision that was superseded while in flight has its current record
// marked due for re-decision (it was decided when the peer held nothing).
Status RecordAcknowledged(const PageContext& ctx, const PeerInfo& peer,
                          uint64_t acked_seq,
                          const std::vector<SentRecord>& sent,
                          uint64_t bytes_sent, uint64_t bytes_received);

// At the start of a session: the peer says it committed our log through
// `peer_acked`. Pages it holds whose acknowledgement we never recorded
// (stopped after the peer committed, before we recorded it) are recorded
// now as RecordAcknowledged would have; pages past that point are dropped
// (the session decides those entries again). For a hub-relayed peer pass
// our own acked_seq: the hub's acknowledgements are recorded as they come.
Status RecoverAcknowledged(const PageContext& ctx, const PeerInfo& peer,
                           uint64_t peer_acked);

}  // namespace caravan::daemon::sync
