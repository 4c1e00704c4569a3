#include "daemon/sync/hub_delay.h"

#include <algorithm>

namespace caravan::daemon::sync {
namespace {

constexpr int64_t kMinuteMs = 60 * 1000;

// Minutes since the epoch, plus one: a slot whose minute is 0 was never
// written.
int64_t MinuteTag(int64_t at_ms) {
  return std::max<int64_t>(at_ms, 0) / kMinuteMs + 1;
}

}  // namespace

HubDelayBook::HubDelayBook(std::chrono::milliseconds alert) : alert_(alert) {}

HubDelayBook::Observation HubDelayBook::Observe(const std::string& hub,
                                                const std::string& sender,
                                                int64_t sealed_at_ms,
                                                int64_t now_ms) {
  Observation out;
  if (sealed_at_ms <= 0) return out;  // an older sender states no time
  if (sealed_at_ms - now_ms > kMaxSealedClockAhead.count()) {
    out.clock_ahead = true;
    return out;
  }
  out.measured = true;
  // Sealed "after" we opened it, within the skew bound: no delay.
  out.delay_ms = std::max<int64_t>(0, now_ms - sealed_at_ms);
  const bool over = out.delay_ms > alert_.count();

  std::lock_guard lock(mu_);
  const auto key = std::make_pair(hub, sender);
  auto it = pairs_.find(key);
  if (it == pairs_.end()) {
    if (pairs_.size() >= kMaxHubDelayPairs) {
      // Not remembered (bounded memory): still audited when over, without
      // a rate limit of its own, which a roster of that size never needs.
      out.audit_due = over;
      return out;
    }
    it = pairs_.emplace(key, Pair{}).first;
  }
  Pair& p = it->second;
  const int64_t tag = MinuteTag(now_ms);
  const size_t slot = static_cast<size_t>(tag % static_cast<int64_t>(kSlots));
  if (p.minute[slot] != tag) {
    p.minute[slot] = tag;
    p.worst_ms[slot] = -1;
  }
  if (out.delay_ms > p.worst_ms[slot]) {
    p.worst_ms[slot] = out.delay_ms;
    p.worst_at_ms[slot] = now_ms;
  }
  p.last_ms = out.delay_ms;
  p.last_at_ms = now_ms;
  if (!over) return out;
  ++p.over_alert;
  const int64_t every_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(kHubDelayAuditEvery)
          .count();
  if (p.audited_at_ms != 0 && now_ms - p.audited_at_ms < every_ms) {
    ++p.held_back;
    return out;
  }
  out.audit_due = true;
  out.held_back = p.held_back;
  p.held_back = 0;
  p.audited_at_ms = now_ms;
  return out;
}

std::map<std::pair<std::string, std::string>, HubDelayBook::View>
HubDelayBook::Views(int64_t now_ms) const {
  std::map<std::pair<std::string, std::string>, View> out;
  const int64_t newest = MinuteTag(now_ms);
  const int64_t oldest = newest - static_cast<int64_t>(kSlots) + 1;
  std::lock_guard lock(mu_);
  for (const auto& [key, p] : pairs_) {
    View v;
    bool recent = false;
    for (size_t i = 0; i < kSlots; ++i) {
      if (p.minute[i] < oldest || p.minute[i] > newest) continue;
      if (!recent || p.worst_ms[i] > v.worst_recent_ms) {
        v.worst_recent_ms = p.worst_ms[i];
        v.worst_at_ms = p.worst_at_ms[i];
      }
      recent = true;
    }
    if (!recent) continue;
    v.last_ms = p.last_ms;
    v.last_at_ms = p.last_at_ms;
    v.over_alert = p.over_alert;
    out.emplace(key, v);
  }
  return out;
}

}  // namespace caravan::daemon::sync
