#pragma once
// FailureTally: counts failures an unauthenticated party causes (failed
// link handshakes, failed TAXII logins) per source, so that a flood costs
// one log line when it starts and one summary per source and interval, not
// one line and one audit row per attempt. An attacker controls how often
// failures happen, never how much the log or the store grows.
//
// Memory is bounded: at most `max_sources` sources are tracked at once,
// each with at most `max_reasons` distinct reasons; failures beyond that
// are folded into the source kOtherSources / the reason kOtherReasons.
//
// Time is passed in (steady clock) so tests need not sleep. The owner
// calls TakeDue periodically (e.g. every second) and logs or audits what it
// returns. Thread-safety: none; use from one thread (an io thread).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace caravan::daemon::net {

class FailureTally {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::string_view kOtherSources = "(other sources)";
  static constexpr std::string_view kOtherReasons = "(other reasons)";

  struct Options {
    // Length of one summary window, from a source's first failure in it.
    std::chrono::milliseconds interval{std::chrono::seconds(60)};
    size_t max_sources = 1024;  // >= 1
    size_t max_reasons = 8;     // per source, >= 1
  };

  // What one source did during one window.
  struct Summary {
    std::string source;
    uint64_t count = 0;                       // failures in the window
    std::map<std::string, uint64_t> reasons;  // count per reason
    Clock::time_point first;                  // window start
    Clock::time_point last;                   // latest failure
  };

  explicit FailureTally(Options options);

  // Counts one failure of `source` for `reason` at `now`. Returns true when
  // it opened a new window for that source (the caller may log that one
  // failure at once; the rest of the window comes as a Summary).
  bool Record(std::string_view source, std::string_view reason,
              Clock::time_point now);

  // Removes and returns the windows that have run their interval by `now`,
  // oldest first.
  std::vector<Summary> TakeDue(Clock::time_point now);
  // Removes and returns every open window (at shutdown).
  std::vector<Summary> TakeAll();

  size_t open_windows() const { return open_.size(); }
  uint64_t total() const { return total_; }  // failures ever recorded

 private:
  Options options_;
  std::map<std::string, Summary, std::less<>> open_;
  uint64_t total_ = 0;
};

// "3 failures (bad handshake: 2, timeout: 1)": a summary for a log line or
// an audit detail.
std::string DescribeFailures(const FailureTally::Summary& summary);

}  // namespace caravan::daemon::net
