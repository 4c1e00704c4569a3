#include "daemon/sync/key_chain.h"

#include <algorithm>

#include "protocol/time_text.h"

namespace caravan::daemon::sync {
namespace {

RotationCheck Refuse(std::string code, std::string message) {
  RotationCheck c;
  c.refusal = {std::move(code), std::move(message)};
  return c;
}

}  // namespace

KeyChains::KeyChains(std::vector<crypto::RotationStatement> accepted) {
  for (auto& s : accepted) {
    new_to_old_[s.new_key] = s.old_key;
    by_old_[s.old_key] = std::move(s);
  }
}

const crypto::RotationStatement* KeyChains::RetiredBy(const protocol::PublicKey& key) const {
  auto it = by_old_.find(key);
  return it == by_old_.end() ? nullptr : &it->second;
}

const crypto::RotationStatement* KeyChains::IntroducedBy(
    const protocol::PublicKey& key) const {
  auto it = new_to_old_.find(key);
  return it == new_to_old_.end() ? nullptr : RetiredBy(it->second);
}

protocol::PublicKey KeyChains::SignerAt(const protocol::PublicKey& origin,
                                        int64_t created) const {
  protocol::PublicKey key = origin;
  // Bounded: every accepted step has a later rotation time than the one
  // before (Check), and a chain holds at most kMaxRotationsPerChain steps.
  for (size_t step = 0; step <= kMaxRotationsPerChain; ++step) {
    const crypto::RotationStatement* next = RetiredBy(key);
    if (next == nullptr || created < next->rotated_at) return key;
    key = next->new_key;
  }
  return key;
}

protocol::PublicKey KeyChains::CurrentKey(const protocol::PublicKey& key) const {
  protocol::PublicKey current = key;
  for (size_t step = 0; step <= kMaxRotationsPerChain; ++step) {
    const crypto::RotationStatement* next = RetiredBy(current);
    if (next == nullptr) break;
    current = next->new_key;
  }
  return current;
}

std::vector<protocol::RosterMember> KeyChains::Apply(
    std::vector<protocol::RosterMember> roster) const {
  for (auto& m : roster) m.key = CurrentKey(m.key);
  return roster;
}

std::vector<crypto::RotationStatement> KeyChains::All() const {
  std::vector<crypto::RotationStatement> out;
  out.reserve(by_old_.size());
  for (const auto& [old_key, s] : by_old_) out.push_back(s);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.rotated_at < b.rotated_at;
  });
  return out;
}

RotationCheck KeyChains::Check(const crypto::RotationStatement& s,
                               const std::vector<protocol::RosterMember>& roster,
                               int64_t now) const {
  // Signatures first: nothing below is worth looking at for a forgery.
  std::string why;
  if (!crypto::VerifyRotationSignatures(s, &why)) return Refuse("wrong_signer", why);
  if (const crypto::RotationStatement* held = RetiredBy(s.old_key)) {
    if (*held == s) {
      RotationCheck c;
      c.verdict = RotationVerdict::kReplayed;
      return c;
    }
    // A second rotation of a key already rotated away: whoever holds the
    // old key (a thief, a restored backup) is forking the chain.
    return Refuse("conflict", "key " + protocol::PublicKeyToText(s.old_key) +
                                  " was already rotated to " +
                                  protocol::PublicKeyToText(held->new_key) + " at " +
                                  protocol::FormatTime(held->rotated_at) +
                                  "; a different rotation of it is refused");
  }
  if (s.issued_at > now + kRotationClockSkewSeconds ||
      s.rotated_at > now + kRotationClockSkewSeconds) {
    return Refuse("future", "rotation statement is dated " +
                                protocol::FormatTime(std::max(s.issued_at, s.rotated_at)) +
                                ", in the future (now " + protocol::FormatTime(now) + ")");
  }
  auto member = std::find_if(roster.begin(), roster.end(),
                             [&](const auto& m) { return m.key == s.old_key; });
  if (member == roster.end()) {
    return Refuse("unknown_member", "old key " + protocol::PublicKeyToText(s.old_key) +
                                        " is not the key of any roster member");
  }
  RotationCheck c;
  c.member = member->name;
  if (const crypto::RotationStatement* previous = IntroducedBy(s.old_key)) {
    if (s.rotated_at <= previous->rotated_at) {
      c.refusal = {"older", "rotation of " + member->name + " at " +
                                protocol::FormatTime(s.rotated_at) +
                                " is not after its previous rotation at " +
                                protocol::FormatTime(previous->rotated_at)};
      return c;
    }
  }
  const bool in_roster = std::any_of(roster.begin(), roster.end(),
                                     [&](const auto& m) { return m.key == s.new_key; });
  if (in_roster || RetiredBy(s.new_key) != nullptr || IntroducedBy(s.new_key) != nullptr) {
    c.refusal = {"key_in_use", "new key " + protocol::PublicKeyToText(s.new_key) +
                                   " already belongs to a member or a chain"};
    return c;
  }
  size_t length = 0;
  for (auto k = s.old_key; IntroducedBy(k) != nullptr && length <= kMaxRotationsPerChain;
       k = IntroducedBy(k)->old_key) {
    ++length;
  }
  if (length >= kMaxRotationsPerChain) {
    c.refusal = {"chain_full", member->name + " has rotated its identity key " +
                                   std::to_string(length) + " times, the most kept"};
    return c;
  }
  c.verdict = RotationVerdict::kAccept;
  return c;
}

}  // namespace caravan::daemon::sync
