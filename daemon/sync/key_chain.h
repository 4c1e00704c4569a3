#pragma once
// KeyChains: the identity key rotations this node holds (docs/federation.md,
// "Identity key rotation"), and the two questions they answer:
//
//  - may a received rotation statement be taken (Check): it verifies under
//    both keys, its old key is the key the roster currently pins for a
//    member, its times are not in our future, its rotation time is after
//    the member's previous rotation, and its new key is nobody's yet;
//  - which key signs a record of origin O created at time C (SignerAt):
//    walk O's chain, O -> K1 at T1 -> K2 at T2 ..., and take the last key
//    whose rotation time is <= C. Indicator ids stay derived from the key
//    the indicator was created under, so an old indicator's later
//    revisions keep their origin and are signed by the key valid then.
//
// A value: immutable once built, cheap to share (one per roster index).
// Thread-safe for concurrent reads.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/identity_rotation.h"
#include "protocol/config/roster_file.h"
#include "protocol/status.h"

namespace caravan::daemon::sync {

// A statement whose issued_at or rotated_at lies further than this in our
// future is refused (clock skew between members tolerated up to this).
inline constexpr int64_t kRotationClockSkewSeconds = 300;
// Rotations held per member chain at most (bounds the walk and the store).
inline constexpr size_t kMaxRotationsPerChain = 64;

// Why a statement was refused; `code` is the stable word in audit entries
// and metrics, `message` says what was wrong.
struct RotationRefusal {
  std::string code;  // wrong_signer, future, unknown_member, conflict,
                     // older, key_in_use, chain_full, malformed
  std::string message;
};

enum class RotationVerdict {
  kAccept,    // new: store it, update the roster, relay it
  kReplayed,  // exactly a statement already held: nothing to do
};

struct RotationCheck {
  std::optional<RotationVerdict> verdict;  // set unless refused
  RotationRefusal refusal;                 // when !verdict
  std::string member;                      // the roster member it rotates
};

class KeyChains {
 public:
  KeyChains() = default;
  // Statements already accepted, in any order (the store's rows). They are
  // trusted: they were checked when accepted.
  explicit KeyChains(std::vector<crypto::RotationStatement> accepted);

  // Decides a received statement against `roster` (keys as pinned now,
  // i.e. after the chains were applied) at `now`.
  RotationCheck Check(const crypto::RotationStatement& s,
                      const std::vector<protocol::RosterMember>& roster, int64_t now) const;

  // The key that signs a record of `origin` created at `created`.
  protocol::PublicKey SignerAt(const protocol::PublicKey& origin, int64_t created) const;

  // The newest key of the chain `key` belongs to (`key` itself when it was
  // never rotated).
  protocol::PublicKey CurrentKey(const protocol::PublicKey& key) const;

  // The rotation that retired `key`, if any.
  const crypto::RotationStatement* RetiredBy(const protocol::PublicKey& key) const;
  // The rotation that introduced `key`, if any.
  const crypto::RotationStatement* IntroducedBy(const protocol::PublicKey& key) const;

  // `roster` with each member's key replaced by CurrentKey(key): a roster
  // file written before a crash could still pin a retired key.
  std::vector<protocol::RosterMember> Apply(std::vector<protocol::RosterMember> roster) const;

  // Every statement held, oldest rotation first (what a node relays).
  std::vector<crypto::RotationStatement> All() const;

  bool empty() const { return by_old_.empty(); }

 private:
  std::map<protocol::PublicKey, crypto::RotationStatement> by_old_;
  std::map<protocol::PublicKey, protocol::PublicKey> new_to_old_;
};

}  // namespace caravan::daemon::sync
