#include "daemon/link/link_metrics.h"

namespace caravan::daemon::link {

std::vector<CollectedFamily> PreauthMetrics(
    const std::map<std::string, uint64_t>& by_reason, size_t in_progress) {
  CollectedFamily failures;
  failures.name = "caravan_link_handshake_failures_total";
  failures.help =
      "Link handshakes that failed or were refused before authentication, "
      "both directions, by reason (timeout, closed, malformed, "
      "unknown_identity, over_capacity, other).";
  failures.type = MetricType::kCounter;
  failures.label_names = {"reason"};
  for (const auto& [reason, count] : by_reason) {
    failures.samples.push_back({{reason}, static_cast<double>(count)});
  }
  CollectedFamily pending;
  pending.name = "caravan_link_handshakes_in_progress";
  pending.help = "Inbound link handshakes in progress (holding a slot).";
  pending.type = MetricType::kGauge;
  pending.samples.push_back({{}, static_cast<double>(in_progress)});
  return {std::move(failures), std::move(pending)};
}

CollectedFamily RefusalMetrics(const std::map<std::string, uint64_t>& received,
                               const std::map<std::string, uint64_t>& sent) {
  CollectedFamily family;
  family.name = "caravan_link_roster_refusals_total";
  family.help =
      "Authenticated roster refusals: received (a member told us we are not "
      "on its roster) and sent (we told an identity not on ours), by reason.";
  family.type = MetricType::kCounter;
  family.label_names = {"direction", "reason"};
  for (const auto& [direction, counts] :
       {std::pair{"received", &received}, std::pair{"sent", &sent}}) {
    std::map<std::string, uint64_t> all = {{"not_on_roster", 0}};
    for (const auto& [reason, count] : *counts) all[reason] = count;
    for (const auto& [reason, count] : all) {
      family.samples.push_back({{direction, reason}, static_cast<double>(count)});
    }
  }
  return family;
}

}  // namespace caravan::daemon::link
