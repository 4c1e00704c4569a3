#pragma once
// WarninglistState: the MISP warninglists the node runs on (loaded from
// [warninglists] dir, docs/warninglists.md), swapped whole on reload, plus
// the on_match setting. A broken directory at start is a config error; on
// reload it leaves the running set in place.
//
// Thread-safety: all methods may be called from any thread; readers get a
// shared_ptr to an immutable set and keep it as long as they need it.

#include <memory>
#include <mutex>

#include "daemon/node/submitter.h"
#include "daemon/store/write_txn.h"
#include "protocol/config/node_config.h"
#include "protocol/status.h"
#include "protocol/formats/warninglist.h"

namespace caravan::daemon {

class WarninglistState {
 public:
  explicit WarninglistState(protocol::NodeConfig::Warninglists config);

  // Loads every *.json of the configured dir (none when dir is unset). On
  // success the new set replaces the running one; on failure (a missing
  // dir, a broken file: the message lists every one) the running set
  // stays and the loader's status is returned.
  Status Reload();

  // Never null (an empty set before the first load or when off).
  std::shared_ptr<const protocol::WarninglistSet> current() const;

  // on_match = "refuse": matching submissions are refused without --force.
  bool refuse() const {
    return config_.on_match ==
           protocol::NodeConfig::Warninglists::OnMatch::kRefuse;
  }
  const protocol::NodeConfig::Warninglists& config() const { return config_; }

 private:
  const protocol::NodeConfig::Warninglists config_;
  mutable std::mutex mu_;
  std::shared_ptr<const protocol::WarninglistSet> current_;  // guarded by mu_
};

// The submitter's hooks (docs/warninglists.md).
//
// Before the store write, for one built submission: ok with
// `outcome.warninglist` (and `outcome.forced`) set when a list matches and
// it may be stored; the refusal (InvalidInput naming list and entry) when
// on_match = "refuse" and not `force`. `state` null: ok, no match.
Status ScreenSubmission(const WarninglistState* state,
                        const protocol::Indicator& indicator, bool force,
                        SubmissionOutcome& outcome);

// Inside the store write, after the records are stored: stores and audits
// the hit of every outcome that matched (an unchanged one only when forced,
// so a re-import does not flood the audit log).
Status FlagSubmissions(store::WriteTxn& txn,
                       const std::vector<SubmissionOutcome>& outcomes,
                       const std::string& actor);

}  // namespace caravan::daemon
