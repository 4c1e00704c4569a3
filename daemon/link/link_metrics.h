#pragma once
// The link manager's pre-authentication counters as Prometheus families
// (docs/metrics.md): failed and refused handshakes by reason, and the
// inbound handshakes in progress. Pure; thread-safe.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "daemon/observe/metrics.h"

namespace caravan::daemon::link {

// caravan_link_handshake_failures_total{reason} (every reason in
// `by_reason`, LinkManager::PreauthFailures) and
// caravan_link_handshakes_in_progress.
std::vector<CollectedFamily> PreauthMetrics(
    const std::map<std::string, uint64_t>& by_reason, size_t in_progress);

// caravan_link_roster_refusals_total{direction="received"|"sent",reason}
// (LinkManager::RefusalsReceived/RefusalsSent; docs/wire.md 4.4). Always
// has the not_on_roster samples, 0 until the first refusal.
CollectedFamily RefusalMetrics(const std::map<std::string, uint64_t>& received,
                               const std::map<std::string, uint64_t>& sent);

}  // namespace caravan::daemon::link
