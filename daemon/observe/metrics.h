#pragma once
// Metrics: caravand's Prometheus metrics (docs/metrics.md). Counters and
// histograms live in one Metrics object that Node owns and hands down by
// pointer (nullptr means "not measured", so unit tests pass nothing);
// values that the store or the link manager already know (link states,
// backlog, lag, byte totals) are not kept here but computed at scrape time
// and passed to Render as CollectedFamily values.
//
// Families have a fixed list of label names. A family keeps at most
// max_children distinct label value sets; later ones are counted in one
// overflow child whose every label value is "other", so label cardinality
// (and memory) stays bounded whatever a policy file or a peer does. Label
// values are cut to kMaxLabelValueBytes.
//
// Thread-safety: everything may be called from any thread. Counter::Inc and
// Histogram::Observe are relaxed atomics. Family::With finds an existing
// child without a lock (a scan of an append-only array published with
// release/acquire); only the first use of a new label value set takes a
// mutex. Hot paths that use the same labels again keep the reference, which
// stays valid as long as the family.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace caravan::daemon {

inline constexpr size_t kMaxLabelValueBytes = 128;
// The label value of the overflow child.
inline constexpr std::string_view kOverflowLabel = "other";

// Label values of one child, in the order of the family's label names.
using LabelValues = std::vector<std::string>;

// A monotonically increasing count.
class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// Observations counted into fixed buckets (upper bounds, ascending; the
// +Inf bucket is implicit), with their sum.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // per bound, then +Inf (== count)
    uint64_t count = 0;
    double sum = 0;
  };
  // Reads every bucket; under concurrent Observe the buckets may be off by
  // the observations in flight, never negative or decreasing.
  Snapshot Read() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

// Latency buckets for request handling, in seconds (1 ms .. 10 s).
std::vector<double> LatencyBuckets();
// Buckets for sealed envelopes' delays through a hub, in seconds
// (100 ms .. 1 day).
std::vector<double> HubDelayBuckets();

enum class MetricType { kCounter, kGauge, kHistogram };

// One family of metrics of type M (Counter or Histogram) sharing a name,
// help text and label names.
template <typename M>
class Family {
 public:
  using Factory = std::function<std::unique_ptr<M>()>;
  Family(std::string name, std::string help,
         std::vector<std::string> label_names, size_t max_children,
         Factory make);
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  // The child for `values` (created on first use). A wrong number of
  // values, or a new set once max_children exist, gives the overflow child.
  M& With(const LabelValues& values);

  // Every child with its label values, in creation order (overflow last).
  std::vector<std::pair<LabelValues, const M*>> Children() const;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

 private:
  struct Slot {
    LabelValues values;
    std::unique_ptr<M> metric;
  };
  M* Find(const LabelValues& values, size_t published) const;

  const std::string name_, help_;
  const std::vector<std::string> label_names_;
  const size_t max_children_;
  Factory make_;
  // Slots [0, size_) are complete and never change again.
  std::unique_ptr<Slot[]> slots_;
  std::atomic<size_t> size_{0};
  std::mutex insert_mu_;  // serializes creation of new slots
  std::unique_ptr<M> overflow_;
  std::atomic<bool> overflow_used_{false};
};

using CounterFamily = Family<Counter>;
using HistogramFamily = Family<Histogram>;

// A family whose values were computed at scrape time (from the store or
// the link manager). Only kCounter and kGauge.
struct CollectedFamily {
  std::string name, help;
  MetricType type = MetricType::kGauge;
  std::vector<std::string> label_names;
  std::vector<std::pair<LabelValues, double>> samples;
};

// ---- exposition format 0.0.4 helpers (exposed for tests) -------------------

// Label value escaping: backslash, double quote and newline.
std::string EscapeLabelValue(std::string_view value);
// HELP text escaping: backslash and newline.
std::string EscapeHelp(std::string_view help);
// A sample value: integers without a fraction, +Inf, -Inf, NaN.
std::string FormatValue(double value);

inline constexpr std::string_view kExpositionContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// The metrics caravand keeps (names and labels in docs/metrics.md).
class Metrics {
 public:
  Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // {source="local"|"peer"}: records this node stored (new revisions).
  CounterFamily records_stored;
  // {result="stored"|"unchanged"|"error"}: local submissions.
  CounterFamily submissions;
  // {peer}: records accepted (or quarantined) from a peer.
  CounterFamily records_received;
  // {peer}: records a peer sent that were already held.
  CounterFamily records_duplicate;
  // {peer, reason}: records refused; reason is one of kReject*.
  CounterFamily records_rejected;
  // {peer}: records a peer acknowledged (shared with it).
  CounterFamily records_shared;
  // {rule}: records withheld or deferred, by the rule that decided.
  CounterFamily records_withheld;
  // {kind}: control requests (protocol/control.capnp union field names).
  HistogramFamily control_request_seconds;
  // {code}: TAXII/feeds HTTP requests, by response status code.
  HistogramFamily taxii_request_seconds;
  // {kind}: store operations SQLite failed (kStoreError* kinds).
  CounterFamily store_errors;
  // {reason}: control connections closed for breaking a limit
  // ("frame_timeout", "write_timeout", "bad_frame").
  CounterFamily control_connections_dropped;
  // {reason}: control requests not run ("deadline", "client_gone").
  CounterFamily control_requests_abandoned;
  // {hub, sender}: sealed envelopes' time from sealing (the sender's
  // clock, inside the envelope) to opening here (hub accountability).
  HistogramFamily hub_delay_seconds;
  // {event}: member trust (issue 16): removals, compromise declarations,
  // notices sent, applied or refused, handshakes refused (kTrust* names).
  CounterFamily member_trust_events;

  // The whole exposition text: the families above, then `collected`.
  std::string Render(const std::vector<CollectedFamily>& collected) const;
};

// Reasons of records_rejected.
inline constexpr std::string_view kRejectDecode = "decode";
inline constexpr std::string_view kRejectUnknownOrigin = "unknown_origin";
inline constexpr std::string_view kRejectBadSignature = "bad_signature";
inline constexpr std::string_view kRejectPolicy = "policy";
inline constexpr std::string_view kRejectConflict = "conflict";
// Signed by an identity key after its rotation (docs/federation.md).
inline constexpr std::string_view kRejectRetiredKey = "retired_key";

// Events of member_trust_events (docs/metrics.md).
inline constexpr std::string_view kTrustRemoveKeep = "remove_keep";
inline constexpr std::string_view kTrustRemovePurge = "remove_purge";
inline constexpr std::string_view kTrustCompromiseDeclared = "compromise_declared";
inline constexpr std::string_view kTrustHandshakeRefused = "handshake_refused";

}  // namespace caravan::daemon
