#pragma once
// CountsCache: the store's counts for `caravan status` and /metrics,
// counted again only when the store changed, and on a large store at most
// once per ten times what counting costs. Counting walks indexes linear in
// the store (~45 ms at 1M indicators, about ten times that at 10M), so a
// status or metrics poll every fraction of a second would take a core from
// the daemon (a benchmark polling `status` every 0.2 s during a catch-up
// took a fifth of one at 1M). While writes go on the counts may lag by that
// window (about 0.5 s at 1M, 5 s at 10M). The cost is the counting
// thread's CPU time, so a count merely descheduled on a busy machine is not
// taken for a costly one: a store counted in under 20 ms of CPU (every
// store of the test suite) is counted again after every write, and no
// store more often than that. Node::StoreCounts reads the log position
// fresh each time.
//
// Thread-safety: any thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>

#include "daemon/store/store_types.h"
#include "protocol/status.h"

namespace caravan::daemon {

class CountsCache {
 public:
  using Clock = std::chrono::steady_clock;
  // Counting costing less CPU than this is never reused across writes.
  static constexpr Clock::duration kCacheFrom = std::chrono::milliseconds(20);
  // A count is reused across writes for this many times its CPU time.
  static constexpr int kWindowPerCost = 10;

  // `now`: the time; `thread_cpu`: the calling thread's CPU time so far.
  explicit CountsCache(
      std::function<Clock::time_point()> now = Clock::now,
      std::function<Clock::duration()> thread_cpu = ThreadCpuTime)
      : now_(std::move(now)), thread_cpu_(std::move(thread_cpu)) {}

  // The counts of the store at write generation `generation`
  // (Store::writes_committed(), read before calling): the last ones when
  // nothing was committed since, or when counting again would be within
  // the window, or while another thread recounts a costly store; else
  // `count()`'s. Errors of `count` are returned, not kept.
  Result<store::Counts> Get(
      uint64_t generation, const std::function<Result<store::Counts>()>& count);

 private:
  static Clock::duration ThreadCpuTime();

  std::function<Clock::time_point()> now_;
  std::function<Clock::duration()> thread_cpu_;
  std::mutex mu_;
  std::optional<store::Counts> counts_;  // by mu_, with the three below
  uint64_t generation_ = 0;
  Clock::time_point counted_at_{};
  Clock::duration cost_{};
  // A count is under way: on a costly store other callers take the last
  // counts meanwhile rather than count too.
  bool counting_ = false;
};

}  // namespace caravan::daemon
