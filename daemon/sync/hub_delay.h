#pragma once
// Hub delay (hub accountability, docs/federation.md "Delay"): how long the
// sealed envelopes of each sender took through each hub, from their
// sealing to their opening here.
//
// The sealing time is stated by the sender inside the signed ciphertext
// (SealedInner.sealedAtMs), so a hub can neither read it nor make an
// envelope look fresher than it is; what it can do is hold the envelope,
// and that is what this measures. The two ends' clocks differ: a sealing
// time up to kMaxSealedClockAhead ahead of ours counts as no delay (0 s);
// one further ahead is not measured at all (the sender's clock is wrong,
// and the caller logs it). So every delay is accurate to the two clocks'
// skew, which NTP keeps well below [hub] delay_alert's 1 s minimum.
//
// The book keeps, per (hub, sender), the worst delay of the last
// kHubDelayRecentWindow (in one-minute slots: bounded memory), the last
// delay, and when a delay over the alert threshold may be audited again
// (at most one `hub_delay` entry per pair per kHubDelayAuditEvery; the
// ones held back meanwhile are counted into the next). At most
// kMaxHubDelayPairs pairs are kept; further pairs are measured but not
// remembered.
//
// Thread-safe: one mutex (Observe on the io thread, Views from control).

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace caravan::daemon::sync {

inline constexpr std::chrono::milliseconds kMaxSealedClockAhead =
    std::chrono::minutes(5);
inline constexpr std::chrono::minutes kHubDelayRecentWindow{60};
inline constexpr std::chrono::seconds kHubDelayAuditEvery{60};
inline constexpr size_t kMaxHubDelayPairs = 1024;

class HubDelayBook {
 public:
  // `alert`: a delay longer than this is due for a `hub_delay` audit.
  explicit HubDelayBook(std::chrono::milliseconds alert);

  struct Observation {
    // False when the envelope states no sealing time, or one more than
    // kMaxSealedClockAhead ahead of `now_ms` (clock_ahead).
    bool measured = false;
    bool clock_ahead = false;
    int64_t delay_ms = 0;  // >= 0 when measured
    // Over the threshold and the pair's audit interval has passed: write
    // one `hub_delay` entry now, naming `held_back` more over-threshold
    // delays since the last entry that were not audited.
    bool audit_due = false;
    uint64_t held_back = 0;
  };
  // One envelope of `sender` opened at `now_ms` (Unix ms, our clock),
  // sealed at `sealed_at_ms` (the sender's; 0: not stated).
  Observation Observe(const std::string& hub, const std::string& sender,
                      int64_t sealed_at_ms, int64_t now_ms);

  struct View {
    int64_t worst_recent_ms = 0;  // the worst in the recent window
    int64_t worst_at_ms = 0;      // when that one was opened
    int64_t last_ms = 0;          // the most recent delay
    int64_t last_at_ms = 0;       // when it was opened; 0: none recent
    uint64_t over_alert = 0;      // delays over the threshold since start
  };
  // Per (hub, sender) with a delay in the recent window at `now_ms`.
  std::map<std::pair<std::string, std::string>, View> Views(
      int64_t now_ms) const;

  std::chrono::milliseconds alert() const { return alert_; }

 private:
  static constexpr size_t kSlots = kHubDelayRecentWindow.count();
  struct Pair {
    // Slot i holds the worst delay opened in minute m with m % kSlots == i
    // (minute[i] says which m, so stale slots are ignored).
    std::array<int64_t, kSlots> worst_ms{};
    std::array<int64_t, kSlots> worst_at_ms{};
    std::array<int64_t, kSlots> minute{};
    int64_t last_ms = 0;
    int64_t last_at_ms = 0;
    uint64_t over_alert = 0;
    int64_t audited_at_ms = 0;  // the last `hub_delay` entry; 0: none
    uint64_t held_back = 0;     // over-threshold delays not audited since
  };

  const std::chrono::milliseconds alert_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Pair> pairs_;  // by mu_
};

}  // namespace caravan::daemon::sync
