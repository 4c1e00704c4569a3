#pragma once
// Values of the hub queue (hub mode, docs/federation.md): sealed envelopes a
// hub holds between their sender's link and their recipient's. The hub
// stores what it can read of them (the routing header fields) and the
// opaque envelope; it never has the key to the contents.
//
// Plain values; thread-safe as values are.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/indicator.h"

namespace caravan::store {

using HubEnvelopeId = std::array<uint8_t, 16>;

// One queued envelope. hub_seq orders a recipient's queue (AUTOINCREMENT:
// never reused, so a recipient's acknowledgement is unambiguous).
struct HubEnvelope {
  uint64_t hub_seq = 0;  // assigned by HubEnqueue
  HubEnvelopeId envelope_id{};
  std::string sender;  // roster name of the sender, as the hub knew it
  protocol::PublicKey sender_key{};
  protocol::PublicKey recipient_key{};
  uint64_t first_seq = 0;  // the sender's log range the envelope decides
  uint64_t up_to_seq = 0;
  std::vector<uint8_t> envelope;  // the sealed bytes, opaque to the hub
  int64_t stored_at = 0;
};

struct HubEnqueueOutcome {
  enum Kind { kStored, kDuplicate, kQueueFull };
  Kind kind = kStored;
  uint64_t hub_seq = 0;  // kStored / kDuplicate: its queue number
  uint64_t queued_from_sender = 0;  // envelopes from the sender now queued
};

// What a hub holds for one recipient (Reader::HubQueueDepths).
struct HubDepth {
  protocol::PublicKey recipient_key{};
  uint64_t envelopes = 0;
  uint64_t bytes = 0;  // sum of the sealed envelopes' sizes
};

// One of the hub's monotonic totals (Reader::HubCounters): envelopes (and
// their bytes) stored, forwarded (acknowledged by their recipient and
// deleted), or refused, the last by reason (kHubRefused*).
struct HubCount {
  std::string event;   // "stored" | "forwarded" | "refused"
  std::string reason;  // "" except for "refused"
  uint64_t envelopes = 0;
  uint64_t bytes = 0;
};

// Reasons a hub refuses an envelope (a closed set: metric label values).
inline constexpr std::string_view kHubRefusedNotHub = "not_hub";
inline constexpr std::string_view kHubRefusedUnknownRecipient =
    "unknown_recipient";
inline constexpr std::string_view kHubRefusedQueueFull = "queue_full";
// An envelope of an older layout than the chained one (SealedHeader
// formatVersion != 2): refused by name, never queued.
inline constexpr std::string_view kHubRefusedOldFormat = "old_format";

// ---- Hub accountability (docs/federation.md): per-pair envelope chains.

using ChainDigest = std::array<uint8_t, 32>;  // BLAKE2b-256 of an envelope

// Recipient side: what we applied of one sender's chain, and the hub
// misbehaviour we saw in it (sealed_chain_in).
struct SealedChainIn {
  protocol::PublicKey sender_key{};
  uint64_t last_seq = 0;  // highest pair seq applied (0: none yet)
  ChainDigest last_hash{};
  uint64_t gaps = 0;        // envelopes that came before a missing one
  uint64_t duplicates = 0;  // replays of what we applied
  uint64_t refused = 0;     // envelopes refused (poison)
  uint64_t broken = 0;      // a next envelope not chained to our last one
  int64_t last_fault_at = 0;  // unix time of the last of those; 0: none
};
// Fault kinds (a closed set: audit actions and metric label values).
inline constexpr std::string_view kChainGap = "gap";
inline constexpr std::string_view kChainDuplicate = "duplicate";
inline constexpr std::string_view kChainRefused = "refused";
inline constexpr std::string_view kChainBroken = "broken";

// Sender side: one sealed batch sent via a hub and not yet receipted by
// its recipient (sealed_outbox).
struct SealedOutboxEntry {
  protocol::PublicKey recipient_key{};
  uint64_t pair_seq = 0;
  uint64_t up_to_seq = 0;  // the log point the batch decides
  std::vector<uint8_t> envelope;
  std::string sent;  // its SentRecord list (daemon/sync/unacked_page.h)
  bool queued_at_hub = false;  // the hub acknowledged holding it
  int64_t created_at = 0;
  // Previous envelope hash (32) || encoded Records: what sealing the batch
  // again to another prekey needs; empty on rows of older versions.
  std::vector<uint8_t> reseal;
};

// Sender side: the head of our chain to one recipient (sealed_chain_out).
struct SealedChainOut {
  uint64_t last_seq = 0;   // highest pair seq sealed (0: none yet)
  ChainDigest last_hash{};
  uint64_t receipted_seq = 0;  // highest the recipient receipted
};

// Sender side, per recipient, for `peers list` / `status`.
struct SealedOutboxCount {
  protocol::PublicKey recipient_key{};
  uint64_t awaiting_receipt = 0;  // in the outbox
  uint64_t queued_at_hub = 0;     // of those, the hub acknowledged holding
  uint64_t receipted_seq = 0;
};

// ---- The hub's prekey book (docs/federation.md "Prekeys"): the members'
// signed prekey statements a hub serves to senders, kept on disk so a
// restarted hub can serve an owner's prekey before that owner reconnects.
// The store keeps the bytes; the sync engine re-verifies every row
// (signature, roster, expiry) before it serves one (hub_prekey_book.h).

// At most this many statements per owner, the newest by prekey id: the
// hub serves the newest that still verifies, so a damaged newest row
// falls back to the one before it rather than to nothing.
inline constexpr size_t kHubPrekeysPerOwner = 4;
// At most this many rows in all (kMaxRosterMembers x kHubPrekeysPerOwner).
inline constexpr size_t kMaxHubPrekeyRows = 4096 * kHubPrekeysPerOwner;
// A statement's encoded size (daemon/sync kMaxPrekeyStatementBytes).
inline constexpr size_t kMaxHubPrekeyStatementBytes = 1024;

// One stored statement (hub_prekey_book). owner_key, prekey_id and
// not_after repeat the statement's own fields so rows can be bounded and
// pruned without decoding; a reader must check they match.
struct HubPrekeyRow {
  protocol::PublicKey owner_key{};
  uint64_t prekey_id = 0;          // >= 1
  int64_t not_after = 0;           // Unix seconds
  std::vector<uint8_t> statement;  // the encoded signed statement
  int64_t stored_at = 0;           // set by HubPrekeyPut
};

// What Reader::HubPrekeyBook returns: the well-formed rows, by owner and
// then newest prekey id first, and how many rows were malformed (a key of
// the wrong length, an id below 1, a statement empty or over the bound):
// those are never returned, and HubPrekeyPrune deletes them.
struct HubPrekeyBookRows {
  std::vector<HubPrekeyRow> rows;
  uint64_t malformed = 0;
};

}  // namespace caravan::store
