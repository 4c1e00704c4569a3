// The text view of `caravan report`: a summary, then one aligned table per
// question (what left, what was held back, what arrived, per day).
#include <string>
#include <vector>

#include "tools/report_fields.h"
#include "tools/report_view.h"
#include "tools/table.h"

namespace caravan::tools {
namespace {

using report::Count;
using report::Field;
using report::List;
using report::RuleText;
using report::Text;

std::string N(uint64_t n) { return std::to_string(n); }

// A table of `rows`, each cell Text(row, column); or "(none)".
void PrintRows(std::ostream& out, const std::string& title,
               const nlohmann::json& rows,
               const std::vector<std::string>& headers,
               const std::vector<std::string>& columns) {
  out << "\n" << title << "\n";
  if (rows.empty()) {
    out << "  (none)\n";
    return;
  }
  Table t(headers);
  for (const auto& r : rows) {
    std::vector<std::string> cells;
    for (const auto& c : columns) {
      cells.push_back(c == "rule" ? RuleText(r) : Text(r, c.c_str()));
    }
    t.AddRow(std::move(cells));
  }
  t.Print(out);
}

}  // namespace

void PrintReportText(const nlohmann::json& doc, std::ostream& out) {
  const auto& node = Field(doc, "node");
  const auto& shared = Field(doc, "shared");
  const auto& withdrawn = Field(doc, "withdrawn");
  const auto& withheld = Field(doc, "withheld");
  const auto& received = Field(doc, "received");
  out << "Sovereignty report of " << Text(node, "name") << " ("
      << Text(node, "country") << "), " << Text(doc, "since") << " to "
      << Text(doc, "until") << "\n\n";
  Table summary({"", "RECORDS"});
  summary.AddRow({"shared (left the country)", N(Count(shared, "records"))});
  summary.AddRow({"withdrawn from peers", N(Count(withdrawn, "records"))});
  summary.AddRow({"withheld by rule", N(Count(withheld, "withheld"))});
  summary.AddRow({"deferred (quota, embargo)", N(Count(withheld, "deferred"))});
  summary.AddRow({"accepted from peers", N(Count(received, "accepted"))});
  summary.AddRow({"quarantined", N(Count(received, "quarantined"))});
  summary.AddRow({"rejected", N(Count(received, "rejected"))});
  summary.Print(out);

  PrintRows(out, "What left, by peer", List(shared, "by_peer"),
            {"PEER", "COUNTRY", "RECORDS"}, {"peer", "country", "records"});
  PrintRows(out, "What left, by rule", List(shared, "by_rule"),
            {"PEER", "COUNTRY", "RULE", "RECORDS"},
            {"peer", "country", "rule", "records"});
  PrintRows(out, "What left, by TLP", List(shared, "by_tlp"),
            {"TLP", "RECORDS"}, {"tlp", "records"});
  PrintRows(out, "What left, by type", List(shared, "by_type"),
            {"TYPE", "RECORDS"}, {"type", "records"});
  PrintRows(out, "Withdrawn from peers", List(withdrawn, "by_peer"),
            {"PEER", "COUNTRY", "RECORDS"}, {"peer", "country", "records"});
  PrintRows(out, "Held back, by reason", List(withheld, "by_category"),
            {"REASON", "RECORDS"}, {"category", "records"});
  PrintRows(out, "Held back, by rule", List(withheld, "by_rule"),
            {"ACTION", "PEER", "COUNTRY", "REASON", "RULE", "RECORDS"},
            {"action", "peer", "country", "category", "rule", "records"});
  PrintRows(out, "What arrived, by peer", List(received, "by_peer"),
            {"PEER", "COUNTRY", "ACCEPTED", "QUARANTINED", "REJECTED"},
            {"peer", "country", "accepted", "quarantined", "rejected"});

  // Days with nothing decided are left out of the text (the JSON and the
  // HTML chart keep them).
  nlohmann::json active = nlohmann::json::array();
  for (const auto& d : List(doc, "days")) {
    uint64_t sum = 0;
    for (const char* c : {"shared", "withdrawn", "withheld", "deferred",
                          "accepted", "quarantined", "rejected"}) {
      sum += Count(d, c);
    }
    if (sum != 0) active.push_back(d);
  }
  PrintRows(out, "Per day (days with decisions)", active,
            {"DATE", "SHARED", "WITHDRAWN", "WITHHELD", "DEFERRED", "ACCEPTED",
             "QUARANTINED", "REJECTED"},
            {"date", "shared", "withdrawn", "withheld", "deferred", "accepted",
             "quarantined", "rejected"});
}

}  // namespace caravan::tools
