// `caravan peers compromised NAME --since TIME` (issue 16,
// docs/federation.md "Compromise"): the member's current identity key is
// distrusted for records created at or after TIME. Those records are
// quarantined (kept as evidence, not deleted: `quarantine list` shows them
// with reason compromised_key), never leave again (policy rule
// compromised_key), and a member is only trusted again when added back
// with a new key (CheckNotCompromised). The declaration names a key, not
// a name: a member that rotated its identity key keeps its new key.
#include <ctime>

#include "crypto/key_text.h"
#include "daemon/node/control_dispatcher.h"
#include "daemon/node/control_wire.h"
#include "daemon/node/indicator_json.h"
#include "daemon/node/node.h"
#include "daemon/sync/compromise_notice.h"
#include "daemon/sync/pending_notices.h"
#include "protocol/config/roster_file.h"

namespace caravan::daemon {

// A `since` later than now (plus this much clock skew) is refused: a
// compromise is declared for what already happened.
inline constexpr int64_t kCompromiseClockSkewSeconds = 120;

Status ControlDispatcher::CheckNotCompromised(const protocol::PublicKey& key) {
  auto trust = node_.WithReader(
      [](store::Reader& reader) { return reader.GetMemberTrust(); });
  if (!trust.ok()) return trust.status();
  auto it = trust->compromised.find(key);
  if (it == trust->compromised.end()) return Status::Ok();
  return InvalidInput("key " + crypto::Fingerprint(key) + " of " +
                      it->second.name +
                      " was declared compromised; add the member back only "
                      "with its new key");
}

Result<std::string> ControlDispatcher::PeersCompromised(
    protocol::wire::PeerCompromised::Reader c, const std::string& actor) {
  const std::string name = Str(c.getName());
  const int64_t since = c.getSince();
  const int64_t now = std::time(nullptr);
  if (since < 0) return InvalidInput("--since must not be before 1970");
  if (since > now + kCompromiseClockSkewSeconds) {
    return InvalidInput("--since is in the future (" +
                        std::to_string(since - now) +
                        " s from now): a compromise covers what happened");
  }
  auto roster = protocol::LoadRosterFile(node_.config().peers.roster);
  if (!roster.ok()) return roster.status();
  const protocol::RosterMember* member = nullptr;
  for (const auto& m : *roster) {
    if (m.name == name) member = &m;
  }
  if (member == nullptr) return NotFound("no roster member " + name);
  store::CompromisedKey declared;
  declared.key = member->key;
  declared.since = since;
  declared.declared_at = now;
  declared.declared_by = node_.identity().public_key();
  declared.name = name;
  declared.action = store::CompromiseAction::kQuarantine;
  std::vector<protocol::IndicatorId> quarantined;
  std::vector<std::string> holders;  // peers we gave such records
  {
    auto peers = node_.WithReader([&](store::Reader& reader) {
      return reader.PeersHolding(declared.key, since);
    });
    if (!peers.ok()) return peers.status();
    for (auto& p : *peers) {
      if (p != name) holders.push_back(std::move(p));
    }
  }
  // Signed by us: each holder checks it against our key on its roster.
  // Stored with the declaration: a restart or reload loses neither.
  const sync::CompromiseNotice notice = sync::SignCompromiseNotice(
      node_.identity(), declared.key, since, now);
  Status written = node_.store().Write([&](store::WriteTxn& txn) -> Status {
    CARAVAN_RETURN_IF_ERROR(txn.PutCompromised(declared));
    CARAVAN_RETURN_IF_ERROR(sync::StorePendingNotice(txn, notice, holders));
    auto ids = txn.QuarantineOrigin(declared.key, since);
    if (!ids.ok()) return ids.status();
    quarantined = std::move(*ids);
    std::vector<store::AuditEvent> audit;
    audit.push_back({txn.now(), actor, "peer-compromised", name, name,
                     DumpJson({{"key", protocol::PublicKeyToText(declared.key)},
                               {"since", since},
                               {"quarantined", quarantined.size()},
                               {"notified", holders}})});
    // One entry per quarantined indicator, so `audit --id` finds why.
    for (const auto& id : quarantined) {
      audit.push_back({txn.now(), actor, "quarantine", protocol::IdToHex(id),
                       name, DumpJson({{"reason", "compromised_key"}})});
    }
    auto a = txn.AppendAudits(audit);
    return a.ok() ? Status::Ok() : a.status();
  }).get();
  if (!written.ok()) return written;
  if (!holders.empty()) node_.NoticesQueued(holders);
  node_.metrics()
      .member_trust_events.With({std::string(kTrustCompromiseDeclared)})
      .Inc();
  // Links with that key end now and are refused from now on.
  CARAVAN_RETURN_IF_ERROR(node_.RefuseCompromisedKeys());
  nlohmann::json ids = nlohmann::json::array();
  for (const auto& id : quarantined) ids.push_back(protocol::IdToHex(id));
  return DumpJson({{"name", name},
                   {"key", protocol::PublicKeyToText(declared.key)},
                   {"fingerprint", crypto::Fingerprint(declared.key)},
                   {"since", TimeOrNull(since)},
                   {"quarantined", quarantined.size()},
                   {"ids", std::move(ids)},
                   {"notified", holders}});
}

Status Node::RefuseCompromisedKeys() {
  auto trust = WithReader(
      [](store::Reader& reader) { return reader.GetMemberTrust(); });
  if (!trust.ok()) return trust.status();
  std::set<protocol::PublicKey> refused;
  for (const auto& [key, c] : trust->compromised) {
    if (c.action == store::CompromiseAction::kQuarantine) refused.insert(key);
  }
  {
    std::lock_guard lock(roster_mu_);
    refused_keys_ = std::move(refused);
  }
  return links_ ? ReloadRoster() : Status::Ok();
}

}  // namespace caravan::daemon
