// The `report` control request (docs/report.md): the store counts the
// period's record decisions with SQL aggregates; report_json.cc lays them
// out. Nothing here walks the audit log row by row.
#include <ctime>

#include "daemon/node/control_dispatcher.h"
#include "daemon/node/indicator_json.h"
#include "daemon/node/node.h"
#include "daemon/node/report_json.h"
#include "daemon/sync/inbound.h"

namespace caravan::daemon {

Result<std::string> ControlDispatcher::Report(
    protocol::wire::ReportQuery::Reader q) {
  ReportContext ctx;
  ctx.generated = std::time(nullptr);
  ctx.since = q.getSince();
  ctx.until = q.getUntil() == 0 ? ctx.generated : q.getUntil();
  if (ctx.since < 0 || ctx.until < ctx.since) {
    return InvalidInput("report: the period ends (" + std::to_string(ctx.until) +
                        ") before it starts (" + std::to_string(ctx.since) +
                        ")");
  }
  ctx.node_name = node_.config().node.name;
  ctx.node_country = node_.config().node.country;
  // The running roster (roster.toml), for the countries of peers whose
  // entries name none; a peer removed since shows without one.
  if (auto roster = node_.roster()) {
    for (const auto& m : roster->members()) {
      ctx.peer_countries[m.name] = m.country;
    }
  }
  return node_.WithReader([&](store::Reader& reader) -> Result<std::string> {
    auto counts = reader.CountDecisions(ctx.since, ctx.until);
    if (!counts.ok()) return counts.status();
    return DumpJson(ReportJson(ctx, *counts));
  });
}

}  // namespace caravan::daemon
