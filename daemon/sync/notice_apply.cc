// One received compromise notice checked, applied and audited
// (notice_apply.h). Moved out of compromise_exchange.cc so a notice that
// arrives sealed through a hub takes exactly the direct link's path.
#include "daemon/sync/notice_apply.h"

#include <nlohmann/json.hpp>
#include <optional>

#include "crypto/key_text.h"
#include "daemon/sync/decision_audit.h"

namespace caravan::daemon::sync {

using On = protocol::NodeConfig::Inbound::OnCompromiseNotice;

NoticeOutcome ApplyCompromiseNotice(store::Store& store,
                                    const RosterIndex& roster, On act,
                                    const protocol::PublicKey& self,
                                    const NoticeSource& source,
                                    const Result<CompromiseNotice>& notice,
                                    int64_t now) {
  NoticeOutcome out;
  nlohmann::json detail = {{"from", source.from}};
  if (!source.via.empty()) detail["via"] = source.via;
  std::string subject = source.from;
  std::optional<NoticeRefusal> refusal;
  std::string why;
  const CompromiseNotice* n = notice.ok() ? &*notice : nullptr;
  std::array<uint8_t, 32> digest{};
  const protocol::RosterMember* compromised = nullptr;
  if (n == nullptr) {
    refusal = NoticeRefusal::kMalformed;
    why = notice.status().message();
  } else {
    detail["issuer"] = protocol::PublicKeyToText(n->issuer);
    detail["key"] = protocol::PublicKeyToText(n->compromised);
    detail["since"] = n->since;
    detail["issued_at"] = n->issued_at;
    NoticeCheck check = CheckCompromiseNotice(*n, roster, now);
    if (check.refusal) {
      refusal = check.refusal;
      why = check.reason;
    } else if (n->compromised == self ||
               roster.chains().CurrentKey(n->compromised) == self) {
      // About us (our key or one we rotated away from): our operator
      // decides (caravan key compromised); audited, nothing applied.
      refusal = NoticeRefusal::kUnknownKey;
      why = "compromise notice names this node's own key";
    } else {
      compromised = check.compromised;
      subject = compromised->name;
      digest = NoticeDigest(*n);
    }
  }
  Status written = store.Write([&](store::WriteTxn& txn) -> Status {
    if (!refusal) {
      auto fresh = txn.RecordCompromiseNotice(digest, n->issuer, n->compromised,
                                              n->since, n->issued_at);
      if (!fresh.ok()) return fresh.status();
      if (!*fresh) {
        refusal = NoticeRefusal::kReplayed;
        why = "this compromise notice was received and applied before";
      }
    }
    if (refusal) {
      out.result = "refused";
      out.reason = why;
      out.event = "notice_refused_" + std::string(NoticeRefusalName(*refusal));
      detail["result"] = "refused";
      detail["refusal"] = std::string(NoticeRefusalName(*refusal));
      detail["reason"] = why;
    } else {
      out.result = std::string(protocol::CompromiseNoticeActionName(act));
      out.event = "notice_" + out.result;
      if (act != On::kIgnore) {
        store::CompromisedKey c;
        c.key = n->compromised;
        c.since = n->since;
        c.declared_at = txn.now();
        c.declared_by = n->issuer;
        c.name = compromised->name;
        c.action = act == On::kQuarantine ? store::CompromiseAction::kQuarantine
                                          : store::CompromiseAction::kFlag;
        CARAVAN_RETURN_IF_ERROR(txn.PutCompromised(c));
      }
      if (act == On::kQuarantine) {
        // A retired key signed nothing after its rotation: later
        // revisions of its indicators are its successor's.
        const crypto::RotationStatement* retired =
            roster.chains().RetiredBy(n->compromised);
        auto ids = retired != nullptr
                       ? txn.QuarantineOrigin(n->compromised, n->since,
                                              retired->rotated_at)
                       : txn.QuarantineOrigin(n->compromised, n->since);
        if (!ids.ok()) return ids.status();
        out.quarantined = ids->size();
        out.refuse_links = true;
      }
      detail["result"] = out.result;
      detail["quarantined"] = out.quarantined;
    }
    auto a = txn.AppendAudit({txn.now(), "peer:" + source.from,
                              "compromise-notice", subject, source.from,
                              AuditDetailJson(detail)});
    return a.ok() ? Status::Ok() : a.status();
  }).get();
  if (!written.ok()) {
    out.event = "notice_store_error";
    out.result = "error";
    out.reason = written.message();
  }
  return out;
}

}  // namespace caravan::daemon::sync
