#include "daemon/sync/outbound.h"

#include <algorithm>

#include "crypto/signing.h"

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

// A flagged record never leaves on its own (docs/warninglists.md); only
// an operator's --force (or an update to a peer that already holds it)
// lets it out. Re-run with the others on policy reload, so a later
// --force releases it.
OutboundChoice WarninglistWithhold(const store::WarninglistHit& hit) {
  OutboundChoice c;
  c.kind = OutboundChoice::Kind::kWithhold;
  c.rule.key = "warninglist:" + hit.list;
  c.rule.reason = "matches warninglist '" + hit.list + "' (entry " +
                  hit.entry +
                  "); flagged records are not shared automatically (submit "
                  "with --force to share)";
  return c;
}

// Rules whose withholding must win even over "updates reach holders".
bool RaisesSensitivity(const policy::Rule& rule) {
  return rule.key == "tlp_red" || rule.key == "outbound.max_tlp" ||
         rule.file == "protected.toml";
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
  if (e.body.origin == peer.key) {
    return Skip("origin", "the peer is the record's origin");
  }
  if (e.received_from && *e.received_from == peer.name) {
    return Skip("received_from", "the record came from this peer");
  }
  const bool ours = e.body.origin == in.identity->public_key();
  // Only full records go out; a redacted variant we received is passed on
  // only as it is, and only when its own rules allow (below).
  policy::OutboundContext ctx;
  ctx.now = in.now;
  ctx.sent_today_to_country = in.sent_today;
  ctx.is_relay = !ours;
  ctx.recipient_holds_indicator =
      in.peer_holds_revision && *in.peer_holds_revision < e.body.revision;
  if (in.peer_holds_revision && *in.peer_holds_revision >= e.body.revision) {
    return Skip("delivered", "the peer already holds this revision");
  }
  if (e.warninglist && !e.warninglist->forced &&
      !ctx.recipient_holds_indicator) {
    return WarninglistWithhold(*e.warninglist);
  }
  const policy::OutboundDecision d =
      policy::EvaluateOutbound(*in.policy, e.body, peer.country, ctx);
  OutboundChoice c;
  c.rule = d.rule;
  std::vector<std::string> redact = d.redact;
  protocol::Reshare ceiling = d.reshare_ceiling;
  if (ctx.recipient_holds_indicator) {
    if (d.verdict != policy::OutboundDecision::Verdict::kShare &&
        RaisesSensitivity(d.rule)) {
      // An update that would now break a hard rule (protected asset, TLP
      // ceiling, TLP:RED) stays home; the peer keeps its older revision.
      c.kind = OutboundChoice::Kind::kWithhold;
      return c;
    }
    // DESIGN.md: revocations and updates reach every peer that received an
    // earlier revision, whatever today's scope says. They still go in the
    // form this peer may see: the scope's redaction and reshare ceiling
    // apply, or a revocation would leak what the first revision withheld.
    if (d.verdict != policy::OutboundDecision::Verdict::kShare) {
      c.rule.key = "update_to_holder";
      c.rule.reason = "an update goes to peers that hold an earlier revision";
    }
    const policy::OutboundRules& rules =
        policy::ScopeFor(*in.policy, peer.country).outbound();
    redact.clear();
    for (policy::RedactField f : rules.redact) {
      redact.emplace_back(policy::RedactFieldName(f));
    }
    ceiling = std::min(e.body.indicator.reshare, rules.reshare);
  } else {
    switch (d.verdict) {
      case policy::OutboundDecision::Verdict::kWithhold:
        c.kind = OutboundChoice::Kind::kWithhold;
        return c;
      case policy::OutboundDecision::Verdict::kDefer:
        c.kind = OutboundChoice::Kind::kDefer;
        c.retry_at = d.retry_at;
        return c;
      case policy::OutboundDecision::Verdict::kShare:
        break;
    }
  }
  std::optional<protocol::Reshare> lowered;
  if (ceiling < e.body.indicator.reshare) lowered = ceiling;
  const bool needs_variant = !redact.empty() || lowered.has_value();
  if (!needs_variant) {
    c.kind = OutboundChoice::Kind::kSend;
    c.to_send = e.record;
    c.variant = e.body.variant;
    return c;
  }
  if (!ours) {
    // Only the origin can redact (its signature covers every field).
    c.kind = OutboundChoice::Kind::kWithhold;
    c.rule.reason += "; the policy asks to redact or lower reshare, which "
                     "only the origin can do for its own records";
    return c;
  }
  const uint32_t variant = VariantNumber(redact, lowered);
  protocol::RecordBody body = Redacted(e.body, redact, lowered, variant);
  std::vector<uint8_t> bytes = protocol::EncodeRecordBody(body);
  // Ed25519 is deterministic: the same variant always gets the same bytes
  // and signature, so a resend after a reconnect is a duplicate the
  // receiver ignores.
  auto sig = crypto::Sign(*in.identity, crypto::SignDomain::kRecord, bytes);
  c.kind = OutboundChoice::Kind::kSend;
  c.to_send = protocol::SignedRecord{std::move(bytes), sig};
  c.variant = variant;
  return c;
}

}  // namespace caravan::daemon::sync
