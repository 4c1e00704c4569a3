#include "daemon/node/retired_key_choice.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>

#include "crypto/key_text.h"

namespace caravan::daemon {
namespace {

// The roster member `key` belongs to, current or retired, if any.
const protocol::RosterMember* MemberOf(const protocol::PublicKey& key,
                                       const sync::RosterIndex& roster) {
  if (const auto* m = roster.FindOrigin(key)) return m;
  return roster.Find(roster.chains().CurrentKey(key));
}

// Every key we could name: ours, the members' current keys and every key
// of every chain held.
std::vector<protocol::PublicKey> KnownKeys(
    std::span<const protocol::PublicKey> own, const sync::RosterIndex& roster) {
  std::vector<protocol::PublicKey> keys(own.begin(), own.end());
  for (const auto& m : roster.members()) keys.push_back(m.key);
  for (const auto& s : roster.chains().All()) {
    keys.push_back(s.old_key);
    keys.push_back(s.new_key);
  }
  return keys;
}

}  // namespace

Result<protocol::PublicKey> ChooseRetiredKey(
    std::span<const protocol::PublicKey> own, std::string_view wanted,
    const sync::RosterIndex& roster) {
  if (own.size() < 2) {
    return InvalidInput(
        "this node never rotated its identity key: rotate it first (`caravan key rotate`), "
        "then declare the old one compromised");
  }
  if (wanted.empty()) return own[1];
  if (wanted.size() > kMaxKeyChoiceBytes) {
    return InvalidInput("--key of " + std::to_string(wanted.size()) +
                        " characters: expected a fingerprint or a caravan:... key text");
  }
  std::optional<protocol::PublicKey> key;
  const std::string shown(wanted);
  if (wanted.starts_with(crypto::kKeyTextPrefix)) {
    key = crypto::ParseKeyText(wanted);
    if (!key) return InvalidInput("--key " + shown + " is not a valid key text");
  } else {
    std::string lower(wanted);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const bool shaped =
        lower.size() == 24 && std::all_of(lower.begin(), lower.end(), [](char c) {
          return c == ':' || std::isxdigit(static_cast<unsigned char>(c));
        });
    if (!shaped) {
      return InvalidInput("--key " + shown +
                          " is neither a fingerprint (1a2b:3c4d:5e6f:7081:92a3) nor a "
                          "caravan:... key text");
    }
    for (const auto& k : KnownKeys(own, roster)) {
      if (crypto::Fingerprint(k) == lower) {
        key = k;
        break;
      }
    }
    if (!key) return NotFound("no key known here has the fingerprint " + lower);
  }
  if (*key == own[0]) {
    return InvalidInput("--key " + crypto::Fingerprint(*key) +
                        " is this node's current identity key: rotate it first "
                        "(`caravan key rotate`), then declare it compromised");
  }
  if (std::find(own.begin() + 1, own.end(), *key) != own.end()) return *key;
  if (const auto* m = MemberOf(*key, roster)) {
    return InvalidInput("--key " + crypto::Fingerprint(*key) + " is " + m->name +
                        "'s key, not this node's: `caravan peers compromised " + m->name +
                        "` declares a member's key");
  }
  return NotFound("--key " + crypto::Fingerprint(*key) +
                  " is not one of this node's retired identity keys");
}

}  // namespace caravan::daemon
