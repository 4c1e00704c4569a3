// `caravan report`: the sovereignty report of a period (docs/report.md).
// The daemon counts (one control request, SQL aggregates in the store);
// this prints its document as text, JSON or one HTML file.
#include <ctime>
#include <fstream>
#include <iostream>
#include <tuple>

#include "protocol/control.capnp.h"
#include "protocol/time_text.h"
#include "tools/commands.h"
#include "tools/report_view.h"

namespace caravan::tools {

int RunReport(const GlobalOptions& global, const ReportOptions& o) {
  const int64_t now = std::time(nullptr);
  int64_t since = 0, until = 0;
  // Same forms as `caravan audit --since/--until`: RFC 3339 or a duration
  // back from now.
  for (auto [flag, text, out] : {std::tuple{"--since", &o.since, &since},
                                 std::tuple{"--until", &o.until, &until}}) {
    if (text->empty()) continue;
    auto t = protocol::ParseTime(*text, now);
    if (!t.ok()) {
      return Fail(InvalidInput(std::string(flag) + ": '" + *text +
                               "' is not a time (RFC 3339) or a duration "
                               "such as 30d"));
    }
    *out = *t;
  }
  if (until == 0) until = now;
  if (until < since) {
    return Fail(InvalidInput("--until " + protocol::FormatTime(until) +
                             " is before --since " +
                             protocol::FormatTime(since)));
  }
  capnp::MallocMessageBuilder message;
  auto r = message.initRoot<protocol::wire::Request>().initReport();
  r.setSince(since);
  r.setUntil(until);
  auto doc = CallForJson(global, message);
  if (!doc.ok()) return Fail(doc.status());
  if (!o.html.empty()) {
    std::ofstream file(o.html, std::ios::binary | std::ios::trunc);
    file << ReportHtml(*doc);
    file.close();
    if (!file) {
      return Fail(Internal("--html: cannot write '" + o.html + "'"));
    }
    std::cerr << "caravan: report written to " << o.html << "\n";
    return 0;
  }
  if (global.json) {
    PrintJson(*doc);
  } else {
    PrintReportText(*doc, std::cout);
  }
  return 0;
}

}  // namespace caravan::tools
