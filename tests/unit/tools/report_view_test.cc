// The text and HTML views of a report document: they show its numbers,
// escape every text from it, and read a partial document (an older
// daemon) without throwing.

#include <gtest/gtest.h>

#include <sstream>

#include "tools/report_view.h"

namespace caravan::tools {
namespace {

nlohmann::json Doc() {
  return nlohmann::json::parse(R"({
    "node": {"name": "CERT-UZ", "country": "UZ"},
    "since": "2026-11-05T00:00:00Z", "until": "2026-12-05T00:00:00Z",
    "generated": "2026-12-05T00:00:01Z",
    "shared": {"records": 7,
      "by_peer": [{"peer": "<script>alert(1)</script>", "country": "KZ", "records": 7}],
      "by_rule": [{"peer": "CERT-KZ", "country": "KZ",
                   "rule": {"file": "kz.toml", "line": 4, "key": "outbound.share"},
                   "records": 7}],
      "by_tlp": [{"tlp": "green", "records": 7}],
      "by_type": [{"type": "domain", "records": 7}]},
    "withdrawn": {"records": 0, "by_peer": []},
    "withheld": {"records": 3, "withheld": 2, "deferred": 1,
      "by_category": [{"category": "tlp_red", "records": 2}, {"category": "quota", "records": 1}],
      "by_rule": [{"action": "withhold", "peer": "CERT-KZ", "country": "KZ",
                   "category": "tlp_red", "rule": {"file": "", "line": 0, "key": "tlp_red"},
                   "records": 2}]},
    "received": {"records": 4, "accepted": 3, "quarantined": 1, "rejected": 0,
      "by_peer": [{"peer": "CERT-KZ", "country": "KZ", "records": 4,
                   "accepted": 3, "quarantined": 1, "rejected": 0}],
      "by_rule": []},
    "days": [{"date": "2026-12-04", "shared": 7, "withdrawn": 0, "withheld": 2,
              "deferred": 1, "accepted": 3, "quarantined": 1, "rejected": 0},
             {"date": "2026-12-05", "shared": 0, "withdrawn": 0, "withheld": 0,
              "deferred": 0, "accepted": 0, "quarantined": 0, "rejected": 0}]
  })");
}

TEST(ReportViewTest, TextShowsTheNumbersInAlignedTables) {
  std::ostringstream out;
  PrintReportText(Doc(), out);
  const std::string s = out.str();
  EXPECT_NE(s.find("Sovereignty report of CERT-UZ (UZ), 2026-11-05T00:00:00Z"),
            std::string::npos) << s;
  EXPECT_NE(s.find("shared (left the country)  7"), std::string::npos) << s;
  EXPECT_NE(s.find("deferred (quota, embargo)  1"), std::string::npos) << s;
  EXPECT_NE(s.find("kz.toml:4 outbound.share"), std::string::npos) << s;
  EXPECT_NE(s.find("withhold  CERT-KZ  KZ       tlp_red  tlp_red  2"),
            std::string::npos) << s;
  // The empty day is left out of the text.
  EXPECT_NE(s.find("2026-12-04"), std::string::npos);
  EXPECT_EQ(s.find("2026-12-05  0"), std::string::npos) << s;
  EXPECT_NE(s.find("Withdrawn from peers\n  (none)"), std::string::npos) << s;
}

TEST(ReportViewTest, HtmlEscapesEveryTextAndFetchesNothing) {
  const std::string h = ReportHtml(Doc());
  EXPECT_EQ(h.find("<script"), std::string::npos);
  EXPECT_NE(h.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(h.find("default-src 'none'"), std::string::npos);
  EXPECT_NE(h.find("<span class=\"n\" id=\"total-shared\">7</span>"),
            std::string::npos);
  EXPECT_NE(h.find("<span class=\"n\" id=\"total-quarantined\">1</span>"),
            std::string::npos);
  // Two days, three bars each.
  size_t bars = 0;
  const size_t chart = h.find("<svg id=\"chart-days\"");
  ASSERT_NE(chart, std::string::npos);
  const size_t chart_end = h.find("</svg>", chart);
  for (size_t p = h.find("<rect", chart); p < chart_end;
       p = h.find("<rect", p + 1)) {
    ++bars;
  }
  EXPECT_EQ(bars, 6u);
}

TEST(ReportViewTest, APartialDocumentShowsZerosInsteadOfThrowing) {
  for (const auto& doc :
       {nlohmann::json::object(), nlohmann::json(nullptr),
        nlohmann::json::parse(R"({"shared": {"records": "x", "by_peer": 3},
                                  "days": [1, {"date": 5}]})")}) {
    std::ostringstream out;
    EXPECT_NO_THROW(PrintReportText(doc, out));
    std::string html;
    EXPECT_NO_THROW(html = ReportHtml(doc));
    EXPECT_NE(html.find("id=\"total-shared\">0<"), std::string::npos);
  }
}

}  // namespace
}  // namespace caravan::tools
