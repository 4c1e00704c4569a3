#pragma once
// Member trust state kept in the store (issue 16, docs/federation.md
// "Leaving" and "Compromise"): identity keys of members that were removed
// from the roster, and identity keys declared compromised (here, or by a
// peer's signed notice this node acted on). Plain values; the store
// methods that read and write them live in daemon/store/member_trust.cc.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "protocol/indicator.h"

namespace caravan::store {

// A member removed from the roster with `caravan peers remove`. Its
// records stay (with their signatures) unless purged; they never leave
// this node again and export/TAXII leave them out by default.
struct DepartedMember {
  protocol::PublicKey key{};
  std::string name;        // its roster name when it was removed
  int64_t removed_at = 0;  // Unix seconds
};

// What a compromise declaration does to the records of the key.
enum class CompromiseAction {
  kQuarantine,  // records created at or after `since` are quarantined,
                // leave no more, and handshakes with the key are refused
  kFlag,        // they are marked (show/query) and leave no more
};

// An identity key that must no longer be trusted for records created at
// or after `since`.
struct CompromisedKey {
  protocol::PublicKey key{};
  int64_t since = 0;        // Unix seconds: records created >= since
  int64_t declared_at = 0;  // when this node recorded it
  protocol::PublicKey declared_by{};  // our key, or a notice's issuer
  std::string name;         // roster name of the key's member at the time
  CompromiseAction action = CompromiseAction::kQuarantine;
};

// Both sets, read together once per decision page.
struct MemberTrust {
  std::map<protocol::PublicKey, DepartedMember> departed;
  std::map<protocol::PublicKey, CompromisedKey> compromised;

  // The compromise that covers a record of `origin` created at `created`,
  // or nullptr.
  const CompromisedKey* CompromiseOf(const protocol::PublicKey& origin,
                                     int64_t created) const {
    auto it = compromised.find(origin);
    if (it == compromised.end() || created < it->second.since) return nullptr;
    return &it->second;
  }
  bool IsDeparted(const protocol::PublicKey& origin) const {
    return departed.count(origin) > 0;
  }
};

std::string_view CompromiseActionName(CompromiseAction a);

// What a purge deleted.
struct PurgeCounts {
  uint64_t indicators = 0;
  uint64_t records = 0;
  uint64_t sightings = 0;
  uint64_t quarantined = 0;  // of the indicators, how many were quarantined
};

}  // namespace caravan::store
