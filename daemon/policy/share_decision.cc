#include "daemon/policy/share_decision.h"

namespace caravan::policy {
namespace {

using Action = ShareDecision::Action;
using Verdict = OutboundDecision::Verdict;

std::string RevisionText(uint32_t revision) {
  return "revision " + std::to_string(revision);
}

}  // namespace

bool RevealsNothingNew(const protocol::Indicator& held,
                       const protocol::Indicator& revocation) {
  protocol::Indicator a = held;
  protocol::Indicator b = revocation;
  a.revoked = b.revoked = false;
  a.revoke_reason.clear();
  b.revoke_reason.clear();
  a.reshare = b.reshare;
  return a == b;
}

std::string_view ActionName(ShareDecision::Action a) {
  switch (a) {
    case Action::kShare: return "share";
    case Action::kWithhold: return "withhold";
    case Action::kDefer: return "defer";
    case Action::kWithdraw: return "withdraw";
    case Action::kSkip: return "skip";
  }
  return "withhold";
}

ShareDecision DecideShare(const PolicySet& set,
                          const protocol::RecordBody& current,
                          std::string_view recipient_country,
                          const ShareInputs& in) {
  const protocol::Indicator& ind = current.indicator;
  ShareDecision out;
  if (in.held && in.held->revision >= current.revision) {
    out.action = Action::kSkip;
    out.scope_file = ScopeFor(set, recipient_country).outbound_file->name;
    out.rule = Rule{"", 0, "delivered",
                    "the peer already holds " + RevisionText(in.held->revision)};
    return out;
  }
  // Member trust (member_trust_rule.h): before any policy file, and for
  // holders too (a removed or compromised origin's revocation stays home).
  if (auto rule = MemberTrustRule(current, in.origin_trust)) {
    out.action = Action::kWithhold;
    out.scope_file = ScopeFor(set, recipient_country).outbound_file->name;
    out.rule = std::move(*rule);
    return out;
  }
  // A warninglist match is a likely false positive, not a sovereignty
  // rule: it keeps a value from starting to travel, and does not stop the
  // revisions of one a peer already holds (docs/warninglists.md).
  if (in.warninglist && !in.held && !ind.revoked) {
    out.action = Action::kWithhold;
    out.scope_file = ScopeFor(set, recipient_country).outbound_file->name;
    out.rule = Rule{"", 0, "warninglist:" + in.warninglist->list,
                    "matches warninglist '" + in.warninglist->list +
                        "' (entry " + in.warninglist->entry +
                        "); flagged records are not shared automatically "
                        "(submit with --force to share)"};
    return out;
  }

  OutboundContext ctx;
  ctx.now = in.now;
  ctx.sent_today_to_country = in.sent_today_to_country;
  ctx.is_relay = in.is_relay;
  ctx.recipient_holds_indicator = in.held.has_value();
  ctx.revocation_tells_holder_nothing_new =
      in.held && in.held->content && RevealsNothingNew(*in.held->content, ind);
  OutboundDecision d = EvaluateOutbound(set, current, recipient_country, ctx);
  out.rule = std::move(d.rule);
  out.scope_file = std::move(d.scope_file);
  switch (d.verdict) {
    case Verdict::kShare:
      out.action = Action::kShare;
      out.redact = std::move(d.redact);
      out.reshare_ceiling = d.reshare_ceiling;
      return out;
    case Verdict::kDefer:
      // The peer keeps what it holds until the wait ends; then the current
      // revision is judged again.
      out.action = Action::kDefer;
      out.retry_at = d.retry_at;
      return out;
    case Verdict::kWithhold:
      break;
  }
  out.action = Action::kWithhold;
  // A revision a holder may not see, a revocation among them (it carries
  // the content of the revision it retracts): the origin withdraws what
  // the peer holds instead.
  if (in.held) {
    if (in.held->withdrawn) {
      // It already holds our withdrawal: nothing more to say until a
      // revision it may see.
      out.action = Action::kSkip;
      out.rule.reason += "; the peer already holds a withdrawal";
    } else if (!in.is_relay) {
      out.action = Action::kWithdraw;
      out.rule.reason += "; the peer holds " +
                         RevisionText(in.held->revision) +
                         ", which is withdrawn";
    } else {
      out.rule.reason += "; the peer keeps " +
                         RevisionText(in.held->revision) +
                         " (only the origin can withdraw it)";
    }
  }
  return out;
}

}  // namespace caravan::policy
