#include "daemon/node/indicator_json.h"

#include "crypto/key_text.h"
#include "protocol/record_codec.h"
#include "protocol/time_text.h"

namespace caravan::daemon {

nlohmann::json TimeOrNull(int64_t t) {
  if (t == 0) return nullptr;
  return protocol::FormatTime(t);
}

nlohmann::json IndicatorJson(const store::IndicatorRow& row,
                             std::optional<bool> verified) {
  const protocol::Indicator& ind = row.indicator;
  nlohmann::json j = {
      {"id", protocol::IdToHex(row.id)},
      {"type", protocol::TypeName(ind.type)},
      {"value", ind.value},
      {"tlp", protocol::TlpName(ind.tlp)},
      {"confidence", ind.confidence},
      {"tags", ind.tags},
      {"description", ind.description},
      {"origin", row.origin_country},
      {"origin_name", row.origin_name},
      {"origin_key", crypto::KeyText(row.origin)},
      {"revision", row.revision},
      {"variant", row.variant},
      {"created", TimeOrNull(row.created)},
      {"valid_until", TimeOrNull(ind.valid_until)},
      {"first_seen", TimeOrNull(ind.first_seen)},
      {"last_seen", TimeOrNull(ind.last_seen)},
      {"reshare", protocol::ReshareName(ind.reshare)},
      {"revoked", ind.revoked},
      {"revoke_reason", ind.revoked ? nlohmann::json(ind.revoke_reason)
                                    : nlohmann::json(nullptr)},
      {"received_from", row.received_from ? nlohmann::json(*row.received_from)
                                          : nlohmann::json(nullptr)},
      {"quarantined", row.quarantined},
      // Filled by AddWarninglistJson where the caller has a Reader; a
      // row flagged and not forced says so even without one.
      {"warninglist", row.warning ? nlohmann::json{{"forced", false}}
                                  : nlohmann::json(nullptr)},
      {"stored_at", TimeOrNull(row.stored_at)},
  };
  j["verified"] = verified ? nlohmann::json(*verified) : nlohmann::json(nullptr);
  return j;
}

nlohmann::json WarninglistJson(
    const std::optional<store::WarninglistHit>& hit) {
  if (!hit) return nullptr;
  return {{"name", hit->list}, {"entry", hit->entry}, {"forced", hit->forced}};
}

Status AddWarninglistJson(store::Reader& reader, const store::IndicatorId& id,
                          nlohmann::json& j) {
  auto hit = reader.GetWarninglistHit(id);
  if (!hit.ok()) return hit.status();
  j["warninglist"] = WarninglistJson(*hit);
  return Status::Ok();
}

nlohmann::json AuditEntryJson(const store::AuditEntry& e) {
  nlohmann::json detail = nlohmann::json::parse(e.event.detail, nullptr,
                                                /*allow_exceptions=*/false);
  if (detail.is_discarded()) detail = e.event.detail;
  return {{"seq", e.seq},
          {"time", TimeOrNull(e.event.time)},
          {"actor", e.event.actor},
          {"action", e.event.action},
          {"subject", e.event.subject},
          {"peer", e.event.peer.empty() ? nlohmann::json(nullptr)
                                        : nlohmann::json(e.event.peer)},
          {"detail", detail},
          {"hash", crypto::ToHex(e.hash)}};
}

std::string DumpJson(const nlohmann::json& doc) {
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace caravan::daemon
