#pragma once
// RefusalEpisodes: summarises roster refusals (docs/wire.md 4.4) per key
// into episodes, so that a peer refused again and again costs one audit
// entry when the episode starts, then one "still refused N times since T"
// entry at most every `report_every` and one when the episode ends (the
// link came up, or no refusal for `idle_end`). The dialer keys episodes by
// member name, the listener by source address.
//
// Memory is bounded: at most `max_episodes` are open at once (refusals of
// further keys are folded into the episode kOtherKeys), each keeping at
// most `max_details` distinct detail strings of at most kMaxDetailBytes.
//
// Time is passed in (steady clock for the schedule, unix seconds for what
// is shown), so tests need not sleep. Thread-safety: none; one thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace caravan::daemon::link {

class RefusalEpisodes {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::string_view kOtherKeys = "(other)";
  static constexpr size_t kMaxDetailBytes = 128;

  struct Options {
    // An open episode with unreported refusals is reported this often.
    std::chrono::seconds report_every{3600};
    // An episode with no refusal for this long has ended.
    std::chrono::seconds idle_end{900};
    size_t max_episodes = 256;  // >= 1
    size_t max_details = 4;     // per episode
  };

  // One episode as reported.
  struct Report {
    std::string key;
    uint64_t count = 0;           // refusals since the episode started
    uint64_t since_last_report = 0;
    int64_t first_unix = 0;       // when the episode started
    int64_t last_unix = 0;        // the latest refusal
    std::vector<std::string> details;  // distinct, in arrival order
    bool ended = false;           // the episode is over (and forgotten)
  };

  explicit RefusalEpisodes(Options options);

  // Counts one refusal of `key`. True when it opened an episode: report
  // that refusal now; the rest come from TakeDue/End.
  bool Record(std::string_view key, std::string_view detail, Clock::time_point now,
              int64_t unix_now);

  // Ends `key`'s episode (the link came up, the member went away): its
  // report when refusals came after the last report, else nullopt. The
  // episode is forgotten either way.
  std::optional<Report> End(std::string_view key);

  // Reports due at `now`: episodes idle for idle_end (ended, forgotten)
  // and episodes whose unreported refusals are report_every old (still
  // open; their clock restarts).
  std::vector<Report> TakeDue(Clock::time_point now);
  // Ends every episode (shutdown): reports of those with unreported
  // refusals.
  std::vector<Report> TakeAll();

  // The open episode of `key`, if any (for status).
  std::optional<Report> Peek(std::string_view key) const;
  size_t open_episodes() const { return open_.size(); }

 private:
  struct Episode {
    Report report;
    Clock::time_point last;         // latest refusal
    Clock::time_point last_report;  // when it was last reported
  };
  Options options_;
  std::map<std::string, Episode, std::less<>> open_;
};

// "refused 12 times since 2026-12-05T20:13:26Z": for a log line or an
// audit detail.
std::string DescribeEpisode(const RefusalEpisodes::Report& report);

}  // namespace caravan::daemon::link
