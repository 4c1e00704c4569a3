#pragma once
// What `caravan peers list` and `caravan status` say of the delays sealed
// envelopes took through a hub (hub accountability, docs/federation.md
// "Delay"; measured by daemon/sync/hub_delay.h).

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "daemon/sync/hub_delay.h"

namespace caravan::daemon {

// One (hub, sender) pair's view: "worst_recent_seconds", "worst_at",
// "last_seconds", "last_at" (RFC 3339) and "over_alert" (delays past
// [hub] delay_alert since start).
nlohmann::json HubDelayJson(const sync::HubDelayBook::View& view);

// Per hub, the worst recent delay over all its senders, as a list of
// {"hub", "sender", "worst_recent_seconds", "worst_at", "over_alert"}
// sorted by hub name (over_alert summed over the hub's senders).
nlohmann::json HubDelaysByHubJson(
    const std::map<std::pair<std::string, std::string>,
                   sync::HubDelayBook::View>& views);

}  // namespace caravan::daemon
