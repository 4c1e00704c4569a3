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

}  // namespace caravan::daemon::link
