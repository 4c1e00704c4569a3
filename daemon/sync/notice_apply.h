#pragma once
// Applying one received compromise notice (issue 16, docs/federation.md
// "Compromise"), whichever way it came: on a direct link
// (PeerMessage.compromiseNotice, compromise_exchange.cc) or inside a
// sealed batch through a hub (SealedInner.notices, hub_relay.cc). Both
// check and apply it the same way, per [inbound] act_on_compromise_notices,
// and audit it (`compromise-notice`, actor "peer:FROM") whether it was
// applied, ignored or refused.
//
// Synchronous (signature check and one store write): call it on the
// worker pool. Thread-safe.

#include <cstdint>
#include <string>

#include "daemon/store/store.h"
#include "daemon/sync/compromise_notice.h"
#include "protocol/config/node_config.h"

namespace caravan::daemon::sync {

// What became of one received notice.
struct NoticeOutcome {
  std::string event;   // caravan_member_trust_events_total label
  std::string result;  // "quarantine", "flag", "ignore", "refused", "error"
  std::string reason;  // refusals and errors: why
  uint64_t quarantined = 0;
  bool refuse_links = false;  // a key was quarantined: refuse its links
};

struct NoticeSource {
  std::string from;  // the member that sent it (roster name)
  std::string via;   // the hub it came through; empty on a direct link
};

// Checks `notice` (CheckCompromiseNotice, a notice about our own key, a
// replay by its digest) and applies it per `act` in one store write with
// its audit entry. A store failure is an outcome ("error"), not a throw.
NoticeOutcome ApplyCompromiseNotice(
    store::Store& store, const RosterIndex& roster,
    protocol::NodeConfig::Inbound::OnCompromiseNotice act,
    const protocol::PublicKey& self, const NoticeSource& source,
    const Result<CompromiseNotice>& notice, int64_t now);

}  // namespace caravan::daemon::sync
