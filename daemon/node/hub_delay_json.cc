#include "daemon/node/hub_delay_json.h"

#include "daemon/node/indicator_json.h"

namespace caravan::daemon {
namespace {

double Seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

// RFC 3339 (second precision) of a Unix ms time.
nlohmann::json TimeOfMs(int64_t ms) { return TimeOrNull(ms / 1000); }

}  // namespace

nlohmann::json HubDelayJson(const sync::HubDelayBook::View& v) {
  return {{"worst_recent_seconds", Seconds(v.worst_recent_ms)},
          {"worst_at", TimeOfMs(v.worst_at_ms)},
          {"last_seconds", Seconds(v.last_ms)},
          {"last_at", TimeOfMs(v.last_at_ms)},
          {"over_alert", v.over_alert}};
}

nlohmann::json HubDelaysByHubJson(
    const std::map<std::pair<std::string, std::string>,
                   sync::HubDelayBook::View>& views) {
  // The map is ordered by (hub, sender): one pass, one entry per hub.
  nlohmann::json out = nlohmann::json::array();
  std::string hub;
  int64_t worst = -1;
  for (const auto& [key, v] : views) {
    if (out.empty() || key.first != hub) {
      hub = key.first;
      worst = -1;
      out.push_back({{"hub", hub}, {"over_alert", 0}});
    }
    nlohmann::json& entry = out.back();
    entry["over_alert"] = entry["over_alert"].get<uint64_t>() + v.over_alert;
    if (v.worst_recent_ms > worst) {
      worst = v.worst_recent_ms;
      entry["sender"] = key.second;
      entry["worst_recent_seconds"] = Seconds(v.worst_recent_ms);
      entry["worst_at"] = TimeOfMs(v.worst_at_ms);
    }
  }
  return out;
}

}  // namespace caravan::daemon
