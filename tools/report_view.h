#pragma once
// The two views of a `caravan report` document (docs/report.md) besides
// --json: aligned text tables for a terminal, and one self-contained HTML
// file (inline CSS, inline SVG charts drawn here, no script, no external
// asset) for a CERT head. Both only lay out the daemon's document: every
// number shown is one of its numbers. A key the document lacks (an older
// daemon) shows as 0 or empty, never throws.
//
// Pure functions; thread-safe.

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

namespace caravan::tools {

void PrintReportText(const nlohmann::json& report, std::ostream& out);

std::string ReportHtml(const nlohmann::json& report);

}  // namespace caravan::tools
