#pragma once
// What the hostile-load suite measures of a running caravand from outside:
// resident memory (/proc/PID/status VmRSS and VmHWM), store size (database
// plus -wal), daemon log size, and the time the good path takes (a CLI
// call, an HTTP request). Every figure is printed as one machine-readable
// line, `HOSTILE attack=NAME metric=NAME value=N`, which scripts/hostile
// collects into its summary table.
//
// Plain functions and a value type; not thread-safe only where noted.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/integration/harness.h"
#include "tests/integration/http_client.h"

namespace caravan::hostile {

using integration::CommandResult;
using integration::HttpReply;
using integration::TestNode;

// One snapshot of a daemon's footprint. -1: could not be read.
struct Footprint {
  int64_t rss_kb = -1;       // VmRSS now
  int64_t hwm_kb = -1;       // VmHWM: peak resident memory so far
  int64_t store_bytes = -1;  // database + -wal
  int64_t log_bytes = -1;
  int64_t log_lines = -1;
};

Footprint TakeFootprint(const TestNode& node);

// VmRSS of `pid` in kB, -1 if it cannot be read.
int64_t RssKb(pid_t pid);

// Prints the HOSTILE lines of one attack (and records them as test
// properties, so they land in the gtest XML too).
class AttackReport {
 public:
  explicit AttackReport(std::string attack) : attack_(std::move(attack)) {}
  void Metric(const std::string& name, int64_t value) const;
  // rss_before_kb, rss_peak_kb (VmHWM), rss_after_kb, store_growth_bytes,
  // log_growth_bytes, log_growth_lines between two footprints.
  void Growth(const Footprint& before, const Footprint& after) const;

 private:
  std::string attack_;
};

// A CLI call with its wall time; bounded by `timeout` (then timed_out).
struct TimedCommand {
  CommandResult result;
  std::chrono::milliseconds elapsed{0};
};
TimedCommand TimedCli(const TestNode& node,
                      const std::vector<std::string>& args,
                      std::chrono::seconds timeout = std::chrono::seconds(10));

// An HTTP request with its wall time.
struct TimedHttp {
  HttpReply reply;
  std::chrono::milliseconds elapsed{0};
};
TimedHttp TimedRequest(uint16_t port, const integration::HttpRequest& request);

// Entries of `caravan audit --json --limit 10000` whose JSON text (lower
// case) holds any of `needles`; -1 if the CLI failed.
int64_t CountAuditEntries(const TestNode& node,
                          const std::vector<std::string>& needles);

// Failures may be summarised per interval and written when it ends: polls
// the audit for up to `wait` for more than `baseline` matching entries; if
// none came, restarts the daemon (SIGTERM, which must flush what it holds,
// then start) and counts once more. The count above the baseline; the
// daemon is running again unless it failed to start (then -1).
int64_t AuditedEventually(TestNode& node,
                          const std::vector<std::string>& needles,
                          int64_t baseline, std::chrono::seconds wait);

// Milliseconds since `start`.
std::chrono::milliseconds Since(std::chrono::steady_clock::time_point start);

}  // namespace caravan::hostile
