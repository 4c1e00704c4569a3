#include "daemon/sync/hub_relay.h"

#include <nlohmann/json.hpp>

#include "crypto/key_text.h"
#include "daemon/sync/decision_audit.h"
#include "daemon/sync/sealed_chain.h"

namespace caravan::daemon::sync {
namespace {

using crypto::ToHex;

nlohmann::json HeaderJson(const SealedHeaderInfo& h) {
  return {{"envelope", ToHex(h.envelope_id)},
          {"sender", h.sender_name},
          {"first_seq", h.first_seq},
          {"up_to_seq", h.up_to_seq}};
}

// `hub_reason` (one of store::kHubRefused*) is set when we refuse as the
// hub: the refusal is then counted in hub_counters with the audit entry.
Result<SealedOutcome> Refuse(store::Store* store, SealedOutcome out,
                             const PeerInfo& link_peer, std::string action,
                             std::string reason, std::string_view hub_reason = {},
                             size_t envelope_bytes = 0) {
  out.kind = SealedOutcome::kRefused;
  out.reason = std::move(reason);
  nlohmann::json detail = HeaderJson(out.header);
  detail["reason"] = out.reason;
  detail["link_peer"] = link_peer.name;
  Status written = store->Write([&](store::WriteTxn& txn) -> Status {
    if (!hub_reason.empty()) {
      CARAVAN_RETURN_IF_ERROR(txn.HubCountRefused(hub_reason, envelope_bytes));
    }
    auto a = txn.AppendAudit({txn.now(), "peer:" + link_peer.name, action,
                              ToHex(out.header.envelope_id),
                              out.header.sender_name, AuditDetailJson(detail)});
    return a.ok() ? Status::Ok() : a.status();
  }).get();
  CARAVAN_RETURN_IF_ERROR(written);
  return out;
}

// Seals `receipt` for `to` (a roster member) as our answer through the
// link the envelope came from. A receipt that cannot be sealed (the
// member's key has no X25519 form) is logged by the caller's absence of a
// reply: the sender then resends after [hub] resend_after.
std::vector<uint8_t> SealReply(const SealedContext& ctx,
                               const protocol::RosterMember& to,
                               const SealedReceiptInfo& receipt) {
  SealedHeaderInfo h;
  h.envelope_id = NewEnvelopeId();
  h.sender_name = ctx.self_name;
  h.sender_key = ctx.inbound.self;
  h.recipient_key = to.key;
  auto sealed = SealReceipt(h, receipt, *ctx.identity, ctx.max_envelope_bytes);
  if (!sealed.ok()) return {};
  return std::move(*sealed);
}

// A receipt stating how far we applied `chain`, optionally asking for the
// rest again and naming an envelope we refused.
SealedReceiptInfo ReceiptFor(const store::SealedChainIn& chain,
                             bool ask_resend) {
  SealedReceiptInfo r;
  r.committed_seq = chain.last_seq;
  r.committed_hash = chain.last_hash;
  if (ask_resend) r.resend_from = chain.last_seq + 1;
  return r;
}

// Refuses a forwarded (or directly sent) envelope addressed to us: audited
// "sealed_refuse" with the evidence, counted as a chain fault of the
// sender it names, and reported to that sender (if it is a roster member)
// with a signed receipt asking it to send again from what we miss. The
// hub is acknowledged as for any envelope, so it drops this one.
Result<SealedOutcome> RefuseForUs(const SealedContext& ctx,
                                  const PeerInfo& link_peer, uint64_t hub_seq,
                                  SealedOutcome out, std::string reason,
                                  size_t envelope_bytes) {
  store::Store* store = ctx.inbound.store;
  out.kind = SealedOutcome::kRefused;
  out.reason = std::move(reason);
  out.chain_fault = std::string(store::kChainRefused);
  const protocol::RosterMember* sender =
      ctx.inbound.roster->Find(out.header.sender_key);
  nlohmann::json detail = HeaderJson(out.header);
  detail["reason"] = out.reason;
  detail["via"] = link_peer.name;
  detail["hub_seq"] = hub_seq;
  detail["bytes"] = envelope_bytes;
  auto chain = store->WriteValue<store::SealedChainIn>(
      [&](store::WriteTxn& txn) -> Result<store::SealedChainIn> {
        if (sender != nullptr) {
          CARAVAN_RETURN_IF_ERROR(
              txn.SealedChainInFault(sender->key, store::kChainRefused));
        }
        auto a = txn.AppendAudit({txn.now(), "peer:" + link_peer.name,
                                  "sealed_refuse", ToHex(out.header.envelope_id),
                                  out.header.sender_name,
                                  AuditDetailJson(detail)});
        if (!a.ok()) return a.status();
        if (sender == nullptr) return store::SealedChainIn{};
        return txn.SealedChainInGet(sender->key);
      }).get();
  if (!chain.ok()) return chain.status();
  if (sender != nullptr && sender->key != ctx.inbound.self) {
    SealedReceiptInfo r = ReceiptFor(*chain, /*ask_resend=*/true);
    r.refused_envelope = out.header.envelope_id;
    r.refused_reason = out.reason.substr(0, kMaxReceiptReason);
    out.reply = SealReply(ctx, *sender, r);
  }
  return out;
}

// The sender's signed chain restart (already opened and verified as its):
// moves our chain on past the batches it lost, or refuses a replayed or
// backwards one. The lost pair seqs are audited, so the operator knows
// what never came (their records come again in new batches).
Result<SealedOutcome> Restart(const SealedContext& ctx,
                              const PeerInfo& link_peer, uint64_t hub_seq,
                              SealedOutcome out,
                              const protocol::RosterMember& sender,
                              const SealedRestartInfo& restart,
                              size_t envelope_bytes) {
  store::Store* store = ctx.inbound.store;
  auto state = store->WriteValue<store::SealedChainIn>(
      [&](store::WriteTxn& txn) { return txn.SealedChainInGet(sender.key); })
                   .get();
  if (!state.ok()) return state.status();
  const RestartVerdict verdict = ClassifyRestart(*state, restart);
  if (verdict != RestartVerdict::kSkip) {
    const bool replayed = verdict == RestartVerdict::kReplayed;
    return RefuseForUs(
        ctx, link_peer, hub_seq, std::move(out),
        std::string("sealed chain restart ") +
            (replayed ? "replayed" : "backwards") + ": it names pair seq " +
            std::to_string(restart.next_seq) + " as next, and we applied " +
            "through " + std::to_string(state->last_seq),
        envelope_bytes);
  }
  const auto [lost_first, lost_last] = LostRange(*state, restart);
  nlohmann::json detail = HeaderJson(out.header);
  detail["via"] = link_peer.name;
  detail["hub_seq"] = hub_seq;
  detail["lost_from"] = lost_first;
  detail["lost_to"] = lost_last;
  detail["lost"] = lost_last - lost_first + 1;
  detail["sender_lost_from"] = restart.lost_from;
  detail["next_seq"] = restart.next_seq;
  detail["reason"] = restart.reason;
  auto written = store->Write([&](store::WriteTxn& txn) -> Status {
    CARAVAN_RETURN_IF_ERROR(txn.SealedChainInAdvance(
        sender.key, restart.next_seq - 1, restart.prev_hash));
    // Counted with the chains a sender broke: only it can restart one.
    CARAVAN_RETURN_IF_ERROR(
        txn.SealedChainInFault(sender.key, store::kChainBroken));
    auto a = txn.AppendAudit({txn.now(), "peer:" + sender.name,
                              "sealed_chain_restart",
                              ToHex(out.header.envelope_id), sender.name,
                              AuditDetailJson(detail)});
    return a.ok() ? Status::Ok() : a.status();
  }).get();
  CARAVAN_RETURN_IF_ERROR(written);
  out.kind = SealedOutcome::kRestarted;
  out.chain_fault = std::string(store::kChainBroken);
  out.reason = "chain restarted at pair seq " +
               std::to_string(restart.next_seq) + "; pair seqs " +
               std::to_string(lost_first) + ".." + std::to_string(lost_last) +
               " lost: " + restart.reason;
  store::SealedChainIn now = *state;
  now.last_seq = restart.next_seq - 1;
  now.last_hash = restart.prev_hash;
  out.reply = SealReply(ctx, sender, ReceiptFor(now, false));
  return out;
}

Result<SealedOutcome> Receive(const SealedContext& ctx,
                              const PeerInfo& link_peer,
                              std::span<const uint8_t> envelope,
                              uint64_t hub_seq, SealedOutcome out) {
  store::Store* store = ctx.inbound.store;
  const protocol::RosterMember* sender =
      ctx.inbound.roster->Find(out.header.sender_key);
  if (sender == nullptr) {
    return Refuse(store, out, link_peer, "reject",
                  "sealed batch from a sender that is not in the roster");
  }
  // Only a member we route through this hub (or the sender itself) may
  // hand us its sealed batches: the roster says who reaches us how.
  if (sender->key != link_peer.key && sender->via != link_peer.name) {
    return Refuse(store, out, link_peer, "reject",
                  "sealed batch from " + sender->name + " arrived via " +
                      link_peer.name + ", but the roster does not route " +
                      sender->name + " via " + link_peer.name);
  }
  auto opened = OpenSealed(envelope, *ctx.x25519, ctx.inbound.self,
                           ctx.max_envelope_bytes, ctx.prekeys);
  if (!opened.ok()) {
    return RefuseForUs(ctx, link_peer, hub_seq, out, opened.status().message(),
                       envelope.size());
  }
  const PeerInfo from{sender->name, sender->country, sender->key};
  out.sealed_at_ms = opened->inner.sealed_at_ms;
  if (opened->inner.receipt) {
    out.kind = SealedOutcome::kReceipt;
    out.receipt = *opened->inner.receipt;
    out.receipt_from = from;
    return out;
  }
  if (opened->inner.restart) {
    return Restart(ctx, link_peer, hub_seq, std::move(out), *sender,
                   *opened->inner.restart, envelope.size());
  }
  const ChainLink& link = opened->inner.link;
  auto state = store->WriteValue<store::SealedChainIn>(
      [&](store::WriteTxn& txn) { return txn.SealedChainInGet(sender->key); })
                   .get();
  if (!state.ok()) return state.status();
  const ChainVerdict verdict = ClassifyLink(*state, link);
  nlohmann::json detail = HeaderJson(out.header);
  detail["via"] = link_peer.name;
  detail["hub_seq"] = hub_seq;
  detail["pair_seq"] = link.pair_seq;
  if (verdict == ChainVerdict::kDuplicate || verdict == ChainVerdict::kGap) {
    // Not applied. A gap is the hub's doing (it dropped, held back or
    // reordered what the sender chained): the evidence names what we
    // expected and what came.
    const bool gap = verdict == ChainVerdict::kGap;
    out.kind = gap ? SealedOutcome::kSetAside : SealedOutcome::kDuplicate;
    out.chain_fault = std::string(ChainFaultKind(verdict));
    detail["expected_seq"] = state->last_seq + 1;
    detail["expected_prev_hash"] = ToHex(state->last_hash);
    detail["got_seq"] = link.pair_seq;
    detail["got_prev_hash"] = ToHex(link.prev_hash);
    detail["records"] = opened->entries.size();
    auto written = store->Write([&](store::WriteTxn& txn) -> Status {
      CARAVAN_RETURN_IF_ERROR(
          txn.SealedChainInFault(sender->key, out.chain_fault));
      auto a = txn.AppendAudit({txn.now(), "peer:" + link_peer.name,
                                gap ? "hub_gap" : "sealed_duplicate",
                                ToHex(out.header.envelope_id), sender->name,
                                AuditDetailJson(detail)});
      return a.ok() ? Status::Ok() : a.status();
    }).get();
    CARAVAN_RETURN_IF_ERROR(written);
    out.reply = SealReply(ctx, *sender, ReceiptFor(*state, gap));
    return out;
  }
  // The sender's compromise notices first: records of the key they name
  // in this very batch are then quarantined on arrival. A crash before
  // the chain moves makes the resend apply them again: refused there as
  // replayed (one audit line), as on a direct link.
  for (const auto& notice : opened->inner.notices) {
    out.notices.push_back(ApplyCompromiseNotice(
        *store, *ctx.inbound.roster, ctx.act_on_notices, ctx.inbound.self,
        NoticeSource{sender->name, link_peer.name},
        Result<CompromiseNotice>(notice), ctx.inbound.now));
  }
  if (!opened->inner.notices.empty()) {
    detail["notices"] = opened->inner.notices.size();
  }
  auto applied = ApplyInbound(ctx.inbound, from, opened->entries,
                              opened->header.up_to_seq);
  if (!applied.ok()) return applied.status();
  out.kind = SealedOutcome::kApplied;
  out.inbound = *applied;
  if (verdict == ChainVerdict::kBroken) {
    out.chain_fault = std::string(store::kChainBroken);
    detail["expected_prev_hash"] = ToHex(state->last_hash);
    detail["got_prev_hash"] = ToHex(link.prev_hash);
  }
  detail["records"] = opened->entries.size();
  // What the size class cost: padding bytes in an envelope of `bytes`.
  detail["bytes"] = envelope.size();
  detail["padding"] = opened->padding;
  detail["accepted"] = applied->accepted;
  detail["quarantined"] = applied->quarantined;
  detail["rejected"] = applied->rejected;
  detail["duplicates"] = applied->duplicates;
  // The chain moves only after the records are stored: a crash between
  // the two makes the resend apply again (idempotent), never skip.
  auto written = store->Write([&](store::WriteTxn& txn) -> Status {
    CARAVAN_RETURN_IF_ERROR(
        txn.SealedChainInAdvance(sender->key, link.pair_seq, opened->hash));
    if (verdict == ChainVerdict::kBroken) {
      CARAVAN_RETURN_IF_ERROR(
          txn.SealedChainInFault(sender->key, store::kChainBroken));
      auto b = txn.AppendAudit({txn.now(), "peer:" + sender->name,
                                "sealed_chain_broken",
                                ToHex(out.header.envelope_id), sender->name,
                                AuditDetailJson(detail)});
      if (!b.ok()) return b.status();
    }
    auto a = txn.AppendAudit({txn.now(), "peer:" + sender->name,
                              "sealed_receive", ToHex(out.header.envelope_id),
                              sender->name, AuditDetailJson(detail)});
    return a.ok() ? Status::Ok() : a.status();
  }).get();
  CARAVAN_RETURN_IF_ERROR(written);
  store::SealedChainIn now = *state;
  now.last_seq = link.pair_seq;
  now.last_hash = opened->hash;
  out.reply = SealReply(ctx, *sender, ReceiptFor(now, false));
  return out;
}

Result<SealedOutcome> Queue(const SealedContext& ctx,
                            const PeerInfo& link_peer,
                            std::span<const uint8_t> envelope,
                            SealedOutcome out) {
  store::Store* store = ctx.inbound.store;
  if (!ctx.hub->enabled) {
    return Refuse(store, out, link_peer, "hub_refuse",
                  "this node is not a hub ([hub] enabled = false)",
                  store::kHubRefusedNotHub, envelope.size());
  }
  // A hub relays only what the link peer itself sealed: it cannot check
  // the signature inside, so the link's authentication is what names the
  // sender.
  if (out.header.sender_key != link_peer.key ||
      out.header.sender_name != link_peer.name) {
    out.kind = SealedOutcome::kBreach;
    out.reason = "sealed envelope names sender " + out.header.sender_name +
                 " but came from link peer " + link_peer.name;
    return out;
  }
  if (out.header.format_version != kSealedFormat) {
    return Refuse(store, out, link_peer, "hub_refuse",
                  "sealed envelope has format " +
                      std::to_string(out.header.format_version) +
                      "; this hub relays only format " +
                      std::to_string(kSealedFormat) +
                      " (chained); the sender must upgrade",
                  store::kHubRefusedOldFormat, envelope.size());
  }
  const protocol::RosterMember* recipient =
      ctx.inbound.roster->Find(out.header.recipient_key);
  if (recipient == nullptr) {
    return Refuse(store, out, link_peer, "hub_refuse",
                  "the recipient is not in the hub's roster",
                  store::kHubRefusedUnknownRecipient, envelope.size());
  }
  store::HubEnvelope row;
  row.envelope_id = out.header.envelope_id;
  row.sender = link_peer.name;
  row.sender_key = link_peer.key;
  row.recipient_key = recipient->key;
  row.first_seq = out.header.first_seq;
  row.up_to_seq = out.header.up_to_seq;
  row.envelope.assign(envelope.begin(), envelope.end());
  const uint64_t limit = ctx.hub->max_queued_per_sender;
  const std::string recipient_name = recipient->name;
  const nlohmann::json base = HeaderJson(out.header);
  auto enqueued = store->WriteValue<store::HubEnqueueOutcome>(
      [&](store::WriteTxn& txn) -> Result<store::HubEnqueueOutcome> {
        auto r = txn.HubEnqueue(row, limit);
        if (!r.ok() || r->kind != store::HubEnqueueOutcome::kStored) return r;
        nlohmann::json detail = base;
        detail["recipient"] = recipient_name;
        detail["hub_seq"] = r->hub_seq;
        detail["bytes"] = row.envelope.size();
        auto a = txn.AppendAudit({txn.now(), "peer:" + row.sender, "hub_store",
                                  ToHex(row.envelope_id), recipient_name,
                                  AuditDetailJson(detail)});
        if (!a.ok()) return a.status();
        return r;
      }).get();
  if (!enqueued.ok()) return enqueued.status();
  if (enqueued->kind == store::HubEnqueueOutcome::kQueueFull) {
    return Refuse(store, out, link_peer, "hub_refuse",
                  "hub queue for sender " + link_peer.name + " is full (" +
                      std::to_string(enqueued->queued_from_sender) +
                      " envelopes, [hub] max_queued_per_sender = " +
                      std::to_string(limit) + "); retry later",
                  store::kHubRefusedQueueFull, envelope.size());
  }
  out.kind = SealedOutcome::kQueued;
  out.hub_seq = enqueued->hub_seq;
  return out;
}

}  // namespace

Result<SealedOutcome> HandleSealed(const SealedContext& ctx,
                                   const PeerInfo& link_peer,
                                   std::span<const uint8_t> envelope,
                                   uint64_t hub_seq) {
  SealedOutcome out;
  auto header = InspectSealed(envelope, ctx.max_envelope_bytes);
  if (!header.ok()) {
    if (hub_seq != 0) {
      // A poison envelope the hub forwards (bit rot, or the hub's own
      // doing): set aside, not fatal. The link peer relayed it; closing
      // the link would only make it forward the same bytes again.
      out.for_us = true;
      return RefuseForUs(ctx, link_peer, hub_seq, out,
                         "unreadable sealed envelope: " +
                             header.status().message(),
                         envelope.size());
    }
    out.kind = SealedOutcome::kBreach;
    out.reason = header.status().message();
    return out;
  }
  out.header = *header;
  out.for_us = header->recipient_key == ctx.inbound.self;
  if (out.for_us) return Receive(ctx, link_peer, envelope, hub_seq, out);
  if (hub_seq != 0) {
    // Only a hub forwarding to its recipient sets hubSeq: one for another
    // member is the hub's mistake, refused and dropped like any poison.
    out.for_us = true;
    return RefuseForUs(ctx, link_peer, hub_seq, out,
                       "forwarded sealed envelope is addressed to another "
                       "member",
                       envelope.size());
  }
  return Queue(ctx, link_peer, envelope, out);
}

Result<size_t> HubDelivered(store::Store* store, const PeerInfo& recipient,
                            uint64_t up_to) {
  auto removed = store->WriteValue<size_t>(
      [&](store::WriteTxn& txn) -> Result<size_t> {
        auto rows = txn.HubRemoveDelivered(recipient.key, up_to);
        if (!rows.ok()) return rows.status();
        for (const auto& e : *rows) {
          auto a = txn.AppendAudit(
              {txn.now(), "peer:" + recipient.name, "hub_forward",
               ToHex(e.envelope_id), recipient.name,
               AuditDetailJson({{"envelope", ToHex(e.envelope_id)},
                                {"sender", e.sender},
                                {"hub_seq", e.hub_seq},
                                {"first_seq", e.first_seq},
                                {"up_to_seq", e.up_to_seq}})});
          if (!a.ok()) return a.status();
        }
        return rows->size();
      }).get();
  return removed;
}

}  // namespace caravan::daemon::sync
