#include "daemon/node/counts_cache.h"

#include <time.h>

namespace caravan::daemon {

CountsCache::Clock::duration CountsCache::ThreadCpuTime() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::duration_cast<Clock::duration>(
      std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
}

Result<store::Counts> CountsCache::Get(
    uint64_t generation, const std::function<Result<store::Counts>()>& count) {
  const Clock::time_point start = now_();
  {
    std::lock_guard lock(mu_);
    const bool costly = cost_ >= kCacheFrom;
    if (counts_ && (generation_ == generation ||
                    (costly && (counting_ || start - counted_at_ <
                                                 kWindowPerCost * cost_)))) {
      return *counts_;  // a costly count under way elsewhere serves too
    }
    counting_ = true;
  }
  struct Done {  // however count() ends
    CountsCache* cache;
    ~Done() {
      std::lock_guard lock(cache->mu_);
      cache->counting_ = false;
    }
  } done{this};
  const Clock::duration cpu_before = thread_cpu_();
  Result<store::Counts> counts = count();
  const Clock::duration cost = thread_cpu_() - cpu_before;
  if (!counts.ok()) return counts;
  std::lock_guard lock(mu_);
  // Two threads may count at once: the one that started later wins.
  if (!counts_ || start >= counted_at_) {
    counts_ = *counts;
    generation_ = generation;
    counted_at_ = start;
    cost_ = cost;
  }
  return counts;
}

}  // namespace caravan::daemon
