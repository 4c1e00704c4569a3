// Node: identity key chains in handshakes (docs/wire.md, "Rotation chain";
// crypto/handshake_chain.h). The chain this node presents (its own
// rotations, from the store) and the question a handshake asks when a peer
// presents a key the roster does not pin yet: does its chain lead there
// from a member's current key? Each statement is checked exactly as one
// arriving over a link (KeyChains::Check: both signatures, not in the
// future, after the member's previous rotation, a key nobody holds), on a
// copy: nothing is stored here. The peer sends the same statements as its
// first messages (every node sends every statement it holds on a new
// link), and those are taken, stored and audited the usual way
// (identity_rotation_accept.cc); the link then moves to the new key.
#include <algorithm>
#include <ctime>

#include "crypto/handshake_chain.h"
#include "crypto/key_text.h"
#include "daemon/node/node.h"
#include "daemon/observe/log.h"

namespace caravan::daemon {

std::vector<uint8_t> Node::OwnHandshakeChain() const {
  const auto index = roster();
  std::vector<crypto::RotationStatement> chain;
  protocol::PublicKey key = identity_->public_key();
  while (chain.size() < crypto::kMaxHandshakeChain) {
    const crypto::RotationStatement* introduced = index->chains().IntroducedBy(key);
    if (introduced == nullptr) break;
    chain.push_back(*introduced);
    key = introduced->old_key;
  }
  std::reverse(chain.begin(), chain.end());
  return crypto::EncodeHandshakeChain(chain);
}

std::optional<link::PeerIdentity> Node::MemberByChain(
    const protocol::PublicKey& presented,
    const std::vector<crypto::RotationStatement>& chain) const {
  if (chain.empty() || chain.back().new_key != presented) return std::nullopt;
  const auto index = roster();
  const int64_t now = std::time(nullptr);
  std::vector<crypto::RotationStatement> held = index->chains().All();
  std::vector<protocol::RosterMember> members = index->members();
  std::string member;  // the roster member the chain rotates
  for (const auto& s : chain) {
    const sync::KeyChains chains(held);
    const sync::RotationCheck check = chains.Check(s, members, now);
    if (!check.verdict) {
      LogInfo("link: a handshake's rotation chain was not followed: ", check.refusal.code, ": ",
              check.refusal.message);
      return std::nullopt;
    }
    if (*check.verdict == sync::RotationVerdict::kAccept) {
      if (!member.empty() && member != check.member) return std::nullopt;
      member = check.member;
      held.push_back(s);
      members = sync::KeyChains(held).Apply(std::move(members));
    }
  }
  if (member.empty()) return std::nullopt;  // nothing new: not ours to decide
  const auto pinned = std::find_if(index->members().begin(), index->members().end(),
                                   [&](const auto& m) { return m.name == member; });
  if (pinned == index->members().end()) return std::nullopt;
  {
    std::lock_guard lock(roster_mu_);
    if (refused_keys_.count(pinned->key) || refused_keys_.count(presented)) return std::nullopt;
  }
  LogNotice("link: ", member, " presented a new identity key ", crypto::Fingerprint(presented),
            " with its rotation chain; its statements follow on the link");
  return link::PeerIdentity{pinned->name, pinned->country, pinned->key, pinned->endpoint};
}

}  // namespace caravan::daemon
