// `caravan peers remove NAME [--purge]` (issue 16, docs/federation.md
// "Leaving"): the member leaves the roster; its records stay with their
// signatures (evidence, and what our SIEMs already saw), never leave this
// node again (policy rule removed_member) and are left out of export and
// TAXII by default. --purge deletes them (records, revisions, deliveries,
// sightings; never the audit) in the same transaction as the audit entry
// that counts them.
#include <algorithm>

#include "crypto/key_text.h"
#include "daemon/node/control_dispatcher.h"
#include "daemon/node/control_wire.h"
#include "daemon/node/indicator_json.h"
#include "daemon/node/node.h"
#include "protocol/config/roster_file.h"

namespace caravan::daemon {
namespace {

nlohmann::json CountsJson(const store::PurgeCounts& c) {
  return {{"indicators", c.indicators},
          {"records", c.records},
          {"sightings", c.sightings},
          {"quarantined", c.quarantined}};
}

}  // namespace

Result<std::string> ControlDispatcher::PeersDepart(const std::string& name,
                                                   bool purge,
                                                   const std::string& actor) {
  const auto& path = node_.config().peers.roster;
  auto roster = protocol::LoadRosterFile(path);
  if (!roster.ok() && roster.status().code() != StatusCode::kNotFound) {
    return roster.status();
  }
  std::vector<protocol::RosterMember> members;
  if (roster.ok()) members = std::move(*roster);
  auto it = std::find_if(members.begin(), members.end(),
                         [&](const auto& m) { return m.name == name; });
  store::DepartedMember departed;
  departed.name = name;
  if (it != members.end()) {
    // Removing a hub others are routed through would write a roster that
    // no longer loads.
    CARAVAN_RETURN_IF_ERROR(protocol::CheckRemoveMember(members, name));
    departed.key = it->key;
  } else {
    // Already removed: only a purge of what it left behind is left to do.
    auto trust = node_.WithReader(
        [](store::Reader& reader) { return reader.GetMemberTrust(); });
    if (!trust.ok()) return trust.status();
    auto gone = std::find_if(
        trust->departed.begin(), trust->departed.end(),
        [&](const auto& d) { return d.second.name == name; });
    if (gone == trust->departed.end()) {
      return NotFound("no roster member " + name);
    }
    if (!purge) {
      return InvalidInput(name + " was already removed; `peers remove " +
                          name + " --purge` deletes the records it left");
    }
    departed.key = gone->first;
  }
  const bool on_roster = it != members.end();
  if (on_roster) members.erase(it);
  // The store first: a member recorded as departed is withheld from every
  // peer (removed_member) even if writing the roster file then fails,
  // while the reverse order could leave it off the roster but not marked.
  store::PurgeCounts counts;
  Status written = node_.store().Write([&](store::WriteTxn& txn) -> Status {
    departed.removed_at = txn.now();
    if (on_roster) CARAVAN_RETURN_IF_ERROR(txn.PutDeparted(departed));
    // Compromise notices waiting for it would never go: they go now, so
    // they do not hold places under the store's bound.
    auto notices = txn.PendingNoticesForget(name);
    if (!notices.ok()) return notices.status();
    auto c = txn.PurgeOrigin(departed.key, /*count_only=*/!purge);
    if (!c.ok()) return c.status();
    counts = *c;
    auto r = txn.AppendAudit(
        {txn.now(), actor, purge ? "peer-purge" : "peer-remove", name, name,
         DumpJson({{"key", protocol::PublicKeyToText(departed.key)},
                   {"purged", purge},
                   {purge ? "deleted" : "kept", CountsJson(counts)}})});
    return r.ok() ? Status::Ok() : r.status();
  }).get();
  if (!written.ok()) return written;
  if (on_roster) {
    CARAVAN_RETURN_IF_ERROR(protocol::WriteRosterFile(path, members));
    CARAVAN_RETURN_IF_ERROR(node_.ReloadRoster());
  }
  node_.metrics()
      .member_trust_events
      .With({std::string(purge ? kTrustRemovePurge : kTrustRemoveKeep)})
      .Inc();
  return DumpJson({{"name", name},
                   {"key", protocol::PublicKeyToText(departed.key)},
                   {"fingerprint", crypto::Fingerprint(departed.key)},
                   {"purged", purge},
                   {purge ? "deleted" : "kept", CountsJson(counts)}});
}

}  // namespace caravan::daemon
