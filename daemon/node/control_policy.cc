// Policy requests: reload and explain.
#include <ctime>

#include "daemon/node/control_dispatcher.h"
#include "daemon/node/control_wire.h"
#include "daemon/node/indicator_json.h"
#include "daemon/node/node.h"
#include "daemon/policy/policy_eval.h"
#include "daemon/policy/policy_explain.h"

namespace caravan::daemon {

Result<std::string> ControlDispatcher::PolicyReload(const std::string& actor) {
  CARAVAN_RETURN_IF_ERROR(node_.ReloadPolicies(actor));
  const auto info = node_.policy().info();
  return DumpJson({{"files", info.files},
                   {"loaded_at", TimeOrNull(info.loaded_at)}});
}

Result<std::string> ControlDispatcher::PolicyExplain(
    protocol::wire::Explain::Reader e) {
  const std::string country = Str(e.getCountry());
  if (!protocol::IsCountryCode(country)) {
    return InvalidInput("'" + country +
                        "' is not an ISO 3166-1 alpha-2 country code");
  }
  auto indicator =
      BuildIndicator(SubmissionFromWire(e.getIndicator()),
                     node_.config().defaults);
  if (!indicator.ok()) return indicator.status();
  auto set = node_.policy().current();
  const int64_t now = std::time(nullptr);
  // Explain as if this node created the revision now (outbound) or a peer
  // of that country sent it (inbound).
  protocol::RecordBody body;
  body.origin = node_.identity().public_key();
  body.created = now;
  body.indicator = std::move(*indicator);
  policy::Explanation explanation;
  if (e.getDirection() == protocol::wire::Explain::Direction::OUTBOUND) {
    policy::OutboundContext ctx;
    ctx.now = now;
    explanation =
        policy::Explain(policy::EvaluateOutbound(*set, body, country, ctx));
  } else {
    policy::InboundContext ctx;
    ctx.now = now;
    explanation =
        policy::Explain(policy::EvaluateInbound(*set, body, country, ctx));
  }
  nlohmann::json doc = {
      {"direction", e.getDirection() ==
                            protocol::wire::Explain::Direction::OUTBOUND
                        ? "outbound"
                        : "inbound"},
      {"country", country},
      {"decision", explanation.decision},
      {"rule",
       {{"file", explanation.rule.file},
        {"line", explanation.rule.line},
        {"key", explanation.rule.key}}},
      {"reason", explanation.rule.reason},
      {"scope_file", explanation.scope_file},
      {"redact", explanation.redact},
      {"reshare", explanation.reshare ? nlohmann::json(*explanation.reshare)
                                      : nlohmann::json(nullptr)},
      {"retry_at", explanation.retry_at
                       ? TimeOrNull(*explanation.retry_at)
                       : nlohmann::json(nullptr)},
      {"expires_at", explanation.expires_at
                         ? TimeOrNull(*explanation.expires_at)
                         : nlohmann::json(nullptr)},
  };
  // Warninglists (docs/warninglists.md): a match is withheld from every
  // peer, whatever the policy says, unless it is submitted with --force.
  const auto wl = node_.warninglists().current()->Match(
      body.indicator.type, body.indicator.value);
  doc["warninglist"] = wl ? nlohmann::json{{"name", wl->list},
                                           {"entry", wl->entry}}
                          : nlohmann::json(nullptr);
  if (wl && e.getDirection() ==
                protocol::wire::Explain::Direction::OUTBOUND) {
    doc["decision"] = "withhold";
    doc["rule"] = {{"file", ""}, {"line", 0}, {"key", "warninglist:" + wl->list}};
    doc["reason"] = "matches warninglist '" + wl->list + "' (entry " +
                    wl->entry +
                    "); flagged records are not shared automatically "
                    "(submit with --force to share)";
  }
  return DumpJson(doc);
}

}  // namespace caravan::daemon
