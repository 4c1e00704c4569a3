#include "daemon/node/warninglist_state.h"

#include "daemon/sync/warninglist_flag.h"

namespace caravan::daemon {

WarninglistState::WarninglistState(
    protocol::NodeConfig::Warninglists config)
    : config_(std::move(config)),
      current_(std::make_shared<const protocol::WarninglistSet>()) {}

Status WarninglistState::Reload() {
  // Loading (a few MB of JSON) happens outside the lock: readers keep the
  // running set meanwhile.
  auto loaded = protocol::LoadWarninglistDir(
      config_.dir, config_.subdomains ? protocol::HostnameMatch::kSubdomain
                                      : protocol::HostnameMatch::kExact);
  if (!loaded.ok()) return loaded.status();
  std::lock_guard lock(mu_);
  current_ = std::move(*loaded);
  return Status::Ok();
}

std::shared_ptr<const protocol::WarninglistSet> WarninglistState::current()
    const {
  std::lock_guard lock(mu_);
  return current_;
}

Status ScreenSubmission(const WarninglistState* state,
                        const protocol::Indicator& indicator, bool force,
                        SubmissionOutcome& outcome) {
  if (state == nullptr) return Status::Ok();
  auto match = state->current()->Match(indicator.type, indicator.value);
  if (!match) return Status::Ok();
  if (state->refuse() && !force) return sync::WarninglistRefusal(*match);
  outcome.warninglist = std::move(match);
  outcome.forced = force;
  return Status::Ok();
}

Status FlagSubmissions(store::WriteTxn& txn,
                       const std::vector<SubmissionOutcome>& outcomes,
                       const std::string& actor) {
  for (const auto& o : outcomes) {
    if (!o.error.ok() || !o.warninglist) continue;
    if (o.unchanged && !o.forced) continue;
    CARAVAN_RETURN_IF_ERROR(sync::RecordWarninglistHit(
        txn, o.id, *o.warninglist, o.forced, actor, ""));
  }
  return Status::Ok();
}

}  // namespace caravan::daemon
