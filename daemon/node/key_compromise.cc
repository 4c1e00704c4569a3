// `caravan key compromised --since TIME [--key K]` at the victim, after it
// rotated its identity key (issue 16; docs/federation.md, "Compromise"): a
// key it rotated away from (K0, retired at T; without --key the one it
// retired last, retired_key_choice.h) is distrusted for records
// created at or after TIME. Our own indicators K0 signed in [TIME, T) are
// quarantined (kept as evidence, leave no more); revisions made after T are
// signed by the current key and stay. A compromise notice issued by the
// current key (issuer K1, compromised K0) goes to every peer we delivered
// K0's records to since TIME; a peer accepts it because K1 is K0's
// successor in the chain it holds, and applies its
// [inbound] act_on_compromise_notices.
#include <ctime>

#include "crypto/key_text.h"
#include "daemon/node/control_dispatcher.h"
#include "daemon/node/control_wire.h"
#include "daemon/node/indicator_json.h"
#include "daemon/node/node.h"
#include "daemon/node/retired_key_choice.h"
#include "daemon/observe/log.h"
#include "daemon/sync/compromise_notice.h"
#include "daemon/sync/pending_notices.h"
#include "protocol/time_text.h"

namespace caravan::daemon {

Result<std::string> ControlDispatcher::KeyCompromised(int64_t since, const std::string& key,
                                                      const std::string& actor) {
  const int64_t now = std::time(nullptr);
  if (node_.reload_requested()) {
    // The node's store and links are closing: declare it to the next one.
    return RetryLater("caravand is reloading under its new identity key; try again in a moment");
  }
  const auto roster = node_.roster();
  auto chosen = ChooseRetiredKey(node_.own_keys(), key, *roster);
  if (!chosen.ok()) return chosen.status();
  const protocol::PublicKey retired = *chosen;
  // Its own rotation's time, also for a key retired before the last one
  // (K0 of K0 -> K1 -> K2 signed nothing after K0 -> K1).
  const crypto::RotationStatement* rotation = roster->chains().RetiredBy(retired);
  if (rotation == nullptr) return Internal("the rotation of our retired key is not in the store");
  const int64_t until = rotation->rotated_at;
  if (since < 0) return InvalidInput("--since must not be before 1970");
  if (since >= until) {
    return InvalidInput("--since " + protocol::FormatTime(since) +
                        " is not before the rotation at " + protocol::FormatTime(until) +
                        ": the retired key signed nothing of ours after it");
  }
  std::vector<std::string> holders;  // peers we gave K0's records since TIME
  {
    auto peers = node_.WithReader(
        [&](store::Reader& reader) { return reader.PeersHolding(retired, since); });
    if (!peers.ok()) return peers.status();
    holders = std::move(*peers);
  }
  std::vector<protocol::IndicatorId> quarantined;
  const std::string name = node_.config().node.name;
  // Recorded like a member's compromised key, so that `quarantine list`,
  // `show` and `query` give the reason, and the outbound compromised_key
  // rule (up to the rotation, through our own chain) holds the records too.
  store::CompromisedKey declared;
  declared.key = retired;
  declared.since = since;
  declared.declared_at = now;
  declared.declared_by = node_.identity().public_key();
  declared.name = node_.config().node.name;
  declared.action = store::CompromiseAction::kQuarantine;
  // Stored with the declaration: a restart or reload loses neither.
  const sync::CompromiseNotice notice =
      sync::SignCompromiseNotice(node_.identity(), retired, since, now);
  Status written = node_.store().Write([&](store::WriteTxn& txn) -> Status {
    CARAVAN_RETURN_IF_ERROR(txn.PutCompromised(declared));
    CARAVAN_RETURN_IF_ERROR(sync::StorePendingNotice(txn, notice, holders));
    auto ids = txn.QuarantineOrigin(retired, since, until);
    if (!ids.ok()) return ids.status();
    quarantined = std::move(*ids);
    std::vector<store::AuditEvent> audit;
    audit.push_back({txn.now(), actor, "identity-key-compromised", name, "",
                     DumpJson({{"key", crypto::KeyText(retired)},
                               {"fingerprint", crypto::Fingerprint(retired)},
                               {"since", protocol::FormatTime(since)},
                               {"rotated_at", protocol::FormatTime(until)},
                               {"quarantined", quarantined.size()},
                               {"notified", holders}})});
    for (const auto& id : quarantined) {
      audit.push_back({txn.now(), actor, "quarantine", protocol::IdToHex(id), "",
                       DumpJson({{"reason", "compromised_key"}})});
    }
    auto a = txn.AppendAudits(audit);
    return a.ok() ? Status::Ok() : a.status();
  }).get();
  if (!written.ok()) return written;
  if (!holders.empty()) node_.NoticesQueued(holders);
  LogNotice("keys: retired identity key ", crypto::Fingerprint(retired),
            " declared compromised since ", protocol::FormatTime(since), " by ", actor, ": ",
            quarantined.size(), " indicators quarantined, notice to ", holders.size(), " peers");
  nlohmann::json ids = nlohmann::json::array();
  for (const auto& id : quarantined) ids.push_back(protocol::IdToHex(id));
  return DumpJson({{"key", crypto::KeyText(retired)},
                   {"fingerprint", crypto::Fingerprint(retired)},
                   {"since", TimeOrNull(since)},
                   {"rotated_at", TimeOrNull(until)},
                   {"quarantined", quarantined.size()},
                   {"ids", std::move(ids)},
                   {"notified", holders}});
}

}  // namespace caravan::daemon
