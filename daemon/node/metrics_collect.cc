#include "daemon/node/metrics_collect.h"

#include <algorithm>
#include <map>
#include <string_view>

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
    store::Reader& reader, const store::Counts& counts,
    const std::map<std::string, link::LinkManager::LinkStatus>& links,
    int64_t now, int64_t started_at) {
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
  // Link compression (docs/wire.md 4.3): plain / carried is the ratio.
  CollectedFamily app_plain{
      "caravan_link_message_bytes_total",
      "Application message bytes exchanged with the peer since caravand "
      "started, as Cap'n Proto before compression (sent) or after "
      "decompression (received).",
      MetricType::kCounter, {"peer", "direction"}, {}};
  CollectedFamily app_carried{
      "caravan_link_message_carried_bytes_total",
      "The same messages' bytes as carried on the link, compressed where "
      "the link compresses (framing and encryption not included).",
      MetricType::kCounter, {"peer", "direction"}, {}};
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
    app_plain.samples.push_back(
        {{peer, "sent"}, static_cast<double>(status.app_sent_plain)});
    app_plain.samples.push_back(
        {{peer, "received"}, static_cast<double>(status.app_received_plain)});
    app_carried.samples.push_back(
        {{peer, "sent"}, static_cast<double>(status.app_sent_carried)});
    app_carried.samples.push_back(
        {{peer, "received"},
         static_cast<double>(status.app_received_carried)});

    auto ps = reader.GetPeerState(peer);
    if (!ps.ok()) return ps.status();
    const uint64_t pending = counts.last_log_seq > ps->acked_seq
                                 ? counts.last_log_seq - ps->acked_seq
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
  one("caravan_indicators",
      "Indicators held (current views, revoked and "
      "quarantined included).",
      static_cast<double>(counts.indicators));
  one("caravan_indicators_quarantined",
      "Received indicators held for operator review.",
      static_cast<double>(counts.quarantined));
  auto pending = reader.PendingNoticeCount();
  if (!pending.ok()) return pending.status();
  one("caravan_compromise_notices_pending",
      "Compromise notices this node issued that wait for a peer's link to "
      "confirm them (one per notice and peer).",
      static_cast<double>(*pending));
  one("caravan_records", "Signed records held (every revision and variant).",
      static_cast<double>(counts.records));
  one("caravan_log_seq", "Highest local log sequence number.",
      static_cast<double>(counts.last_log_seq));
  one("caravan_start_time_seconds", "Unix time caravand started.",
      static_cast<double>(started_at));
  for (auto* f : {&state, &up, &sent, &received, &app_plain, &app_carried,
                  &contact, &backlog, &lag}) {
    out.push_back(std::move(*f));
  }
  return out;
}

Result<std::vector<CollectedFamily>> CollectHubMetrics(
    store::Reader& reader, const std::vector<protocol::RosterMember>& roster) {
  auto depths = reader.HubQueueDepths();
  if (!depths.ok()) return depths.status();
  auto counters = reader.HubCounters();
  if (!counters.ok()) return counters.status();

  auto envelopes = Gauge("caravan_hub_queued_envelopes",
                         "Sealed envelopes this hub holds for the member, "
                         "waiting for it to acknowledge them.",
                         {"recipient"});
  auto bytes = Gauge("caravan_hub_queued_bytes",
                     "Bytes of the sealed envelopes this hub holds for the "
                     "member.",
                     {"recipient"});
  std::map<protocol::PublicKey, const store::HubDepth*> by_key;
  for (const auto& d : *depths) by_key[d.recipient_key] = &d;
  for (const auto& m : roster) {
    auto it = by_key.find(m.key);
    const store::HubDepth* d = it == by_key.end() ? nullptr : it->second;
    envelopes.samples.push_back(
        {{m.name}, d ? static_cast<double>(d->envelopes) : 0.0});
    bytes.samples.push_back({{m.name}, d ? static_cast<double>(d->bytes) : 0.0});
    if (d != nullptr) by_key.erase(it);
  }
  if (!by_key.empty()) {
    // Queued for members since removed from the roster: one label value,
    // so the set stays bounded by the roster.
    double n = 0, b = 0;
    for (const auto& [key, d] : by_key) {
      n += static_cast<double>(d->envelopes);
      b += static_cast<double>(d->bytes);
    }
    envelopes.samples.push_back({{std::string(kOverflowLabel)}, n});
    bytes.samples.push_back({{std::string(kOverflowLabel)}, b});
  }

  auto total = [&](std::string_view event, std::string_view reason,
                   bool want_bytes) {
    for (const auto& c : *counters) {
      if (c.event == event && c.reason == reason) {
        return static_cast<double>(want_bytes ? c.bytes : c.envelopes);
      }
    }
    return 0.0;
  };
  std::vector<CollectedFamily> out;
  auto counter = [&](std::string name, std::string help, double v) {
    CollectedFamily f{std::move(name), std::move(help), MetricType::kCounter,
                      {}, {}};
    f.samples.push_back({{}, v});
    out.push_back(std::move(f));
  };
  counter("caravan_hub_envelopes_stored_total",
          "Sealed envelopes this hub queued (resends of a queued envelope "
          "not counted), since the store was created.",
          total("stored", "", false));
  counter("caravan_hub_stored_bytes_total",
          "Bytes of the sealed envelopes this hub queued.",
          total("stored", "", true));
  counter("caravan_hub_envelopes_forwarded_total",
          "Sealed envelopes this hub forwarded and deleted after their "
          "recipient acknowledged them.",
          total("forwarded", "", false));
  counter("caravan_hub_forwarded_bytes_total",
          "Bytes of the sealed envelopes this hub forwarded.",
          total("forwarded", "", true));
  CollectedFamily refused{"caravan_hub_envelopes_refused_total",
                          "Sealed envelopes this hub refused, by reason "
                          "(each audited as hub_refuse).",
                          MetricType::kCounter,
                          {"reason"},
                          {}};
  for (std::string_view reason :
       {store::kHubRefusedQueueFull, store::kHubRefusedUnknownRecipient,
        store::kHubRefusedNotHub}) {
    refused.samples.push_back(
        {{std::string(reason)}, total("refused", reason, false)});
  }
  out.push_back(std::move(refused));
  out.push_back(std::move(envelopes));
  out.push_back(std::move(bytes));
  return out;
}

Result<std::vector<CollectedFamily>> CollectSealedChainMetrics(
    store::Reader& reader, const std::vector<protocol::RosterMember>& roster) {
  auto chains = reader.SealedChainsIn();
  if (!chains.ok()) return chains.status();
  auto outbox = reader.SealedOutboxCounts();
  if (!outbox.ok()) return outbox.status();
  CollectedFamily faults{"caravan_hub_chain_faults_total",
                         "Faults in a member's chain of sealed envelopes to "
                         "us, by the hub it comes through and kind (gap: "
                         "came before a missing one; duplicate: a replay; "
                         "refused: failed our checks; broken: not chained "
                         "to what we applied). Each is audited.",
                         MetricType::kCounter,
                         {"sender", "hub", "kind"},
                         {}};
  auto last_fault = Gauge("caravan_hub_chain_last_fault_timestamp_seconds",
                          "Unix time of the last fault in the member's chain "
                          "to us (0: none).",
                          {"sender", "hub"});
  auto at_hub = Gauge("caravan_sealed_queued_at_hub",
                      "Our sealed batches for the member that its hub "
                      "acknowledged holding and the member has not "
                      "receipted yet.",
                      {"recipient"});
  auto unreceipted = Gauge("caravan_sealed_awaiting_receipt",
                           "Our sealed batches for the member not yet "
                           "receipted by it (kept, and sent again after "
                           "[hub] resend_after).",
                           {"recipient"});
  for (const auto& m : roster) {
    if (m.via.empty()) continue;
    const store::SealedChainIn* c = nullptr;
    for (const auto& one : *chains) {
      if (one.sender_key == m.key) c = &one;
    }
    const std::pair<std::string_view, uint64_t> kinds[] = {
        {store::kChainGap, c ? c->gaps : 0},
        {store::kChainDuplicate, c ? c->duplicates : 0},
        {store::kChainRefused, c ? c->refused : 0},
        {store::kChainBroken, c ? c->broken : 0}};
    for (const auto& [kind, n] : kinds) {
      faults.samples.push_back(
          {{m.name, m.via, std::string(kind)}, static_cast<double>(n)});
    }
    last_fault.samples.push_back(
        {{m.name, m.via}, c ? static_cast<double>(c->last_fault_at) : 0.0});
    double held = 0, waiting = 0;
    for (const auto& o : *outbox) {
      if (o.recipient_key != m.key) continue;
      held = static_cast<double>(o.queued_at_hub);
      waiting = static_cast<double>(o.awaiting_receipt);
    }
    at_hub.samples.push_back({{m.name}, held});
    unreceipted.samples.push_back({{m.name}, waiting});
  }
  std::vector<CollectedFamily> out;
  out.push_back(std::move(faults));
  out.push_back(std::move(last_fault));
  out.push_back(std::move(at_hub));
  out.push_back(std::move(unreceipted));
  return out;
}

}  // namespace caravan::daemon
