#pragma once
// Identity key rotation statements (docs/federation.md, "Identity key
// rotation"): a member's old Ed25519 identity key K0 and its new key K1 both
// sign that, from `rotated_at` on, K1 speaks for the member. The old key's
// signature is what a peer that pins K0 in its roster trusts; the new key's
// signature proves K1's holder took part (nobody can rotate a member onto a
// key they do not hold), like the two signatures of a Signal identity
// change or a cross-signed SSH CA roll.
//
// Encoding (exactly kRotationStatementBytes = 209 bytes, big-endian):
//   version (1, = 1) || old key (32) || new key (32)
//   || rotated_at (8, signed unix seconds) || issued_at (8, signed)
//   || old key's signature (64) || new key's signature (64)
// Each key signs its own domain prefix followed by the first 81 bytes:
//   old: "caravan/1 identity rotation by old key\0"
//   new: "caravan/1 identity rotation by new key\0"
// so neither signature can stand in for the other nor for any other
// caravan signature (records, batch roots, link certificates, prekeys).
//
// A chain K0 -> K1 -> K2 is one statement per step; each is checked on its
// own against what the receiver already holds (daemon/sync/key_chain.h).
//
// Pure functions; thread-safe.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "crypto/identity_key.h"

namespace caravan::crypto {

inline constexpr uint8_t kRotationStatementVersion = 1;
inline constexpr size_t kRotationSignedBytes = 1 + 32 + 32 + 8 + 8;           // 81
inline constexpr size_t kRotationStatementBytes = kRotationSignedBytes + 128;  // 209
// The most a reader of untrusted input looks at before refusing.
inline constexpr size_t kMaxRotationStatementBytes = 1024;
// rotated_at may lie this far after issued_at at most (a rotation announced
// ahead, e.g. to let peers learn it first); never before issued_at, which
// would retire a key retroactively.
inline constexpr int64_t kMaxRotationLeadSeconds = 7 * 86400;

struct RotationStatement {
  Ed25519PublicKey old_key{};
  Ed25519PublicKey new_key{};      // != old_key
  int64_t rotated_at = 0;          // records created at or after it: new_key
  int64_t issued_at = 0;           // <= rotated_at <= issued_at + lead
  Ed25519Signature old_signature{};
  Ed25519Signature new_signature{};

  bool operator==(const RotationStatement&) const = default;
};

// The statement rotating `old_key` to `new_key` at `rotated_at`, signed by
// both. Aborts (a bug) if the keys are equal or the times break the bounds
// above.
RotationStatement SignRotation(const IdentityKey& old_key, const IdentityKey& new_key,
                               int64_t rotated_at, int64_t issued_at);

// The 209-byte encoding.
std::vector<uint8_t> EncodeRotationStatement(const RotationStatement& s);

// Structure only: exactly 209 bytes, version 1, two different keys, times
// positive and within the bounds above. nullopt and *error (if given)
// saying what was wrong; signatures are checked by VerifyRotationSignatures.
std::optional<RotationStatement> ParseRotationStatement(std::span<const uint8_t> bytes,
                                                        std::string* error = nullptr);

// True iff both signatures verify; otherwise *error (if given) names the
// key whose signature does not.
bool VerifyRotationSignatures(const RotationStatement& s, std::string* error = nullptr);

// Parse + verify: the statement if it is well formed and signed by both.
std::optional<RotationStatement> ReadRotationStatement(std::span<const uint8_t> bytes,
                                                       std::string* error = nullptr);

}  // namespace caravan::crypto
