// The HTML view of `caravan report`: one file a CERT head opens in any
// browser, offline. Inline CSS and inline SVG only; a Content-Security-
// Policy of default-src 'none' makes the browser refuse anything else, so
// the file cannot fetch or run anything even if a peer's name tried to.
// Every text from the document is escaped.
#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "tools/report_fields.h"
#include "tools/report_view.h"

namespace caravan::tools {
namespace {

using report::Count;
using report::Field;
using report::List;
using report::RuleText;
using report::Text;

std::string Esc(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

constexpr const char* kStyle = R"css(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1000px;color:#1d2733;background:#fff;padding:0 1em}
h1{font-size:1.7em;margin:0 0 .2em}h2{font-size:1.25em;margin:1.8em 0 .5em;border-bottom:2px solid #dde3ea;padding-bottom:.2em}
.period{color:#556;margin:0 0 1.2em}
.cards{display:flex;flex-wrap:wrap;gap:.8em}
.card{flex:1 1 120px;border-radius:8px;padding:.7em .9em;background:#f2f5f8;border-left:6px solid #8795a1}
.card .n{display:block;font-size:1.6em;font-weight:600}.card .l{color:#445}
.card.shared{border-color:#2e6fd8}.card.held{border-color:#e07b24}.card.in{border-color:#2f9e5a}.card.q{border-color:#b83b5e}
table{border-collapse:collapse;margin:.4em 0 1em;min-width:50%}
th,td{padding:.25em .8em;text-align:left;border-bottom:1px solid #e4e8ec}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f2f5f8;font-weight:600}
.none{color:#778;font-style:italic}
svg{display:block;margin:.4em 0 1em;max-width:100%;height:auto}
svg text{font:11px system-ui,sans-serif;fill:#334}
.legend span{display:inline-block;margin-right:1.2em}.legend i{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:-1px}
)css";

struct Column {
  std::string header, key;
  bool number = false;
};

std::string TableHtml(const std::string& id, const nlohmann::json& rows,
                      const std::vector<Column>& columns) {
  if (rows.empty()) return "<p class=\"none\">none</p>\n";
  std::ostringstream o;
  o << "<table id=\"" << id << "\"><thead><tr>";
  for (const auto& c : columns) {
    o << "<th" << (c.number ? " class=\"n\"" : "") << ">" << Esc(c.header)
      << "</th>";
  }
  o << "</tr></thead><tbody>\n";
  for (const auto& r : rows) {
    o << "<tr>";
    for (const auto& c : columns) {
      const std::string v = c.key == "rule" ? RuleText(r) : Text(r, c.key.c_str());
      o << "<td" << (c.number ? " class=\"n\"" : "") << ">" << Esc(v) << "</td>";
    }
    o << "</tr>\n";
  }
  o << "</tbody></table>\n";
  return o.str();
}

// Horizontal bars, one per row: label, bar scaled to the largest, value.
std::string BarsSvg(const std::string& id, const nlohmann::json& rows,
                    const char* label_key, const char* color) {
  if (rows.empty()) return "";
  constexpr int kRow = 24, kLabel = 170, kBar = 560, kWidth = 820;
  uint64_t max = 1;
  for (const auto& r : rows) max = std::max(max, Count(r, "records"));
  const int height = static_cast<int>(rows.size()) * kRow + 8;
  std::ostringstream o;
  o << "<svg id=\"" << id << "\" xmlns=\"http://www.w3.org/2000/svg\" "
    << "width=\"" << kWidth << "\" height=\"" << height << "\" viewBox=\"0 0 "
    << kWidth << " " << height << "\" role=\"img\">\n";
  int y = 4;
  for (const auto& r : rows) {
    const uint64_t n = Count(r, "records");
    const int w = n == 0 ? 0
                         : std::max(1, static_cast<int>(
                                           static_cast<double>(n) * kBar /
                                           static_cast<double>(max)));
    o << "<text x=\"" << kLabel - 8 << "\" y=\"" << y + 15
      << "\" text-anchor=\"end\">" << Esc(Text(r, label_key)) << "</text>"
      << "<rect x=\"" << kLabel << "\" y=\"" << y + 3 << "\" width=\"" << w
      << "\" height=\"" << kRow - 8 << "\" fill=\"" << color << "\"/>"
      << "<text x=\"" << kLabel + w + 6 << "\" y=\"" << y + 15 << "\">" << n
      << "</text>\n";
    y += kRow;
  }
  o << "</svg>\n";
  return o.str();
}

struct Series {
  const char* name;
  const char* color;
  std::vector<const char*> columns;  // summed
};

// Per day, three bars side by side: shared, held back, arrived.
std::string DaysSvg(const nlohmann::json& days) {
  if (days.empty()) return "<p class=\"none\">no days in the period</p>\n";
  const std::vector<Series> series = {
      {"shared", "#2e6fd8", {"shared"}},
      {"held back", "#e07b24", {"withheld", "deferred"}},
      {"arrived", "#2f9e5a", {"accepted", "quarantined"}}};
  constexpr int kWidth = 900, kHeight = 260, kLeft = 56, kBottom = 28,
                kTop = 10;
  const int plot_w = kWidth - kLeft - 10, plot_h = kHeight - kTop - kBottom;
  auto value = [](const nlohmann::json& d, const Series& s) {
    uint64_t v = 0;
    for (const char* c : s.columns) v += Count(d, c);
    return v;
  };
  uint64_t max = 1;
  for (const auto& d : days) {
    for (const auto& s : series) max = std::max(max, value(d, s));
  }
  const double slot = static_cast<double>(plot_w) / static_cast<double>(days.size());
  const double bar = std::max(1.0, slot * 0.8 / static_cast<double>(series.size()));
  std::ostringstream o;
  o << "<svg id=\"chart-days\" xmlns=\"http://www.w3.org/2000/svg\" width=\""
    << kWidth << "\" height=\"" << kHeight << "\" viewBox=\"0 0 " << kWidth
    << " " << kHeight << "\" role=\"img\">\n";
  // Axis and three gridlines with their values.
  for (int i = 0; i <= 2; ++i) {
    const double y = kTop + plot_h - plot_h * i / 2.0;
    o << "<line x1=\"" << kLeft << "\" x2=\"" << kWidth - 10 << "\" y1=\"" << y
      << "\" y2=\"" << y << "\" stroke=\"#dde3ea\"/>"
      << "<text x=\"" << kLeft - 6 << "\" y=\"" << y + 4
      << "\" text-anchor=\"end\">" << max * static_cast<uint64_t>(i) / 2
      << "</text>\n";
  }
  size_t i = 0;
  const size_t label_every = std::max<size_t>(1, days.size() / 8);
  for (const auto& d : days) {
    const double x0 = kLeft + slot * static_cast<double>(i) + slot * 0.1;
    for (size_t k = 0; k < series.size(); ++k) {
      const uint64_t v = value(d, series[k]);
      const double h = static_cast<double>(v) * plot_h / static_cast<double>(max);
      o << "<rect x=\"" << x0 + bar * static_cast<double>(k) << "\" y=\""
        << kTop + plot_h - h << "\" width=\"" << bar << "\" height=\"" << h
        << "\" fill=\"" << series[k].color << "\"><title>"
        << Esc(Text(d, "date")) << " " << series[k].name << ": " << v
        << "</title></rect>";
    }
    if (i % label_every == 0) {
      o << "<text x=\"" << x0 << "\" y=\"" << kHeight - 8 << "\">"
        << Esc(Text(d, "date")) << "</text>";
    }
    o << "\n";
    ++i;
  }
  o << "</svg>\n<p class=\"legend\">";
  for (const auto& s : series) {
    o << "<span><i style=\"background:" << s.color << "\"></i>" << s.name
      << "</span>";
  }
  o << "</p>\n";
  return o.str();
}

std::string Card(const char* id, const char* css, uint64_t n,
                 const char* label) {
  return std::string("<div class=\"card ") + css + "\"><span class=\"n\" id=\"" +
         id + "\">" + std::to_string(n) + "</span><span class=\"l\">" + label +
         "</span></div>\n";
}

}  // namespace

std::string ReportHtml(const nlohmann::json& doc) {
  const auto& node = Field(doc, "node");
  const auto& shared = Field(doc, "shared");
  const auto& withdrawn = Field(doc, "withdrawn");
  const auto& withheld = Field(doc, "withheld");
  const auto& received = Field(doc, "received");
  const std::string who = Text(node, "name") + " (" + Text(node, "country") + ")";
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    << "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
       "'none'; style-src 'unsafe-inline'\">\n"
    << "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
    << "<title>Sovereignty report: " << Esc(who) << "</title>\n<style>"
    << kStyle << "</style></head>\n<body>\n"
    << "<h1>Sovereignty report</h1>\n<p class=\"period\">" << Esc(who)
    << " &middot; <span id=\"since\">" << Esc(Text(doc, "since"))
    << "</span> to <span id=\"until\">" << Esc(Text(doc, "until"))
    << "</span> &middot; generated " << Esc(Text(doc, "generated"))
    << "</p>\n<div class=\"cards\">\n"
    << Card("total-shared", "shared", Count(shared, "records"), "shared")
    << Card("total-withdrawn", "shared", Count(withdrawn, "records"), "withdrawn")
    << Card("total-withheld", "held", Count(withheld, "withheld"), "withheld")
    << Card("total-deferred", "held", Count(withheld, "deferred"), "deferred")
    << Card("total-accepted", "in", Count(received, "accepted"), "accepted")
    << Card("total-quarantined", "q", Count(received, "quarantined"),
            "quarantined")
    << Card("total-rejected", "q", Count(received, "rejected"), "rejected")
    << "</div>\n";

  o << "<h2>Per day</h2>\n" << DaysSvg(List(doc, "days"));

  o << "<h2>What left the country</h2>\n<h3>By TLP</h3>\n"
    << BarsSvg("chart-tlp", List(shared, "by_tlp"), "tlp", "#2e6fd8")
    << TableHtml("shared-by-tlp", List(shared, "by_tlp"),
                 {{"TLP", "tlp"}, {"Records", "records", true}})
    << "<h3>By type</h3>\n"
    << TableHtml("shared-by-type", List(shared, "by_type"),
                 {{"Type", "type"}, {"Records", "records", true}})
    << "<h3>By peer</h3>\n"
    << TableHtml("shared-by-peer", List(shared, "by_peer"),
                 {{"Peer", "peer"}, {"Country", "country"},
                  {"Records", "records", true}})
    << "<h3>By rule</h3>\n"
    << TableHtml("shared-by-rule", List(shared, "by_rule"),
                 {{"Peer", "peer"}, {"Country", "country"}, {"Rule", "rule"},
                  {"Records", "records", true}})
    << "<h3>Withdrawn from peers</h3>\n"
    << TableHtml("withdrawn-by-peer", List(withdrawn, "by_peer"),
                 {{"Peer", "peer"}, {"Country", "country"},
                  {"Records", "records", true}});

  o << "<h2>What was held back</h2>\n"
    << BarsSvg("chart-withheld", List(withheld, "by_category"), "category",
               "#e07b24")
    << TableHtml("withheld-by-category", List(withheld, "by_category"),
                 {{"Reason", "category"}, {"Records", "records", true}})
    << TableHtml("withheld-by-rule", List(withheld, "by_rule"),
                 {{"Action", "action"}, {"Peer", "peer"}, {"Country", "country"},
                  {"Reason", "category"}, {"Rule", "rule"},
                  {"Records", "records", true}});

  o << "<h2>What arrived</h2>\n"
    << TableHtml("received-by-peer", List(received, "by_peer"),
                 {{"Peer", "peer"}, {"Country", "country"},
                  {"Accepted", "accepted", true},
                  {"Quarantined", "quarantined", true},
                  {"Rejected", "rejected", true}})
    << TableHtml("received-by-rule", List(received, "by_rule"),
                 {{"Action", "action"}, {"Peer", "peer"}, {"Rule", "rule"},
                  {"Records", "records", true}});

  o << "<h2>Per day, in numbers</h2>\n"
    << TableHtml("days", List(doc, "days"),
                 {{"Date", "date"}, {"Shared", "shared", true},
                  {"Withdrawn", "withdrawn", true},
                  {"Withheld", "withheld", true},
                  {"Deferred", "deferred", true},
                  {"Accepted", "accepted", true},
                  {"Quarantined", "quarantined", true},
                  {"Rejected", "rejected", true}})
    << "</body></html>\n";
  return o.str();
}

}  // namespace caravan::tools
