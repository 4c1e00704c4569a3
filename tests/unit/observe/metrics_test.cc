// The metrics registry and its Prometheus text rendering (exposition format
// 0.0.4): escaping, histogram buckets, bounded label cardinality and
// concurrent updates.
#include "daemon/observe/metrics.h"

#include <gtest/gtest.h>

#include <sstream>
#include <thread>

#include "protocol/config/node_config.h"

namespace caravan::daemon {
namespace {

bool Contains(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) {
    if (l == line) return true;
  }
  return false;
}

TEST(MetricsEscapeTest, LabelValuesEscapeBackslashQuoteAndNewline) {
  EXPECT_EQ(EscapeLabelValue(R"(a\b"c)" "\nd"), R"(a\\b\"c\nd)");
  EXPECT_EQ(EscapeLabelValue("plain:KZ.toml"), "plain:KZ.toml");
  // HELP escapes backslash and newline but leaves quotes.
  EXPECT_EQ(EscapeHelp("say \"x\"\\\n"), "say \"x\"\\\\\\n");
}

TEST(MetricsFormatTest, ValuesUseIntegersInfAndNaN) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(42), "42");
  EXPECT_EQ(FormatValue(-3), "-3");
  EXPECT_EQ(FormatValue(0.25), "0.25");
  EXPECT_EQ(FormatValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(FormatValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(FormatValue(0.0 / 0.0), "NaN");
}

TEST(MetricsCounterTest, RenderedWithHelpTypeAndEscapedLabels) {
  Metrics m;
  m.records_withheld.With({"policies/KZ.toml:outbound.max_tlp"}).Inc(3);
  m.records_withheld.With({"a\"b"}).Inc();
  m.records_rejected.With({"KZ-CERT", std::string(kRejectBadSignature)}).Inc();
  const std::string text = m.Render({});
  EXPECT_TRUE(Contains(text,
                       "# HELP caravan_records_withheld_total Outbound "
                       "decisions that withheld or deferred a record, by the "
                       "policy rule that decided."))
      << text;
  EXPECT_TRUE(Contains(text, "# TYPE caravan_records_withheld_total counter"));
  EXPECT_TRUE(Contains(text,
                       "caravan_records_withheld_total{rule=\"policies/"
                       "KZ.toml:outbound.max_tlp\"} 3"))
      << text;
  EXPECT_TRUE(Contains(text, R"(caravan_records_withheld_total{rule="a\"b"} 1)"));
  EXPECT_TRUE(Contains(text,
                       "caravan_records_rejected_total{peer=\"KZ-CERT\","
                       "reason=\"bad_signature\"} 1"));
  // A family with no child yet still declares itself.
  EXPECT_TRUE(Contains(text, "# TYPE caravan_records_shared_total counter"));
}

TEST(MetricsCounterTest, SameLabelsGiveTheSameChild) {
  Metrics m;
  Counter& a = m.records_shared.With({"KZ"});
  Counter& b = m.records_shared.With({"KZ"});
  EXPECT_EQ(&a, &b);
  a.Inc();
  b.Inc(2);
  EXPECT_EQ(m.records_shared.With({"KZ"}).value(), 3u);
}

TEST(MetricsCardinalityTest, NewLabelsBeyondTheCapGoToOther) {
  CounterFamily f("t_total", "t", {"rule"}, 3,
                  [] { return std::make_unique<Counter>(); });
  for (int i = 0; i < 10; ++i) f.With({"rule" + std::to_string(i)}).Inc();
  f.With({"rule0"}).Inc();  // an existing child stays itself
  auto children = f.Children();
  ASSERT_EQ(children.size(), 4u);
  EXPECT_EQ(children[0].first, LabelValues{"rule0"});
  EXPECT_EQ(children[0].second->value(), 2u);
  EXPECT_EQ(children[3].first, LabelValues{"other"});
  EXPECT_EQ(children[3].second->value(), 7u);
}

TEST(MetricsCardinalityTest, WrongArityAndLongValuesAreContained) {
  CounterFamily f("t_total", "t", {"peer", "reason"}, 8,
                  [] { return std::make_unique<Counter>(); });
  f.With({"only-one"}).Inc();
  const std::string long_value(1000, 'x');
  f.With({long_value, "r"}).Inc();
  f.With({long_value, "r"}).Inc();
  auto children = f.Children();
  ASSERT_EQ(children.size(), 2u);
  EXPECT_EQ(children[0].first[0].size(), kMaxLabelValueBytes);
  EXPECT_EQ(children[0].second->value(), 2u);
  EXPECT_EQ(children[1].first, (LabelValues{"other", "other"}));
  EXPECT_EQ(children[1].second->value(), 1u);
}

TEST(MetricsHistogramTest, BucketsAreCumulativeWithSumAndCount) {
  Metrics m;
  Histogram& h = m.control_request_seconds.With({"status"});
  h.Observe(0.0005);  // <= 0.001
  h.Observe(0.001);   // le is inclusive
  h.Observe(0.2);     // <= 0.25
  h.Observe(60);      // only +Inf
  const auto s = h.Read();
  EXPECT_EQ(s.count, 4u);
  EXPECT_DOUBLE_EQ(s.sum, 60.2015);
  const std::string text = m.Render({});
  const std::string b = "caravan_control_request_duration_seconds_bucket";
  EXPECT_TRUE(Contains(text, "# TYPE caravan_control_request_duration_seconds "
                             "histogram"));
  EXPECT_TRUE(Contains(text, b + "{kind=\"status\",le=\"0.001\"} 2")) << text;
  EXPECT_TRUE(Contains(text, b + "{kind=\"status\",le=\"0.1\"} 2"));
  EXPECT_TRUE(Contains(text, b + "{kind=\"status\",le=\"0.25\"} 3"));
  EXPECT_TRUE(Contains(text, b + "{kind=\"status\",le=\"10\"} 3"));
  EXPECT_TRUE(Contains(text, b + "{kind=\"status\",le=\"+Inf\"} 4"));
  EXPECT_TRUE(Contains(
      text, "caravan_control_request_duration_seconds_count{kind=\"status\"} 4"));
  EXPECT_TRUE(Contains(
      text,
      "caravan_control_request_duration_seconds_sum{kind=\"status\"} 60.2015"));
}

TEST(MetricsCollectedTest, GaugesAndCountersFromScrapeTime) {
  Metrics m;
  CollectedFamily links{"caravan_link_up", "1 when the link is up.",
                        MetricType::kGauge, {"peer"}, {}};
  links.samples.push_back({{"KZ"}, 1});
  links.samples.push_back({{"C\nN"}, 0});
  CollectedFamily start{"caravan_start_time_seconds", "Start time.",
                        MetricType::kGauge, {}, {{{}, 1700000000}}};
  const std::string text = m.Render({links, start});
  EXPECT_TRUE(Contains(text, "# TYPE caravan_link_up gauge"));
  EXPECT_TRUE(Contains(text, "caravan_link_up{peer=\"KZ\"} 1"));
  EXPECT_TRUE(Contains(text, "caravan_link_up{peer=\"C\\nN\"} 0"));
  EXPECT_TRUE(Contains(text, "caravan_start_time_seconds 1700000000"));
}

TEST(MetricsConcurrencyTest, TwoThreadsCountEveryIncrement) {
  Metrics m;
  constexpr int kPerThread = 100000;
  auto work = [&m](const std::string& mine) {
    for (int i = 0; i < kPerThread; ++i) {
      // Shared and per-thread children, created while the other thread
      // reads: the lock-free lookup must find or create each exactly once.
      m.records_shared.With({"shared"}).Inc();
      m.records_shared.With({mine + std::to_string(i % 50)}).Inc();
      m.control_request_seconds.With({"query"}).Observe(0.003);
    }
  };
  std::thread a(work, "a");
  std::thread b(work, "b");
  // Rendering while both write must not crash or see torn children.
  for (int i = 0; i < 20; ++i) (void)m.Render({});
  a.join();
  b.join();
  EXPECT_EQ(m.records_shared.With({"shared"}).value(), 2u * kPerThread);
  uint64_t total = 0;
  size_t children = 0;
  for (const auto& [values, c] : m.records_shared.Children()) {
    total += c->value();
    ++children;
    EXPECT_NE(values[0], "other");
  }
  EXPECT_EQ(children, 101u);
  EXPECT_EQ(total, 4u * kPerThread);
  const auto s = m.control_request_seconds.With({"query"}).Read();
  EXPECT_EQ(s.count, 2u * kPerThread);
  EXPECT_NEAR(s.sum, 2 * kPerThread * 0.003, 1e-6);
}

TEST(MetricsConfigTest, ListenIsOptionalAndChecked) {
  const std::string base = "[node]\nname = \"N\"\ncountry = \"UZ\"\n";
  auto off = protocol::ParseNodeConfig(base, "/tmp/x/caravand.toml");
  ASSERT_TRUE(off.ok()) << off.status().message();
  EXPECT_FALSE(off->metrics.listen.has_value());

  auto on = protocol::ParseNodeConfig(
      base + "[metrics]\nlisten = \"127.0.0.1:9464\"\n", "/tmp/x/caravand.toml");
  ASSERT_TRUE(on.ok()) << on.status().message();
  ASSERT_TRUE(on->metrics.listen.has_value());
  EXPECT_EQ(on->metrics.listen->ToString(), "127.0.0.1:9464");

  auto bad = protocol::ParseNodeConfig(
      base + "[metrics]\nlisten = \"nowhere\"\npath = \"/m\"\n",
      "/tmp/x/caravand.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(":5:"), std::string::npos)
      << bad.status().message();
  EXPECT_NE(bad.status().message().find("path"), std::string::npos);

  // The rendered file round-trips the section.
  auto again = protocol::ParseNodeConfig(
      protocol::RenderNodeConfig(*on), "/tmp/x/caravand.toml");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->metrics.listen, on->metrics.listen);
}

}  // namespace
}  // namespace caravan::daemon
