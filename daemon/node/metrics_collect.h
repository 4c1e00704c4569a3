#pragma once
// Metrics computed at scrape time (docs/metrics.md): link states and byte
// totals from the link manager, backlog and sync lag per peer and the
// store's counts. The counters caravand keeps as things happen live in
// daemon/observe/metrics.h; this adds what is cheaper to read than to track.
//
// CollectNodeMetrics reads SQLite: call it on the worker pool with a Reader
// of that thread. Pure otherwise (no state), thread-safe.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "daemon/observe/metrics.h"
#include "daemon/link/link_manager.h"
#include "daemon/store/reader.h"
#include "protocol/config/roster_file.h"
#include "protocol/status.h"

namespace caravan::daemon {

// The link states Prometheus sees ("backoff 12s" counts as "backoff").
inline constexpr const char* kLinkStates[] = {"up", "connecting", "backoff",
                                              "down"};

// Families for every peer in `links` (the link manager's view: every roster
// member) plus node-wide gauges. Fails only when the store cannot be read.
// `counts`: the store's (Node::StoreCounts).
Result<std::vector<CollectedFamily>> CollectNodeMetrics(
    store::Reader& reader, const store::Counts& counts,
    const std::map<std::string, link::LinkManager::LinkStatus>& links,
    int64_t now, int64_t started_at);

// Hub mode ([hub] enabled, docs/metrics.md "Hub"): for every member of
// `roster`, the envelopes and bytes queued for it here (0 when nothing is,
// so the label set is the roster's names; a queue for a key no longer in
// the roster is reported as recipient "other"), and the hub's totals from
// the store: envelopes and bytes stored and forwarded, envelopes refused
// by reason (every reason, 0 included). Reads the index and hub_counters
// only. Fails only when the store cannot be read.
Result<std::vector<CollectedFamily>> CollectHubMetrics(
    store::Reader& reader, const std::vector<protocol::RosterMember>& roster);

// Hub accountability, on every node with members reached via a hub: the
// faults in their chains to us and our sealed batches awaiting receipts
// (docs/metrics.md "Hub accountability").
Result<std::vector<CollectedFamily>> CollectSealedChainMetrics(
    store::Reader& reader, const std::vector<protocol::RosterMember>& roster);

}  // namespace caravan::daemon
