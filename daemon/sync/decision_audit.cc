#include "daemon/sync/decision_audit.h"

#include "protocol/record_codec.h"

namespace caravan::daemon::sync {

std::string AuditDetailJson(const nlohmann::json& detail) {
  return detail.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json RuleJson(const policy::Rule& rule) {
  return {{"file", rule.file.substr(0, 512)},
          {"line", rule.line},
          {"key", rule.key.substr(0, 512)}};
}

DecisionAudit::DecisionAudit(int64_t time, std::string actor,
                             std::string peer, std::string country)
    : time_(time),
      actor_(std::move(actor)),
      peer_(std::move(peer)),
      country_(std::move(country)) {}

DecisionAudit::Group& DecisionAudit::GroupFor(std::string_view action,
                                              const policy::Rule& rule) {
  for (auto& g : groups_) {
    if (g.action == action && g.rule == rule) return g;
  }
  groups_.push_back({std::string(action), rule, 0, "", ""});
  return groups_.back();
}

void DecisionAudit::Add(std::string_view action, const policy::Rule& rule,
                        const AuditedRecord& record) {
  Group& g = GroupFor(action, rule);
  // Built by hand: one nlohmann object per record is what made the
  // per-record entries slow. Only the origin name needs escaping, and
  // records of a write mostly share their origin.
  const std::string id = protocol::IdToHex(record.id);
  if (g.count == 0) g.first_id = id;
  if (g.count > 0) g.records += ',';
  g.records += "{\"id\":\"" + id + "\"";
  if (record.seq != 0) g.records += ",\"seq\":" + std::to_string(record.seq);
  g.records += ",\"revision\":" + std::to_string(record.revision) +
               ",\"variant\":" + std::to_string(record.variant);
  if (!record.origin.empty()) {
    if (record.origin != last_origin_) {
      last_origin_ = std::string(record.origin);
      last_origin_json_ = AuditDetailJson(last_origin_);
    }
    g.records += ",\"origin\":" + last_origin_json_;
  }
  g.records += '}';
  ++g.count;
  if (g.records.size() >= kAuditRecordListBytes) {
    ready_.push_back(Entry(g));
    g.count = 0;
    g.records.clear();
  }
}

store::AuditEvent DecisionAudit::Entry(const Group& g) const {
  nlohmann::json head = {{"count", g.count},
                         {"rule", RuleJson(g.rule)},
                         // Policy reasons are one short sentence; the cut
                         // only keeps the detail within the store's limit.
                         {"reason", g.rule.reason.substr(0, 2048)}};
  if (!country_.empty()) head["country"] = country_;
  // `head` is an object: splice the records array in before its brace.
  std::string detail = AuditDetailJson(head);
  detail.pop_back();
  detail += ",\"records\":[" + g.records + "]}";
  std::string subject =
      g.count == 1 ? g.first_id : std::to_string(g.count) + " records";
  return {time_, actor_, g.action, std::move(subject), peer_,
          std::move(detail)};
}

std::vector<store::AuditEvent> DecisionAudit::Take() {
  std::vector<store::AuditEvent> out = std::move(ready_);
  ready_.clear();
  for (const auto& g : groups_) {
    if (g.count > 0) out.push_back(Entry(g));
  }
  groups_.clear();
  return out;
}

}  // namespace caravan::daemon::sync
