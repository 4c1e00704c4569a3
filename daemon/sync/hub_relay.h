#pragma once
// Hub relay: the worker-pool side of hub mode (docs/federation.md).
//
// HandleSealed decides what to do with one Sealed message that arrived on a
// link, in the role this node has for it:
//  - recipient (the header names us): open it, check the sender against the
//    roster (and that it is configured `via` the link peer, or is the link
//    peer), verify, check its place in the sender's chain (sealed_chain.h)
//    and store the records of the next one with ApplyInbound exactly as if
//    the sender had sent them directly; audited as "sealed_receive" naming
//    the hub. A duplicate is dropped (audited "sealed_duplicate"), one
//    beyond a gap set aside (audited "hub_gap" with the evidence), and a
//    forwarded envelope that fails any check is refused ("sealed_refuse")
//    without closing the link: the hub drops it and the link goes on.
//    A batch's compromise notices (SealedInner.notices) are applied
//    before its records, exactly as a direct link's (notice_apply.h).
//    Each of these answers the sender with a receipt signed by us
//    (SealedOutcome::reply), sealed back through the same link;
//  - recipient of a receipt (one of our sealed batches was committed,
//    refused or found missing): kReceipt, handled by the sender's session;
//  - recipient of a sender's signed chain restart (it lost batches we
//    asked for): checked against its chain (sealed_chain.h
//    ClassifyRestart); one that skips ahead moves the chain on, audited
//    "sealed_chain_restart" with the pair seqs lost for good; a replayed
//    or backwards one is refused ("sealed_refuse");
//  - hub (addressed to another member, [hub] enabled): check the envelope
//    comes from the link peer it names as sender and goes to a roster
//    member, and queue it durably (audited "hub_store", or "hub_refuse"
//    when the sender's queue is full or the recipient unknown). The hub
//    never opens an envelope and holds no key that could.
// HubDelivered records a recipient's acknowledgement: the envelopes are
// deleted and audited "hub_forward".
// Every "hub_refuse" is also counted in the store's hub_counters under its
// reason (store::kHubRefused*), in the transaction of its audit entry;
// stored and forwarded envelopes are counted by the store methods
// themselves (/metrics, docs/metrics.md "Hub").
//
// Stateless; runs on the worker pool (SQLite, crypto). Fails only when the
// store fails; everything about the envelope itself is an outcome.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "crypto/identity_key.h"
#include "crypto/link_key.h"
#include "daemon/store/store.h"
#include "daemon/sync/hub_envelope.h"
#include "daemon/sync/inbound.h"
#include "daemon/sync/notice_apply.h"
#include "daemon/sync/prekey_keyring.h"
#include "protocol/config/node_config.h"

namespace caravan::daemon::sync {

struct SealedContext {
  InboundContext inbound;  // store, roster, policy, self key, cache, now
  const crypto::LinkKey* x25519 = nullptr;  // our identity key's X25519 form
  const PrekeyKeyring* prekeys = nullptr;   // our prekeys (may be null)
  const crypto::IdentityKey* identity = nullptr;  // signs our receipts
  std::string self_name;                          // our roster name
  const protocol::NodeConfig::Hub* hub = nullptr;
  size_t max_envelope_bytes = 0;  // min(hub limit, link message limit)
  // How to act on compromise notices a batch carries (SealedInner.notices).
  protocol::NodeConfig::Inbound::OnCompromiseNotice act_on_notices =
      protocol::NodeConfig::Inbound::OnCompromiseNotice::kFlag;
};

struct SealedOutcome {
  enum Kind {
    kApplied,  // we were the recipient; records went through ApplyInbound
    kQueued,   // we are the hub and hold it now (or held it already)
    kRefused,  // a clear, audited refusal; the link goes on
    kBreach,   // the link peer broke the protocol: close the link
    kReceipt,  // a receipt for our sealed batches (receipt, receipt_from)
    kDuplicate,  // a batch of the chain we applied already: dropped
    kSetAside,   // a batch beyond a gap in the chain: not applied
    kRestarted,  // the sender's signed chain restart moved its chain on
  };
  Kind kind = kRefused;
  bool for_us = false;        // we were (or would have been) the recipient
  SealedHeaderInfo header;    // valid unless kBreach with an unreadable one
  std::string reason;         // kRefused / kBreach
  InboundOutcome inbound;     // kApplied
  uint64_t hub_seq = 0;       // kQueued: where it sits in the hub's queue
  // As recipient: a sealed receipt for the sender, to send back on the
  // link the envelope came from (empty: none).
  std::vector<uint8_t> reply;
  std::string chain_fault;    // store::kChain* when the chain saw a fault
  SealedReceiptInfo receipt;  // kReceipt
  PeerInfo receipt_from;      // kReceipt: the member that sent it
  // kApplied / kReceipt: when the sender sealed it (Unix ms, its clock;
  // 0: not stated), for the hub delay (hub_delay.h).
  int64_t sealed_at_ms = 0;
  // kApplied: what became of each compromise notice the batch carried
  // (applied before its records, notice_apply.h), for the caller's
  // metrics, log and link refusals.
  std::vector<NoticeOutcome> notices;
};

// `link_peer` is the member at the other end of the link; `hub_seq` is the
// Sealed.hubSeq field (non-zero when a hub forwards to us).
Result<SealedOutcome> HandleSealed(const SealedContext& ctx,
                                   const PeerInfo& link_peer,
                                   std::span<const uint8_t> envelope,
                                   uint64_t hub_seq);

// `recipient` committed (or refused for good) every envelope the hub sent
// it with hub_seq <= up_to: delete them, one "hub_forward" audit each.
// Returns how many were deleted.
Result<size_t> HubDelivered(store::Store* store, const PeerInfo& recipient,
                            uint64_t up_to);

}  // namespace caravan::daemon::sync
