#include "daemon/node/report_json.h"

#include <algorithm>
#include <tuple>
#include <vector>

#include "daemon/policy/policy.h"
#include "protocol/indicator.h"
#include "protocol/time_text.h"

namespace caravan::daemon {
namespace {

bool EndsWith(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

nlohmann::json RuleJson(const store::ReportRuleGroup& g) {
  return {{"file", g.rule_file}, {"line", g.rule_line}, {"key", g.rule_key}};
}

// Sums by a key, kept in first-seen order then sorted by records, most
// first (ties by key): the order every "by_*" list has.
class Tally {
 public:
  nlohmann::json& Row(const std::string& key, nlohmann::json init) {
    auto [it, inserted] = index_.try_emplace(key, rows_.size());
    if (inserted) rows_.push_back(std::move(init));
    return rows_[it->second];
  }
  nlohmann::json Sorted(const char* by) {
    std::stable_sort(rows_.begin(), rows_.end(),
                     [by](const nlohmann::json& a, const nlohmann::json& b) {
                       return a.at(by).get<uint64_t>() >
                              b.at(by).get<uint64_t>();
                     });
    nlohmann::json out = nlohmann::json::array();
    for (auto& r : rows_) out.push_back(std::move(r));
    return out;
  }

 private:
  std::map<std::string, size_t> index_;
  std::vector<nlohmann::json> rows_;
};

std::string DayText(int64_t day) {
  return protocol::FormatTime(day * 86400).substr(0, 10);
}

const char* const kDayColumns[] = {"shared",   "withdrawn",   "withheld",
                                   "deferred", "accepted",    "quarantined",
                                   "rejected"};

// The column of the "days" rows an action adds to.
const char* DayColumn(std::string_view action) {
  if (action == "share") return "shared";
  if (action == "withdraw") return "withdrawn";
  if (action == "withhold") return "withheld";
  if (action == "defer") return "deferred";
  if (action == "accept") return "accepted";
  if (action == "quarantine") return "quarantined";
  return "rejected";
}

nlohmann::json EmptyDay(int64_t day) {
  nlohmann::json d = {{"date", DayText(day)}};
  for (const char* c : kDayColumns) d[c] = 0;
  return d;
}

}  // namespace

std::string_view WithheldCategory(std::string_view rule_file,
                                  std::string_view rule_key) {
  if (rule_file == policy::kProtectedFile) return "protected_asset";
  if (rule_key == "tlp_red") return "tlp_red";
  if (rule_key == "revocation") return "revocation";
  if (EndsWith(rule_key, ".max_tlp") || EndsWith(rule_key, ".types") ||
      EndsWith(rule_key, ".min_confidence")) {
    return "ceiling";
  }
  if (rule_key == "outbound.max_per_day") return "quota";
  if (rule_key == "outbound.embargo") return "embargo";
  if (EndsWith(rule_key, "_tags")) return "tags";
  if (rule_key == "outbound.share") return "sharing_off";
  if (rule_key == "outbound.redact") return "redaction";
  if (rule_key == "outbound.reshare") return "reshare";
  return "other";
}

nlohmann::json ReportJson(const ReportContext& ctx,
                          const store::ReportCounts& counts) {
  auto country_of = [&ctx](const store::ReportRuleGroup& g) -> std::string {
    if (!g.country.empty()) return g.country;
    auto it = ctx.peer_countries.find(g.peer);
    return it == ctx.peer_countries.end() ? "" : it->second;
  };

  uint64_t shared = 0, withdrawn = 0, withheld = 0, deferred = 0;
  uint64_t accepted = 0, quarantined = 0, rejected = 0;
  Tally shared_peers, shared_countries, withdrawn_peers, categories,
      received_peers;
  nlohmann::json shared_rules = nlohmann::json::array();
  nlohmann::json withheld_rules = nlohmann::json::array();
  nlohmann::json received_rules = nlohmann::json::array();

  for (const auto& g : counts.rules) {
    const std::string country = country_of(g);
    if (g.action == "share") {
      shared += g.records;
      auto& p = shared_peers.Row(g.peer, {{"peer", g.peer},
                                          {"country", country},
                                          {"records", 0}});
      p["records"] = p["records"].get<uint64_t>() + g.records;
      auto& c = shared_countries.Row(country, {{"country", country},
                                               {"records", 0}});
      c["records"] = c["records"].get<uint64_t>() + g.records;
      shared_rules.push_back({{"peer", g.peer}, {"country", country},
                              {"rule", RuleJson(g)}, {"records", g.records}});
    } else if (g.action == "withdraw") {
      withdrawn += g.records;
      auto& p = withdrawn_peers.Row(g.peer, {{"peer", g.peer},
                                             {"country", country},
                                             {"records", 0}});
      p["records"] = p["records"].get<uint64_t>() + g.records;
    } else if (g.action == "withhold" || g.action == "defer") {
      (g.action == "defer" ? deferred : withheld) += g.records;
      const std::string category(WithheldCategory(g.rule_file, g.rule_key));
      auto& c = categories.Row(category, {{"category", category},
                                          {"records", 0}});
      c["records"] = c["records"].get<uint64_t>() + g.records;
      withheld_rules.push_back({{"action", g.action}, {"peer", g.peer},
                                {"country", country},
                                {"category", category},
                                {"rule", RuleJson(g)},
                                {"records", g.records}});
    } else {  // accept, quarantine, reject
      uint64_t& total = g.action == "accept"       ? accepted
                        : g.action == "quarantine" ? quarantined
                                                   : rejected;
      total += g.records;
      auto& p = received_peers.Row(
          g.peer, {{"peer", g.peer}, {"country", country}, {"records", 0},
                   {"accepted", 0}, {"quarantined", 0}, {"rejected", 0}});
      const char* column = DayColumn(g.action);
      p[column] = p[column].get<uint64_t>() + g.records;
      p["records"] = p["records"].get<uint64_t>() + g.records;
      received_rules.push_back({{"action", g.action}, {"peer", g.peer},
                                {"country", country}, {"rule", RuleJson(g)},
                                {"records", g.records}});
    }
  }

  // TLP and type of what was shared.
  Tally tlps, types;
  for (const auto& k : counts.shared_kinds) {
    const std::string tlp =
        k.tlp < 0 ? "unknown"
                  : std::string(protocol::TlpName(static_cast<protocol::Tlp>(k.tlp)));
    const std::string type =
        k.type < 0 ? "unknown"
                   : std::string(protocol::TypeName(
                         static_cast<protocol::IndicatorType>(k.type)));
    auto& t = tlps.Row(tlp, {{"tlp", tlp}, {"records", 0}});
    t["records"] = t["records"].get<uint64_t>() + k.records;
    auto& y = types.Row(type, {{"type", type}, {"records", 0}});
    y["records"] = y["records"].get<uint64_t>() + k.records;
  }

  // Days, oldest first; every day of a short period, zeros included.
  std::map<int64_t, nlohmann::json> by_day;
  const int64_t first_day = ctx.since / 86400, last_day = ctx.until / 86400;
  if (last_day - first_day < kReportMaxFilledDays) {
    for (int64_t d = first_day; d <= last_day; ++d) by_day[d] = EmptyDay(d);
  }
  for (const auto& d : counts.days) {
    auto [it, inserted] = by_day.try_emplace(d.day, nullptr);
    if (inserted) it->second = EmptyDay(d.day);
    const char* column = DayColumn(d.action);
    it->second[column] = it->second[column].get<uint64_t>() + d.records;
  }
  nlohmann::json days = nlohmann::json::array();
  for (auto& [day, row] : by_day) days.push_back(std::move(row));

  return {
      {"node", {{"name", ctx.node_name}, {"country", ctx.node_country}}},
      {"since", protocol::FormatTime(ctx.since)},
      {"until", protocol::FormatTime(ctx.until)},
      {"generated", protocol::FormatTime(ctx.generated)},
      {"shared",
       {{"records", shared},
        {"by_peer", shared_peers.Sorted("records")},
        {"by_country", shared_countries.Sorted("records")},
        {"by_rule", std::move(shared_rules)},
        {"by_tlp", tlps.Sorted("records")},
        {"by_type", types.Sorted("records")}}},
      {"withdrawn",
       {{"records", withdrawn}, {"by_peer", withdrawn_peers.Sorted("records")}}},
      {"withheld",
       {{"records", withheld + deferred},
        {"withheld", withheld},
        {"deferred", deferred},
        {"by_category", categories.Sorted("records")},
        {"by_rule", std::move(withheld_rules)}}},
      {"received",
       {{"records", accepted + quarantined + rejected},
        {"accepted", accepted},
        {"quarantined", quarantined},
        {"rejected", rejected},
        {"by_peer", received_peers.Sorted("records")},
        {"by_rule", std::move(received_rules)}}},
      {"days", std::move(days)}};
}

}  // namespace caravan::daemon
