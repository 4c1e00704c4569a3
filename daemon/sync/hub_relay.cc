#include "daemon/sync/hub_relay.h"

#include <nlohmann/json.hpp>

#include "daemon/sync/decision_audit.h"

namespace caravan::daemon::sync {
namespace {

std::string Hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

nlohmann::json HeaderJson(const SealedHeaderInfo& h) {
  return {{"envelope", Hex(h.envelope_id)},
          {"sender", h.sender_name},
          {"first_seq", h.first_seq},
          {"up_to_seq", h.up_to_seq}};
}

// One audit entry in its own write (a refusal changes nothing else).
Status Audit(store::Store* store, std::string actor, std::string action,
             std::string subject, std::string peer, nlohmann::json detail) {
  return store->Write([&](store::WriteTxn& txn) -> Status {
    auto a = txn.AppendAudit(
        {txn.now(), actor, action, subject, peer, AuditDetailJson(detail)});
    return a.ok() ? Status::Ok() : a.status();
  }).get();
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
                              Hex(out.header.envelope_id),
                              out.header.sender_name, AuditDetailJson(detail)});
    return a.ok() ? Status::Ok() : a.status();
  }).get();
  CARAVAN_RETURN_IF_ERROR(written);
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
                           ctx.max_envelope_bytes);
  if (!opened.ok()) {
    return Refuse(store, out, link_peer, "reject", opened.status().message());
  }
  const PeerInfo from{sender->name, sender->country, sender->key};
  auto applied = ApplyInbound(ctx.inbound, from, opened->entries,
                              opened->header.up_to_seq);
  if (!applied.ok()) return applied.status();
  out.kind = SealedOutcome::kApplied;
  out.inbound = *applied;
  nlohmann::json detail = HeaderJson(out.header);
  detail["via"] = link_peer.name;
  detail["hub_seq"] = hub_seq;
  detail["records"] = opened->entries.size();
  detail["accepted"] = applied->accepted;
  detail["quarantined"] = applied->quarantined;
  detail["rejected"] = applied->rejected;
  detail["duplicates"] = applied->duplicates;
  CARAVAN_RETURN_IF_ERROR(Audit(store, "peer:" + sender->name,
                                "sealed_receive", Hex(out.header.envelope_id),
                                sender->name, detail));
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
                                  Hex(row.envelope_id), recipient_name,
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
    out.kind = SealedOutcome::kBreach;
    out.reason = header.status().message();
    return out;
  }
  out.header = *header;
  out.for_us = header->recipient_key == ctx.inbound.self;
  if (out.for_us) return Receive(ctx, link_peer, envelope, hub_seq, out);
  if (hub_seq != 0) {
    // Only a hub forwarding to its recipient sets hubSeq.
    out.kind = SealedOutcome::kBreach;
    out.reason = "forwarded sealed envelope is addressed to another member";
    return out;
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
               Hex(e.envelope_id), recipient.name,
               AuditDetailJson({{"envelope", Hex(e.envelope_id)},
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
