#include "daemon/sync/outbound.h"

#include <algorithm>

namespace caravan::daemon::sync {
namespace {

OutboundChoice Skip(std::string key, std::string reason) {
  OutboundChoice c;
  c.kind = OutboundChoice::Kind::kSkip;
  c.rule.file = "(sync)";
  c.rule.key = std::move(key);
  c.rule.reason = std::move(reason);
  return c;
}

// The body with the listed fields removed and reshare lowered.
protocol::RecordBody Redacted(protocol::RecordBody body,
                              const std::vector<std::string>& redact,
                              std::optional<protocol::Reshare> reshare,
                              uint32_t variant) {
  protocol::Indicator& ind = body.indicator;
  for (const auto& field : redact) {
    if (field == "description") ind.description.clear();
    if (field == "tags") ind.tags.clear();
    if (field == "first_seen") ind.first_seen = 0;
    if (field == "last_seen") ind.last_seen = 0;
    if (field == "valid_until") ind.valid_until = 0;
  }
  if (reshare) ind.reshare = *reshare;
  body.variant = variant;
  return body;
}

}  // namespace

uint32_t VariantNumber(const std::vector<std::string>& redact,
                       std::optional<protocol::Reshare> lowered_reshare) {
  uint32_t v = 0;
  for (const auto& field : redact) {
    if (auto f = policy::ParseRedactField(field)) {
      v |= 1u << static_cast<uint32_t>(*f);
    }
  }
  if (lowered_reshare) v |= (static_cast<uint32_t>(*lowered_reshare) + 1) << 8;
  return v;
}

OutboundChoice DecideOutbound(const LogRecord& e, const PeerInfo& peer,
                              const OutboundInputs& in) {
  // Loop prevention before policy: never echo a record to its origin or to
  // the peer it came from.
  // The origin's current key: the peer made it under a key it rotated
  // away from, or we did.
  const protocol::PublicKey origin_now =
      in.chains != nullptr ? in.chains->CurrentKey(e.body.origin) : e.body.origin;
  if (e.body.origin == peer.key || origin_now == peer.key) {
    return Skip("origin", "the peer is the record's origin");
  }
  if (e.received_from && *e.received_from == peer.name) {
    return Skip("received_from", "the record came from this peer");
  }
  const bool ours = origin_now == in.identity->public_key();
  policy::ShareInputs share;
  share.now = in.now;
  share.sent_today_to_country = in.sent_today;
  share.is_relay = !ours;
  share.held = in.held;
  share.origin_trust = in.origin_trust;
  // A flagged record is withheld unless forced (docs/warninglists.md);
  // re-run with the others on policy reload, so a later --force releases it.
  if (e.warninglist && !e.warninglist->forced) {
    share.warninglist = policy::WarninglistFlag{e.warninglist->list,
                                                e.warninglist->entry};
  }
  policy::ShareDecision d =
      policy::DecideShare(*in.policy, e.body, peer.country, share);
  OutboundChoice c;
  c.rule = std::move(d.rule);
  switch (d.action) {
    case policy::ShareDecision::Action::kSkip:
      c.kind = OutboundChoice::Kind::kSkip;
      return c;
    case policy::ShareDecision::Action::kWithhold:
      c.kind = OutboundChoice::Kind::kWithhold;
      return c;
    case policy::ShareDecision::Action::kDefer:
      c.kind = OutboundChoice::Kind::kDefer;
      c.retry_at = d.retry_at;
      return c;
    case policy::ShareDecision::Action::kWithdraw:
      c.kind = OutboundChoice::Kind::kWithdraw;
      c.variant = kWithdrawalVariant;
      return c;
    case policy::ShareDecision::Action::kShare:
      break;
  }
  std::optional<protocol::Reshare> lowered;
  if (d.reshare_ceiling < e.body.indicator.reshare) lowered = d.reshare_ceiling;
  const bool needs_variant = !d.redact.empty() || lowered.has_value();
  if (!needs_variant) {
    c.kind = OutboundChoice::Kind::kSend;
    c.to_send = e.record;
    c.variant = e.body.variant;
    return c;
  }
  if (!ours) {
    // Only the origin can redact (its signature covers every field).
    // DecideShare already withholds relays that would need it; this is
    // the backstop.
    c.kind = OutboundChoice::Kind::kWithhold;
    c.rule.reason += "; the policy asks to redact or lower reshare, which "
                     "only the origin can do for its own records";
    return c;
  }
  const uint32_t variant = VariantNumber(d.redact, lowered);
  protocol::RecordBody body = Redacted(e.body, d.redact, lowered, variant);
  // The same variant always gets the same body, so a resend after a
  // reconnect is a duplicate the receiver ignores (it keys on id, revision
  // and variant), whichever batch signed it.
  c.kind = OutboundChoice::Kind::kSend;
  c.to_send = protocol::SignedRecord{protocol::EncodeRecordBody(body),
                                     std::array<uint8_t, 64>{}};
  c.needs_signature = true;
  c.variant = variant;
  return c;
}

std::vector<uint8_t> BuildWithdrawalBody(const protocol::RecordBody& current,
                                         const protocol::RecordBody& held,
                                         uint32_t held_variant) {
  protocol::RecordBody body;
  body.origin = current.origin;
  body.origin_seq = current.origin_seq;
  body.revision = current.revision;
  body.created = current.created;
  body.created_millis = current.created_millis;
  body.variant = kWithdrawalVariant;
  protocol::Indicator& ind = body.indicator;
  ind.type = held.indicator.type;
  ind.value = held.indicator.value;
  ind.tlp = held.indicator.tlp;
  ind.confidence = held.indicator.confidence;
  // The peer may hold a variant with a lowered reshare (VariantNumber's
  // bits 8..9): the withdrawal must not grant more than it was given.
  ind.reshare = held.indicator.reshare;
  if (const uint32_t lowered = (held_variant >> 8) & 3u; lowered != 0) {
    ind.reshare = std::min(ind.reshare,
                           static_cast<protocol::Reshare>(lowered - 1));
  }
  ind.revoked = true;
  ind.revoke_reason =
      "withdrawn by its origin: the current revision is not shared with "
      "your country";
  return protocol::EncodeRecordBody(body);
}

}  // namespace caravan::daemon::sync
