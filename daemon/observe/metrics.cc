#include "daemon/observe/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace caravan::daemon {
namespace {

// Per-peer families: far above any real roster; rules and codes: what a
// sane policy set or HTTP server produces.
constexpr size_t kMaxPeers = 256;
constexpr size_t kMaxRejectSeries = 1024;  // peers x reasons
constexpr size_t kMaxRules = 32;
constexpr size_t kMaxKinds = 64;
constexpr size_t kMaxCodes = 16;

std::string Cut(std::string_view v) {
  if (v.size() <= kMaxLabelValueBytes) return std::string(v);
  // Do not split a UTF-8 sequence: back up over continuation bytes.
  size_t n = kMaxLabelValueBytes;
  while (n > 0 && (static_cast<unsigned char>(v[n]) & 0xC0) == 0x80) --n;
  return std::string(v.substr(0, n));
}

CounterFamily::Factory MakeCounter() {
  return [] { return std::make_unique<Counter>(); };
}

HistogramFamily::Factory MakeHistogram(std::vector<double> bounds) {
  return [bounds] { return std::make_unique<Histogram>(bounds); };
}

std::string TypeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

void Header(std::string& out, const std::string& name, const std::string& help,
            MetricType type) {
  out += "# HELP " + name + " " + EscapeHelp(help) + "\n";
  out += "# TYPE " + name + " " + TypeName(type) + "\n";
}

// `{a="x",b="y"}` (or "" without labels), plus an optional extra label.
std::string LabelText(const std::vector<std::string>& names,
                      const LabelValues& values,
                      std::string_view extra_name = {},
                      std::string_view extra_value = {}) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    out += out.empty() ? "{" : ",";
    out += names[i] + "=\"" + EscapeLabelValue(values[i]) + "\"";
  }
  if (!extra_name.empty()) {
    out += out.empty() ? "{" : ",";
    out += std::string(extra_name) + "=\"" + EscapeLabelValue(extra_value) +
           "\"";
  }
  if (!out.empty()) out += "}";
  return out;
}

void RenderCounters(std::string& out, const CounterFamily& f) {
  Header(out, f.name(), f.help(), MetricType::kCounter);
  for (const auto& [values, c] : f.Children()) {
    out += f.name() + LabelText(f.label_names(), values) + " " +
           std::to_string(c->value()) + "\n";
  }
}

void RenderHistograms(std::string& out, const HistogramFamily& f) {
  Header(out, f.name(), f.help(), MetricType::kHistogram);
  for (const auto& [values, h] : f.Children()) {
    const Histogram::Snapshot s = h->Read();
    const auto& bounds = h->bounds();
    for (size_t i = 0; i <= bounds.size(); ++i) {
      const std::string le =
          i < bounds.size() ? FormatValue(bounds[i]) : std::string("+Inf");
      out += f.name() + "_bucket" +
             LabelText(f.label_names(), values, "le", le) + " " +
             std::to_string(s.cumulative[i]) + "\n";
    }
    const std::string labels = LabelText(f.label_names(), values);
    out += f.name() + "_sum" + labels + " " + FormatValue(s.sum) + "\n";
    out += f.name() + "_count" + labels + " " + std::to_string(s.count) + "\n";
  }
}

}  // namespace

// ---- Histogram ---------------------------------------------------------------

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  buckets_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double value) {
  // Buckets are "le": a value equal to a bound belongs to that bucket.
  const size_t i = static_cast<size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), value) -
      bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  s.cumulative.resize(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = running;
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> LatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
          0.25,  0.5,    1,     2.5,  5,     10};
}

std::vector<double> HubDelayBuckets() {
  return {0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 21600, 86400};
}

// ---- Family --------------------------------------------------------------------

template <typename M>
Family<M>::Family(std::string name, std::string help,
                  std::vector<std::string> label_names, size_t max_children,
                  Factory make)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      max_children_(std::max<size_t>(max_children, 1)),
      make_(std::move(make)),
      slots_(std::make_unique<Slot[]>(max_children_)),
      overflow_(make_()) {}

template <typename M>
M* Family<M>::Find(const LabelValues& values, size_t published) const {
  for (size_t i = 0; i < published; ++i) {
    if (slots_[i].values == values) return slots_[i].metric.get();
  }
  return nullptr;
}

template <typename M>
M& Family<M>::With(const LabelValues& values) {
  if (values.size() != label_names_.size()) {
    overflow_used_.store(true, std::memory_order_relaxed);
    return *overflow_;
  }
  if (M* m = Find(values, size_.load(std::memory_order_acquire))) return *m;
  LabelValues cut;
  cut.reserve(values.size());
  for (const auto& v : values) cut.push_back(Cut(v));
  std::lock_guard lock(insert_mu_);
  const size_t n = size_.load(std::memory_order_relaxed);
  if (M* m = Find(cut, n)) return *m;
  if (n == max_children_) {
    overflow_used_.store(true, std::memory_order_relaxed);
    return *overflow_;
  }
  slots_[n].values = std::move(cut);
  slots_[n].metric = make_();
  M* created = slots_[n].metric.get();
  size_.store(n + 1, std::memory_order_release);
  return *created;
}

template <typename M>
std::vector<std::pair<LabelValues, const M*>> Family<M>::Children() const {
  std::vector<std::pair<LabelValues, const M*>> out;
  const size_t n = size_.load(std::memory_order_acquire);
  for (size_t i = 0; i < n; ++i) {
    out.emplace_back(slots_[i].values, slots_[i].metric.get());
  }
  if (overflow_used_.load(std::memory_order_relaxed)) {
    out.emplace_back(
        LabelValues(label_names_.size(), std::string(kOverflowLabel)),
        overflow_.get());
  }
  return out;
}

template class Family<Counter>;
template class Family<Histogram>;

// ---- text format ---------------------------------------------------------------

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return std::to_string(static_cast<int64_t>(value));
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, end);
}

// ---- Metrics -------------------------------------------------------------------

Metrics::Metrics()
    : records_stored("caravan_records_stored_total",
                     "Records stored as new revisions, by where they came "
                     "from (local submission or a peer).",
                     {"source"}, 2, MakeCounter()),
      submissions("caravan_submissions_total",
                  "Local submissions (CLI, TAXII, spool) by outcome.",
                  {"result"}, 3, MakeCounter()),
      records_received("caravan_records_received_total",
                       "Records accepted or quarantined from a peer.",
                       {"peer"}, kMaxPeers, MakeCounter()),
      records_duplicate("caravan_records_duplicate_total",
                        "Records a peer sent that this node already held.",
                        {"peer"}, kMaxPeers, MakeCounter()),
      records_rejected("caravan_records_rejected_total",
                       "Records from a peer that were refused, by reason.",
                       {"peer", "reason"}, kMaxRejectSeries, MakeCounter()),
      records_shared("caravan_records_shared_total",
                     "Records sent to a peer and acknowledged by it.",
                     {"peer"}, kMaxPeers, MakeCounter()),
      records_withheld("caravan_records_withheld_total",
                       "Outbound decisions that withheld or deferred a "
                       "record, by the policy rule that decided.",
                       {"rule"}, kMaxRules, MakeCounter()),
      control_request_seconds(
          "caravan_control_request_duration_seconds",
          "Time to answer a control socket request, by request kind.",
          {"kind"}, kMaxKinds, MakeHistogram(LatencyBuckets())),
      taxii_request_seconds(
          "caravan_taxii_request_duration_seconds",
          "Time to answer a TAXII or feed HTTP request, by status code.",
          {"code"}, kMaxCodes, MakeHistogram(LatencyBuckets())),
      store_errors("caravan_store_errors_total",
                   "Store operations SQLite failed, by kind (disk_full, "
                   "io_error, read_only, corrupt, no_memory, cant_open, "
                   "other).",
                   {"kind"}, 8, MakeCounter()),
      control_connections_dropped(
          "caravan_control_connections_dropped_total",
          "Control socket connections closed for breaking a limit, by "
          "reason (frame_timeout, write_timeout, bad_frame).",
          {"reason"}, 4, MakeCounter()),
      control_requests_abandoned(
          "caravan_control_requests_abandoned_total",
          "Control requests not run because their deadline passed or their "
          "client hung up while they waited.",
          {"reason"}, 3, MakeCounter()),
      hub_delay_seconds(
          "caravan_hub_delay_seconds",
          "Sealed envelopes' time from their sealing (the sender's clock, "
          "inside the envelope) to their opening here, by the hub they "
          "came through and their sender.",
          {"hub", "sender"}, kMaxPeers, MakeHistogram(HubDelayBuckets())),
      member_trust_events(
          "caravan_member_trust_events_total",
          "Member trust events: removals (kept or purged), compromise "
          "declarations, compromise notices sent, applied or refused, and "
          "handshakes refused for a compromised key.",
          {"event"}, 32, MakeCounter()) {}

std::string Metrics::Render(
    const std::vector<CollectedFamily>& collected) const {
  std::string out;
  for (const CounterFamily* f :
       {&records_stored, &submissions, &records_received, &records_duplicate,
        &records_rejected, &records_shared, &records_withheld, &store_errors,
        &control_connections_dropped, &control_requests_abandoned,
        &member_trust_events}) {
    RenderCounters(out, *f);
  }
  RenderHistograms(out, control_request_seconds);
  RenderHistograms(out, taxii_request_seconds);
  RenderHistograms(out, hub_delay_seconds);
  for (const auto& f : collected) {
    Header(out, f.name, f.help, f.type);
    for (const auto& [values, v] : f.samples) {
      out += f.name + LabelText(f.label_names, values) + " " + FormatValue(v) +
             "\n";
    }
  }
  return out;
}

}  // namespace caravan::daemon
