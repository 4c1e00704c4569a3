#pragma once
// Backoff: the delays between dial attempts to one peer. Exponential from
// `initial`, doubling up to `max`, each delay jittered by up to ±20%
// (libsodium randombytes_uniform) so that nodes restarted together do not
// redial in lockstep. Reset() after a successful link.
//
// A plain value; one per dialer; not thread-safe.

#include <chrono>
#include <cstdint>

namespace caravan::daemon::link {

// `base` scaled by (800 + permille) / 1000, with permille in [0, 400]:
// 80%..120% of base. Exposed for tests.
std::chrono::milliseconds ApplyJitter(std::chrono::milliseconds base, uint32_t permille);

class Backoff {
 public:
  Backoff(std::chrono::seconds initial, std::chrono::seconds max);

  // The next delay (jittered), then doubles the base up to max.
  std::chrono::milliseconds Next();
  // Back to `initial` (after a successful link).
  void Reset() { base_ = initial_; }
  // The un-jittered delay Next() will start from.
  std::chrono::milliseconds base() const { return base_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  std::chrono::milliseconds base_;
};

}  // namespace caravan::daemon::link
