// `caravan report` end to end: two real nodes, a policy that shares some
// records and withholds others, and the report's numbers equal what the
// test did, in --json, text and --html.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/integration/report_federation.h"

namespace caravan::integration {
namespace {

using nlohmann::json;

class ReportTest : public ReportFederation {};

TEST_F(ReportTest, JsonNumbersAreWhatTheNodesDid) {
  ASSERT_NO_FATAL_FAILURE(SetUpNodes());
  json uz = uz_->CliJson({"report", "--since", "1h"});
  ASSERT_TRUE(uz.is_object()) << uz.dump();
  EXPECT_EQ(uz["node"]["name"], "CERT-UZ");
  EXPECT_EQ(uz["node"]["country"], "UZ");

  const json& shared = uz["shared"];
  EXPECT_EQ(shared["records"], 5) << shared.dump();
  ASSERT_EQ(shared["by_peer"].size(), 1u) << shared.dump();
  EXPECT_EQ(shared["by_peer"][0]["peer"], "CERT-KZ");
  EXPECT_EQ(shared["by_peer"][0]["country"], "KZ");
  EXPECT_EQ(shared["by_peer"][0]["records"], 5);
  EXPECT_EQ(RowWith(shared["by_tlp"], "tlp", "green")["records"], 3);
  EXPECT_EQ(RowWith(shared["by_tlp"], "tlp", "amber")["records"], 1);
  EXPECT_EQ(RowWith(shared["by_tlp"], "tlp", "clear")["records"], 1);
  EXPECT_EQ(shared["by_tlp"].size(), 3u) << shared.dump();
  EXPECT_EQ(RowWith(shared["by_type"], "type", "domain")["records"], 3);
  EXPECT_EQ(RowWith(shared["by_type"], "type", "url")["records"], 1);
  EXPECT_EQ(RowWith(shared["by_type"], "type", "ipv4")["records"], 1);
  // Every shared record under kz.toml's outbound.share rule.
  uint64_t by_rule = 0;
  for (const auto& r : shared["by_rule"]) {
    EXPECT_EQ(r["rule"]["file"], "kz.toml") << r.dump();
    by_rule += r["records"].get<uint64_t>();
  }
  EXPECT_EQ(by_rule, 5u);

  const json& withheld = uz["withheld"];
  EXPECT_EQ(withheld["withheld"], 2) << withheld.dump();
  EXPECT_EQ(withheld["deferred"], 0);
  EXPECT_EQ(RowWith(withheld["by_category"], "category", "tlp_red")["records"],
            1)
      << withheld.dump();
  EXPECT_EQ(RowWith(withheld["by_category"], "category", "tags")["records"], 1);
  for (const auto& r : withheld["by_rule"]) {
    EXPECT_EQ(r["peer"], "CERT-KZ");
    EXPECT_EQ(r["country"], "KZ");
  }

  const json& received = uz["received"];
  EXPECT_EQ(received["accepted"], 2) << received.dump();
  EXPECT_EQ(received["quarantined"], 0);
  EXPECT_EQ(received["rejected"], 0);
  ASSERT_EQ(received["by_peer"].size(), 1u);
  EXPECT_EQ(received["by_peer"][0]["peer"], "CERT-KZ");
  EXPECT_EQ(received["by_peer"][0]["country"], "KZ");
  EXPECT_EQ(received["by_peer"][0]["accepted"], 2);

  // One day (or two around midnight); the day rows sum to the totals.
  ASSERT_GE(uz["days"].size(), 1u);
  ASSERT_LE(uz["days"].size(), 2u);
  uint64_t day_shared = 0, day_withheld = 0, day_accepted = 0;
  for (const auto& d : uz["days"]) {
    day_shared += d["shared"].get<uint64_t>();
    day_withheld += d["withheld"].get<uint64_t>();
    day_accepted += d["accepted"].get<uint64_t>();
  }
  EXPECT_EQ(day_shared, 5u);
  EXPECT_EQ(day_withheld, 2u);
  EXPECT_EQ(day_accepted, 2u);

  // The other side: what KZ sent and got.
  json kz = kz_->CliJson({"report"});
  EXPECT_EQ(kz["shared"]["records"], 2) << kz.dump();
  EXPECT_EQ(kz["received"]["accepted"], 5);
  EXPECT_EQ(kz["withheld"]["records"], 0);
}

TEST_F(ReportTest, APeriodBeforeAnythingHappenedCountsNothing) {
  ASSERT_NO_FATAL_FAILURE(SetUpNodes());
  json r = uz_->CliJson(
      {"report", "--since", "2020-01-01T00:00:00Z", "--until", "2020-01-03"});
  EXPECT_EQ(r["shared"]["records"], 0) << r.dump();
  EXPECT_EQ(r["withheld"]["records"], 0);
  EXPECT_EQ(r["received"]["records"], 0);
  // Every day of the period, zeros included.
  ASSERT_EQ(r["days"].size(), 3u) << r["days"].dump();
  EXPECT_EQ(r["days"][0]["date"], "2020-01-01");
  EXPECT_EQ(r["days"][2]["shared"], 0);
}

TEST_F(ReportTest, TextAndHtmlShowTheSameNumbers) {
  ASSERT_NO_FATAL_FAILURE(SetUpNodes());
  CommandResult text = uz_->Cli({"report", "--since", "2h"});
  ASSERT_EQ(text.exit_code, 0) << text.Describe();
  EXPECT_NE(text.out.find("Sovereignty report of CERT-UZ (UZ)"),
            std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("CERT-KZ  KZ       5"), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("tlp_red"), std::string::npos) << text.out;

  const auto html_path = uz_->node().dir() / "report.html";
  CommandResult html =
      uz_->Cli({"report", "--since", "2h", "--html", html_path.string()});
  ASSERT_EQ(html.exit_code, 0) << html.Describe();
  std::ifstream in(html_path);
  std::stringstream page;
  page << in.rdbuf();
  const std::string s = page.str();
  EXPECT_NE(s.find("<span class=\"n\" id=\"total-shared\">5</span>"),
            std::string::npos);
  EXPECT_NE(s.find("<span class=\"n\" id=\"total-withheld\">2</span>"),
            std::string::npos);
  EXPECT_NE(s.find("<span class=\"n\" id=\"total-accepted\">2</span>"),
            std::string::npos);
  EXPECT_NE(s.find("<svg id=\"chart-days\""), std::string::npos);
  // Self-contained: nothing fetched from anywhere.
  for (const char* external : {"<script", "src=", "href=", "url(", "@import"}) {
    EXPECT_EQ(s.find(external), std::string::npos) << external;
  }
}

TEST_F(ReportTest, BadTimesAreRefusedNamingTheOption) {
  FedNode& n = Make("CERT-UZ", "UZ");
  ASSERT_NO_FATAL_FAILURE(StartAll());
  CommandResult r = n.Cli({"report", "--since", "yesterday"});
  EXPECT_EQ(r.exit_code, 4) << r.Describe();
  EXPECT_NE(r.err.find("--since: 'yesterday'"), std::string::npos) << r.err;
  r = n.Cli({"report", "--since", "1d", "--until", "2d"});
  EXPECT_EQ(r.exit_code, 4) << r.Describe();
  EXPECT_NE(r.err.find("is before --since"), std::string::npos) << r.err;
  r = n.Cli({"report", "--html", "/nonexistent-dir/x.html"});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_NE(r.err.find("--html: cannot write"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace caravan::integration
