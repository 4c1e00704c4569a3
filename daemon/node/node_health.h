#pragma once
// The headline of `caravan status`: "ok", or "degraded" with one short
// reason per problem an operator should look at (docs/cli.md, "Health"):
// a peer down for longer than kPeerDownGraceSeconds, records deferred by
// quota or embargo, indicators waiting in quarantine, a refused policy
// reload, store errors since the start.
//
// Pure function of the status document; thread-safe.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace caravan::daemon {

// A link may be down this long (redials, restarts of either side) before
// it counts against health.
inline constexpr int64_t kPeerDownGraceSeconds = 600;

// The reasons `status` (the document NodeStatus builds: counts, policy,
// peers with link, last_contact, deferred...) is degraded at `now` for a
// daemon started at `started_at`; empty when healthy. `store_errors` is
// the number of failed store operations since the start.
std::vector<std::string> DegradedReasons(const nlohmann::json& status,
                                         int64_t now, int64_t started_at,
                                         uint64_t store_errors);

}  // namespace caravan::daemon
