#pragma once
// Metrics computed at scrape time (docs/metrics.md): link states and byte
// totals from the link manager, backlog and sync lag per peer and the
// store's counts. The counters caravand keeps as things happen live in
// daemon/config/metrics.h; this adds what is cheaper to read than to track.
//
// CollectNodeMetrics reads SQLite: call it on the worker pool with a Reader
// of that thread. Pure otherwise (no state), thread-safe.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "daemon/config/metrics.h"
#include "daemon/link/link_manager.h"
#include "daemon/store/reader.h"
#include "protocol/status.h"

namespace caravan::daemon {

// The link states Prometheus sees ("backoff 12s" counts as "backoff").
inline constexpr const char* kLinkStates[] = {"up", "connecting", "backoff",
                                              "down"};

// Families for every peer in `links` (the link manager's view: every roster
// member) plus node-wide gauges. Fails only when the store cannot be read.
Result<std::vector<CollectedFamily>> CollectNodeMetrics(
    store::Reader& reader,
    const std::map<std::string, link::LinkManager::LinkStatus>& links,
    int64_t now, int64_t started_at);

}  // namespace caravan::daemon
