#include "daemon/node/metrics_collect.h"

#include <algorithm>

namespace caravan::daemon {
namespace {

CollectedFamily Gauge(std::string name, std::string help,
                      std::vector<std::string> labels = {}) {
  return {std::move(name), std::move(help), MetricType::kGauge,
          std::move(labels), {}};
}

CollectedFamily PeerCounter(std::string name, std::string help) {
  return {std::move(name), std::move(help), MetricType::kCounter, {"peer"}, {}};
}

std::string StateName(const std::string& state) {
  // LinkManager says "backoff 12s"; the countdown is not a label value.
  for (const char* s : kLinkStates) {
    if (state.rfind(s, 0) == 0) return s;
  }
  return "down";
}

}  // namespace

Result<std::vector<CollectedFamily>> CollectNodeMetrics(
    store::Reader& reader,
    const std::map<std::string, link::LinkManager::LinkStatus>& links,
    int64_t now, int64_t started_at) {
  auto counts = reader.GetCounts();
  if (!counts.ok()) return counts.status();

  auto state = Gauge("caravan_link_state",
                     "1 for the state each peer's link is in, 0 for the "
                     "others (up, connecting, backoff, down).",
                     {"peer", "state"});
  auto up = Gauge("caravan_link_up", "1 when the link to the peer is up.",
                  {"peer"});
  auto sent = PeerCounter("caravan_link_bytes_sent_total",
                          "Bytes sent to the peer since caravand started, "
                          "handshakes and keepalives included.");
  auto received = PeerCounter("caravan_link_bytes_received_total",
                              "Bytes received from the peer since caravand "
                              "started, handshakes and keepalives included.");
  auto contact = Gauge("caravan_peer_last_contact_timestamp_seconds",
                       "Unix time of the last bytes received from the peer "
                       "since caravand started (0: none).",
                       {"peer"});
  auto backlog = Gauge("caravan_peer_backlog_records",
                       "Log entries the peer has not acknowledged yet "
                       "(log_seq - acked_seq).",
                       {"peer"});
  auto lag = Gauge("caravan_peer_sync_lag_seconds",
                   "Seconds since the oldest log entry the peer has not "
                   "acknowledged was stored (0: nothing pending).",
                   {"peer"});
  for (const auto& [peer, status] : links) {
    const std::string current = StateName(status.state);
    for (const char* s : kLinkStates) {
      state.samples.push_back({{peer, s}, current == s ? 1.0 : 0.0});
    }
    up.samples.push_back({{peer}, current == "up" ? 1.0 : 0.0});
    sent.samples.push_back({{peer}, static_cast<double>(status.bytes_sent)});
    received.samples.push_back(
        {{peer}, static_cast<double>(status.bytes_received)});
    contact.samples.push_back(
        {{peer}, static_cast<double>(status.last_contact)});

    auto ps = reader.GetPeerState(peer);
    if (!ps.ok()) return ps.status();
    const uint64_t pending = counts->last_log_seq > ps->acked_seq
                                 ? counts->last_log_seq - ps->acked_seq
                                 : 0;
    backlog.samples.push_back({{peer}, static_cast<double>(pending)});
    double lag_seconds = 0;
    if (pending > 0) {
      auto oldest = reader.LogRange(ps->acked_seq, 1);
      if (!oldest.ok()) return oldest.status();
      if (!oldest->empty()) {
        lag_seconds = static_cast<double>(
            std::max<int64_t>(0, now - oldest->front().stored_at));
      }
    }
    lag.samples.push_back({{peer}, lag_seconds});
  }

  std::vector<CollectedFamily> out;
  auto one = [&out](std::string name, std::string help, double v) {
    auto g = Gauge(std::move(name), std::move(help));
    g.samples.push_back({{}, v});
    out.push_back(std::move(g));
  };
  one("caravan_indicators", "Indicators held (current views, revoked and "
      "quarantined included).", static_cast<double>(counts->indicators));
  one("caravan_indicators_quarantined",
      "Received indicators held for operator review.",
      static_cast<double>(counts->quarantined));
  one("caravan_records", "Signed records held (every revision and variant).",
      static_cast<double>(counts->records));
  one("caravan_log_seq", "Highest local log sequence number.",
      static_cast<double>(counts->last_log_seq));
  one("caravan_start_time_seconds", "Unix time caravand started.",
      static_cast<double>(started_at));
  for (auto* f : {&state, &up, &sent, &received, &contact, &backlog, &lag}) {
    out.push_back(std::move(*f));
  }
  return out;
}

}  // namespace caravan::daemon
