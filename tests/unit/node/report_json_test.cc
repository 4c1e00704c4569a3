// ReportJson: the report document from the store's groups (totals, the
// rule categories, roster countries, days filled with zeros).

#include "daemon/node/report_json.h"

#include <gtest/gtest.h>

namespace caravan::daemon {
namespace {

constexpr int64_t kDay = 86400;
constexpr int64_t kDay0 = 20000 * kDay;

store::ReportRuleGroup Group(std::string action, std::string peer,
                             std::string country, std::string file,
                             std::string key, uint64_t records) {
  store::ReportRuleGroup g;
  g.action = std::move(action);
  g.peer = std::move(peer);
  g.country = std::move(country);
  g.rule_file = std::move(file);
  g.rule_line = g.rule_file.empty() ? 0 : 3;
  g.rule_key = std::move(key);
  g.entries = 1;
  g.records = records;
  return g;
}

TEST(WithheldCategory, NamesWhyFromTheRule) {
  EXPECT_EQ(WithheldCategory("protected.toml", "domains"), "protected_asset");
  EXPECT_EQ(WithheldCategory("", "tlp_red"), "tlp_red");
  EXPECT_EQ(WithheldCategory("kz.toml", "outbound.max_tlp"), "ceiling");
  EXPECT_EQ(WithheldCategory("kz.toml", "outbound.types"), "ceiling");
  EXPECT_EQ(WithheldCategory("kz.toml", "outbound.min_confidence"), "ceiling");
  EXPECT_EQ(WithheldCategory("kz.toml", "outbound.max_per_day"), "quota");
  EXPECT_EQ(WithheldCategory("kz.toml", "outbound.embargo"), "embargo");
  EXPECT_EQ(WithheldCategory("kz.toml", "outbound.exclude_tags"), "tags");
  EXPECT_EQ(WithheldCategory("kz.toml", "outbound.share"), "sharing_off");
  EXPECT_EQ(WithheldCategory("", "revocation"), "revocation");
  EXPECT_EQ(WithheldCategory("x.toml", "something.new"), "other");
}

TEST(ReportJson, SumsGroupsIntoTotalsAndLists) {
  ReportContext ctx;
  ctx.node_name = "CERT-UZ";
  ctx.node_country = "UZ";
  ctx.since = kDay0;
  ctx.until = kDay0 + 2 * kDay + 5;  // three days
  ctx.generated = ctx.until;
  ctx.peer_countries = {{"CERT-KZ", "KZ"}};
  store::ReportCounts c;
  c.rules = {Group("share", "CERT-KZ", "KZ", "kz.toml", "outbound.share", 7),
             Group("share", "CERT-KG", "KG", "kg.toml", "outbound.share", 9),
             Group("withhold", "CERT-KZ", "KZ", "", "tlp_red", 2),
             Group("withhold", "CERT-KG", "KG", "protected.toml", "ips", 1),
             Group("defer", "CERT-KZ", "KZ", "kz.toml", "outbound.max_per_day", 4),
             Group("accept", "CERT-KZ", "", "uz.toml", "inbound.accept", 5),
             Group("quarantine", "CERT-KZ", "", "uz.toml", "inbound.quarantine", 1),
             Group("reject", "CERT-GONE", "", "", "", 3)};
  c.days = {{kDay0 / kDay + 1, "share", 16}, {kDay0 / kDay + 1, "defer", 4}};
  c.shared_kinds = {{"CERT-KZ", 1, 2, 6}, {"CERT-KZ", -1, -1, 1},
                    {"CERT-KG", 1, 3, 9}};
  const nlohmann::json r = ReportJson(ctx, c);

  EXPECT_EQ(r["shared"]["records"], 16);
  EXPECT_EQ(r["shared"]["by_peer"][0]["peer"], "CERT-KG");  // most first
  EXPECT_EQ(r["shared"]["by_peer"][0]["records"], 9);
  EXPECT_EQ(r["shared"]["by_tlp"][0]["tlp"], "green");
  EXPECT_EQ(r["shared"]["by_tlp"][0]["records"], 15);
  EXPECT_EQ(r["shared"]["by_tlp"][1]["tlp"], "unknown");
  EXPECT_EQ(r["shared"]["by_type"][0]["type"], "url");
  EXPECT_EQ(r["withheld"]["withheld"], 3);
  EXPECT_EQ(r["withheld"]["deferred"], 4);
  EXPECT_EQ(r["withheld"]["records"], 7);
  EXPECT_EQ(r["withheld"]["by_category"][0]["category"], "quota");
  EXPECT_EQ(r["received"]["accepted"], 5);
  EXPECT_EQ(r["received"]["quarantined"], 1);
  EXPECT_EQ(r["received"]["rejected"], 3);
  // The roster fills the country of an entry without one; an unknown peer
  // stays without.
  for (const auto& p : r["received"]["by_peer"]) {
    EXPECT_EQ(p["country"], p["peer"] == "CERT-KZ" ? "KZ" : "") << p.dump();
  }
  ASSERT_EQ(r["days"].size(), 3u);
  EXPECT_EQ(r["days"][0]["shared"], 0);
  EXPECT_EQ(r["days"][1]["shared"], 16);
  EXPECT_EQ(r["days"][1]["deferred"], 4);
  EXPECT_EQ(r["since"], "2024-10-04T00:00:00Z");
}

TEST(ReportJson, ALongPeriodListsOnlyDaysWithDecisions) {
  ReportContext ctx;
  ctx.since = 0;
  ctx.until = (kReportMaxFilledDays + 10) * kDay;
  store::ReportCounts c;
  c.days = {{5, "accept", 2}};
  const nlohmann::json r = ReportJson(ctx, c);
  ASSERT_EQ(r["days"].size(), 1u);
  EXPECT_EQ(r["days"][0]["date"], "1970-01-06");
  EXPECT_EQ(r["days"][0]["accepted"], 2);
}

}  // namespace
}  // namespace caravan::daemon
