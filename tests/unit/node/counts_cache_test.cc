#include "daemon/node/counts_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <thread>

namespace caravan::daemon {
namespace {

using std::chrono::milliseconds;

// Clocks that move only when told; counting takes `cost` of both (the
// time and the thread's CPU time).
struct FakeCounting {
  CountsCache::Clock::time_point now{};
  CountsCache::Clock::duration cpu{};
  milliseconds cost{1};
  int counted = 0;
  uint64_t indicators = 0;

  CountsCache Cache() {
    return CountsCache([this] { return now; }, [this] { return cpu; });
  }
  // Count() as the cache's count function.
  std::function<Result<store::Counts>()> Fn() {
    return [this] { return Count(); };
  }
  Result<store::Counts> Count() {
    ++counted;
    now += cost;
    cpu += cost;
    store::Counts c;
    c.indicators = indicators;
    return c;
  }
};

TEST(CountsCache, NothingWrittenSinceIsNotCountedAgain) {
  FakeCounting f;
  f.cost = milliseconds(400);
  CountsCache cache = f.Cache();
  auto count = f.Fn();
  f.indicators = 7;
  EXPECT_EQ(cache.Get(3, count)->indicators, 7u);
  f.now += std::chrono::hours(1);
  f.indicators = 8;  // not committed: the generation is the same
  EXPECT_EQ(cache.Get(3, count)->indicators, 7u);
  EXPECT_EQ(f.counted, 1);
}

TEST(CountsCache, ACheapCountIsTakenAtEveryWrite) {
  FakeCounting f;
  f.cost = milliseconds(1);
  CountsCache cache = f.Cache();
  auto count = f.Fn();
  for (uint64_t gen = 1; gen <= 5; ++gen) {
    f.indicators = gen * 10;
    EXPECT_EQ(cache.Get(gen, count)->indicators, gen * 10);
  }
  EXPECT_EQ(f.counted, 5);
}

// Only CPU time counts as cost: a count descheduled for long is not
// taken for a costly one.
TEST(CountsCache, TimeWaitedForTheCpuIsNotCost) {
  FakeCounting f;
  f.cost = milliseconds(2);
  CountsCache cache = f.Cache();
  auto slow_wall = [&] {
    f.now += milliseconds(500);  // preempted
    return f.Count();
  };
  f.indicators = 1;
  EXPECT_EQ(cache.Get(1, slow_wall)->indicators, 1u);
  f.indicators = 2;
  EXPECT_EQ(cache.Get(2, slow_wall)->indicators, 2u);
  EXPECT_EQ(f.counted, 2);
}

TEST(CountsCache, ACostlyCountIsReusedForTenTimesItsCost) {
  FakeCounting f;
  f.cost = milliseconds(50);
  CountsCache cache = f.Cache();
  auto count = f.Fn();
  f.indicators = 1;
  EXPECT_EQ(cache.Get(1, count)->indicators, 1u);  // counted at 0..50 ms
  f.indicators = 2;
  f.now += milliseconds(300);  // 350 ms after the count began
  EXPECT_EQ(cache.Get(2, count)->indicators, 1u);
  EXPECT_EQ(f.counted, 1);
  f.now += milliseconds(150);  // 500 ms: the window is over
  EXPECT_EQ(cache.Get(2, count)->indicators, 2u);
  EXPECT_EQ(f.counted, 2);
  // The same generation again: kept, however late.
  f.now += std::chrono::hours(1);
  EXPECT_EQ(cache.Get(2, count)->indicators, 2u);
  EXPECT_EQ(f.counted, 2);
}

TEST(CountsCache, AFailedCountIsReturnedAndNotKept) {
  FakeCounting f;
  CountsCache cache = f.Cache();
  int calls = 0;
  auto failing = [&]() -> Result<store::Counts> {
    ++calls;
    return Unavailable("store not readable");
  };
  auto r = cache.Get(1, failing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  f.indicators = 4;
  EXPECT_EQ(cache.Get(1, f.Fn())->indicators, 4u);
  EXPECT_EQ(calls, 1);
}

// On a costly store, a caller arriving while another thread counts takes
// the last counts instead of counting too.
TEST(CountsCache, ACostlyCountIsTakenByOneThreadAtATime) {
  std::atomic<int64_t> now_ms{0}, cpu_ms{0};
  CountsCache cache(
      [&] { return CountsCache::Clock::time_point(milliseconds(now_ms)); },
      [&] { return CountsCache::Clock::duration(milliseconds(cpu_ms)); });
  std::atomic<int> counted{0};
  auto costly = [&](uint64_t indicators) {
    return [&, indicators]() -> Result<store::Counts> {
      ++counted;
      cpu_ms += 50;
      store::Counts c;
      c.indicators = indicators;
      return c;
    };
  };
  ASSERT_EQ(cache.Get(1, costly(1))->indicators, 1u);
  now_ms += 10'000;  // the window is long over
  std::promise<void> entered, release;
  std::thread counting([&] {
    auto r = cache.Get(2, [&]() -> Result<store::Counts> {
      entered.set_value();
      release.get_future().wait();
      return costly(2)();
    });
    EXPECT_EQ(r->indicators, 2u);
  });
  entered.get_future().wait();
  EXPECT_EQ(cache.Get(2, costly(3))->indicators, 1u);  // the last counts
  release.set_value();
  counting.join();
  EXPECT_EQ(counted.load(), 2);
  EXPECT_EQ(cache.Get(2, costly(4))->indicators, 2u);  // kept for gen 2
}

}  // namespace
}  // namespace caravan::daemon
