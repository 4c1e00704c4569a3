// Policy requests: reload and explain.
#include <algorithm>
#include <ctime>

#include "daemon/node/control_dispatcher.h"
#include "daemon/node/control_wire.h"
#include "daemon/node/id_lookup.h"
#include "daemon/node/indicator_json.h"
#include "daemon/node/node.h"
#include "daemon/policy/policy_eval.h"
#include "daemon/policy/country_codes.h"
#include "daemon/policy/policy_explain.h"
#include "daemon/policy/share_decision.h"
#include "daemon/sync/origin_trust.h"
#include "daemon/sync/outbound.h"
#include "daemon/sync/outbound_page.h"

namespace caravan::daemon {

Result<std::string> ControlDispatcher::PolicyReload(const std::string& actor) {
  CARAVAN_RETURN_IF_ERROR(node_.ReloadPolicies(actor));
  const auto info = node_.policy().info();
  return DumpJson({{"files", info.files},
                   {"loaded_at", TimeOrNull(info.loaded_at)}});
}

namespace {

nlohmann::json RuleFileJson(const policy::Rule& rule) {
  // Built-in rules (TLP:RED, revocations, warninglists) have no file:
  // null, as docs/policy.md says.
  return rule.file.empty() ? nlohmann::json(nullptr)
                           : nlohmann::json(rule.file);
}

// The stored indicator `id` as the sender sees it: its current revision,
// whether it is a relay, its warninglist flag.
struct StoredIndicator {
  protocol::RecordBody current;
  bool is_relay = false;
  std::optional<policy::WarninglistFlag> warninglist;
};

Result<StoredIndicator> LoadStored(store::Reader& reader,
                                   const protocol::IndicatorId& id,
                                   const std::vector<protocol::PublicKey>& us) {
  auto row = reader.Get(id);
  if (!row.ok()) return row.status();
  if (!row->has_value()) {
    return NotFound("no indicator " + protocol::IdToHex(id));
  }
  auto bytes = reader.GetRecordBytes(id, (*row)->revision, (*row)->variant);
  if (!bytes.ok()) return bytes.status();
  auto record = protocol::DecodeSignedRecord(*bytes);
  if (!record.ok()) return record.status();
  auto body = protocol::DecodeRecordBody(record->body);
  if (!body.ok()) return body.status();
  StoredIndicator out;
  out.current = std::move(*body);
  // Ours under any key of our chain (docs/federation.md, "Identity key
  // rotation"): an indicator made before a rotation is still ours.
  out.is_relay = std::find(us.begin(), us.end(), out.current.origin) == us.end();
  auto hit = reader.GetWarninglistHit(id);
  if (!hit.ok()) return hit.status();
  if (*hit && !(*hit)->forced) {
    out.warninglist = policy::WarninglistFlag{(*hit)->list, (*hit)->entry};
  }
  return out;
}

}  // namespace

Result<std::string> ControlDispatcher::PolicyExplain(
    protocol::wire::Explain::Reader e) {
  const std::string country = Str(e.getCountry());
  // The codes policy files accept: an unassigned code (ZZ) can never be a
  // peer's country, so explaining it would answer a question nobody asks.
  if (!policy::IsAssignedCountryCode(country)) {
    return InvalidInput("'" + country +
                        "' is not an assigned ISO 3166-1 alpha-2 country "
                        "code");
  }
  const bool outbound =
      e.getDirection() == protocol::wire::Explain::Direction::OUTBOUND;
  const std::string id_hex = Str(e.getId());
  auto set = node_.policy().current();
  const int64_t now = std::time(nullptr);
  const auto& us = node_.own_keys();

  StoredIndicator subject;
  std::optional<protocol::IndicatorId> id;
  if (!id_hex.empty()) {
    auto resolved = node_.WithReader([&](store::Reader& reader) {
      return ResolveId(reader, id_hex);
    });
    if (!resolved.ok()) return resolved.status();
    id = *resolved;
  } else {
    auto indicator = BuildIndicator(SubmissionFromWire(e.getIndicator()),
                                    node_.config().defaults);
    if (!indicator.ok()) return indicator.status();
    // Explain as if this node created the revision now (outbound) or a
    // peer of that country sent it (inbound).
    subject.current.origin = us.front();
    subject.current.created = now;
    subject.current.indicator = std::move(*indicator);
    const auto wl = node_.warninglists().current()->Match(
        subject.current.indicator.type, subject.current.indicator.value);
    if (wl) subject.warninglist = policy::WarninglistFlag{wl->list, wl->entry};
  }

  // What the sender reads: the stored indicator, today's quota count and,
  // per peer of that country, what it holds.
  struct PeerHolding {
    std::string name;
    std::optional<policy::HeldRevision> held;
  };
  uint64_t sent_today = 0;
  std::vector<PeerHolding> peers;
  policy::OriginTrust origin_trust;  // removed member, compromised key
  CARAVAN_RETURN_IF_ERROR(node_.WithReader([&](store::Reader& reader)
                                               -> Status {
    if (id) {
      auto stored = LoadStored(reader, *id, us);
      if (!stored.ok()) return stored.status();
      subject = std::move(*stored);
    }
    if (!outbound) return Status::Ok();
    auto trust = reader.GetMemberTrust();
    if (!trust.ok()) return trust.status();
    origin_trust = daemon::sync::OriginTrustOf(*trust, subject.current.origin,
                                               &node_.roster()->chains());
    auto quota = reader.QuotaCount(country, store::UtcDay(now));
    if (!quota.ok()) return quota.status();
    sent_today = *quota;
    std::vector<store::Delivery> deliveries;
    if (id) {
      auto d = reader.Deliveries(*id);
      if (!d.ok()) return d.status();
      deliveries = std::move(*d);
    }
    for (const auto& m : node_.roster()->members()) {
      if (m.country != country) continue;
      PeerHolding p{m.name, std::nullopt};
      // The sender's inputs (outbound_page.cc): a relayed revocation is
      // judged against the content the peer holds.
      const bool with_content =
          subject.current.indicator.revoked && subject.is_relay;
      for (const auto& d : deliveries) {
        if (d.peer != m.name) continue;
        auto held = daemon::sync::ReadHeld(reader, d, with_content);
        if (!held.ok()) return held.status();
        p.held = std::move(*held);
      }
      peers.push_back(std::move(p));
    }
    return Status::Ok();
  }));

  policy::ShareInputs in;
  in.now = now;
  in.sent_today_to_country = sent_today;
  in.is_relay = subject.is_relay;
  in.warninglist = subject.warninglist;
  in.origin_trust = origin_trust;
  nlohmann::json doc = {{"direction", outbound ? "outbound" : "inbound"},
                        {"country", country},
                        {"id", id ? nlohmann::json(protocol::IdToHex(*id))
                                  : nlohmann::json(nullptr)},
                        {"revision", subject.current.revision}};
  policy::Explanation explanation;
  if (outbound) {
    // The answer for a peer of that country that holds nothing yet; each
    // rostered peer's own answer, given what it holds, is listed below.
    const policy::ShareDecision d =
        policy::DecideShare(*set, subject.current, country, in);
    explanation = policy::Explain(d);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& p : peers) {
      policy::ShareInputs pin = in;
      pin.held = p.held;
      const policy::ShareDecision pd =
          policy::DecideShare(*set, subject.current, country, pin);
      list.push_back(
          {{"name", p.name},
           {"holds_revision",
            p.held ? nlohmann::json(p.held->revision) : nlohmann::json(nullptr)},
           {"decision", policy::ActionName(pd.action)},
           {"rule", {{"file", RuleFileJson(pd.rule)},
                     {"line", pd.rule.line},
                     {"key", pd.rule.key}}},
           {"reason", pd.rule.reason}});
    }
    doc["peers"] = std::move(list);
  } else {
    policy::InboundContext ctx;
    ctx.now = now;
    explanation = policy::Explain(
        policy::EvaluateInbound(*set, subject.current, country, ctx));
  }
  doc["decision"] = explanation.decision;
  doc["rule"] = {{"file", RuleFileJson(explanation.rule)},
                 {"line", explanation.rule.line},
                 {"key", explanation.rule.key}};
  doc["reason"] = explanation.rule.reason;
  doc["scope_file"] = explanation.scope_file;
  doc["redact"] = explanation.redact;
  doc["reshare"] = explanation.reshare ? nlohmann::json(*explanation.reshare)
                                       : nlohmann::json(nullptr);
  doc["retry_at"] = explanation.retry_at ? TimeOrNull(*explanation.retry_at)
                                         : nlohmann::json(nullptr);
  doc["expires_at"] = explanation.expires_at
                          ? TimeOrNull(*explanation.expires_at)
                          : nlohmann::json(nullptr);
  doc["warninglist"] =
      subject.warninglist
          ? nlohmann::json{{"name", subject.warninglist->list},
                           {"entry", subject.warninglist->entry}}
          : nlohmann::json(nullptr);
  return DumpJson(doc);
}

}  // namespace caravan::daemon
