#pragma once
// LoginThrottle: slows down password guessing against the TAXII server.
// Failed logins are counted per key (the server keeps one throttle keyed
// by source address and one keyed by account name). After
// `failures_before_delay` failures, a key is locked for `base_delay`,
// doubling with each further failure up to `max_delay`; while locked, the
// server answers 429 with Retry-After without running Argon2. A success
// clears the key. A key whose last failure is `forget_after` old is
// forgotten.
//
// Memory is bounded: at most `max_keys` keys are tracked; when full, the
// key with the oldest last failure is evicted (an attacker with many
// sources can push out old entries, but each new one starts counting at
// once, so the guessing rate per source stays limited).
//
// Time is passed in (steady clock) so tests need not sleep.
// Thread-safety: none; the server uses it on its io thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace caravan::feeds {

class LoginThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    uint32_t failures_before_delay = 5;  // >= 1
    std::chrono::milliseconds base_delay{std::chrono::seconds(1)};
    std::chrono::milliseconds max_delay{std::chrono::seconds(60)};
    std::chrono::milliseconds forget_after{std::chrono::minutes(15)};
    size_t max_keys = 4096;  // >= 1
  };

  explicit LoginThrottle(Options options);

  // How long `key` must still wait before its next attempt is checked;
  // zero when it may try now.
  Clock::duration RetryAfter(std::string_view key, Clock::time_point now);
  // Counts one failed login for `key`.
  void RecordFailure(std::string_view key, Clock::time_point now);
  // Clears `key` (a successful login).
  void RecordSuccess(std::string_view key);

  size_t tracked() const { return entries_.size(); }

 private:
  struct Entry {
    uint32_t failures = 0;
    Clock::time_point last_failure;
  };
  // The delay after `failures` failures (zero below the threshold).
  Clock::duration DelayFor(uint32_t failures) const;
  void EvictOldest();

  Options options_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace caravan::feeds
