#include "daemon/node/node_health.h"

#include <algorithm>

#include "protocol/time_text.h"

namespace caravan::daemon {
namespace {

// A time field of the status document (RFC 3339 or null) as Unix seconds;
// 0 when absent.
int64_t TimeField(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return 0;
  auto t = protocol::ParseAbsoluteTime(it->get<std::string>());
  return t.ok() ? *t : 0;
}

std::string Minutes(int64_t seconds) {
  return std::to_string(seconds / 60) + " min";
}

// "peer CERT-KZ down for 14 min (last error: ...)", or "" when the peer
// counts as healthy: up, reached through a hub, or down for less than the
// grace (counted from this start at the earliest, so a restart does not
// make every peer look long gone).
std::string PeerDownReason(const nlohmann::json& peer, int64_t now,
                           int64_t started_at) {
  if (peer.value("link", std::string()) == "up") return "";
  if (peer.contains("via") && peer["via"].is_string()) return "";
  const int64_t since = std::max(TimeField(peer, "last_contact"), started_at);
  if (now - since < kPeerDownGraceSeconds) return "";
  std::string reason = "peer " + peer.value("name", std::string("?")) +
                       " down for " + Minutes(now - since);
  const auto error = peer.find("last_error");
  if (error != peer.end() && error->is_string()) {
    reason += " (last error: " + error->get<std::string>() + ")";
  }
  return reason;
}

}  // namespace

std::vector<std::string> DegradedReasons(const nlohmann::json& status,
                                         int64_t now, int64_t started_at,
                                         uint64_t store_errors) {
  std::vector<std::string> reasons;
  const auto peers = status.value("peers", nlohmann::json::array());
  for (const auto& peer : peers) {
    if (std::string r = PeerDownReason(peer, now, started_at); !r.empty()) {
      reasons.push_back(std::move(r));
    }
  }
  for (const auto& peer : peers) {
    const uint64_t deferred = peer.value("deferred", uint64_t{0});
    if (deferred == 0) continue;
    std::string reason = std::to_string(deferred) + " records deferred for " +
                         peer.value("name", std::string("?"));
    const auto retry = peer.find("deferred_retry_at");
    if (retry != peer.end() && retry->is_string()) {
      reason += " until " + retry->get<std::string>();
    }
    reasons.push_back(std::move(reason));
  }
  if (store_errors > 0) {
    reasons.push_back(std::to_string(store_errors) +
                      " store errors since the start (see the log)");
  }
  const auto counts = status.value("counts", nlohmann::json::object());
  const uint64_t quarantined = counts.value("quarantined", uint64_t{0});
  if (quarantined > 0) {
    reasons.push_back(std::to_string(quarantined) +
                      " indicators waiting in quarantine");
  }
  const auto policy = status.value("policy", nlohmann::json::object());
  const auto error = policy.find("last_error");
  if (error != policy.end() && !error->is_null()) {
    reasons.push_back("policy reload refused (the previous set still runs)");
  }
  return reasons;
}

}  // namespace caravan::daemon
