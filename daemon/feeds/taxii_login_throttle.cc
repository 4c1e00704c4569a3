#include "daemon/feeds/taxii_login_throttle.h"

#include <algorithm>

namespace caravan::feeds {

LoginThrottle::LoginThrottle(Options options) : options_(options) {
  options_.failures_before_delay =
      std::max<uint32_t>(1, options_.failures_before_delay);
  options_.max_keys = std::max<size_t>(1, options_.max_keys);
  options_.max_delay = std::max(options_.max_delay, options_.base_delay);
}

LoginThrottle::Clock::duration LoginThrottle::DelayFor(
    uint32_t failures) const {
  if (failures < options_.failures_before_delay) return Clock::duration::zero();
  // base * 2^(excess), computed without overflow: stop doubling at max.
  const uint32_t excess = failures - options_.failures_before_delay;
  Clock::duration delay = options_.base_delay;
  for (uint32_t i = 0; i < excess && delay < options_.max_delay; ++i) {
    delay *= 2;
  }
  return std::min<Clock::duration>(delay, options_.max_delay);
}

LoginThrottle::Clock::duration LoginThrottle::RetryAfter(
    std::string_view key, Clock::time_point now) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return Clock::duration::zero();
  if (now - it->second.last_failure >= options_.forget_after) {
    entries_.erase(it);
    return Clock::duration::zero();
  }
  const Clock::time_point free_at =
      it->second.last_failure + DelayFor(it->second.failures);
  return free_at > now ? free_at - now : Clock::duration::zero();
}

void LoginThrottle::RecordFailure(std::string_view key, Clock::time_point now) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= options_.max_keys) EvictOldest();
    it = entries_.emplace(std::string(key), Entry{}).first;
  } else if (now - it->second.last_failure >= options_.forget_after) {
    it->second = Entry{};
  }
  if (it->second.failures < UINT32_MAX) ++it->second.failures;
  it->second.last_failure = now;
}

void LoginThrottle::RecordSuccess(std::string_view key) {
  auto it = entries_.find(key);
  if (it != entries_.end()) entries_.erase(it);
}

void LoginThrottle::EvictOldest() {
  auto oldest = entries_.begin();
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->second.last_failure < oldest->second.last_failure) oldest = it;
  }
  if (oldest != entries_.end()) entries_.erase(oldest);
}

}  // namespace caravan::feeds
