#pragma once
// Signed prekey statements (forward secrecy for hub mode,
// docs/federation.md "Prekeys"; wire form: PrekeyStatement in
// protocol/peer.capnp).
//
// Every member keeps a short-lived X25519 prekey pair and publishes its
// public half signed by its Ed25519 identity key (the key the roster pins):
//
//   message = "caravan/1 prekey\0" || member key (32) || u64be(prekey id)
//             || prekey public (32) || i64be(not before) || i64be(not after)
//
// Senders seal batches to the newest valid prekey of the recipient, so an
// envelope a hub copied opens only with that prekey's secret, which the
// recipient erases after expiry (prekey_keyring.h). A hub relays
// statements but cannot forge one; it can only withhold one or serve a
// stale one, and expiry bounds the latter.
//
// Pure functions over bytes with a size limit; thread-safe. Every refusal
// is InvalidInput naming what was wrong.

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "crypto/identity_key.h"
#include "crypto/link_key.h"
#include "daemon/sync/inbound.h"
#include "protocol/peer.capnp.h"
#include "protocol/status.h"

namespace caravan::daemon::sync {

// Largest encoded statement we read (a real one is about 200 bytes).
inline constexpr size_t kMaxPrekeyStatementBytes = 1024;
// A statement whose not-before lies further than this in our future is
// refused (clock skew between members is tolerated up to this).
inline constexpr int64_t kPrekeyClockSkewSeconds = 120;
// A statement may not claim validity longer than this (bounds what a
// stale statement served by a hub can do).
inline constexpr int64_t kMaxPrekeyValiditySeconds = 61LL * 86400;

struct PrekeyStatement {
  protocol::PublicKey member_key{};
  uint64_t prekey_id = 0;
  crypto::X25519PublicKey prekey_public{};
  int64_t not_before = 0;
  int64_t not_after = 0;
  crypto::Ed25519Signature signature{};
  bool operator==(const PrekeyStatement&) const = default;
};

// Signs a statement for `owner`'s prekey. Never fails.
PrekeyStatement SignPrekeyStatement(const crypto::IdentityKey& owner,
                                    uint64_t prekey_id,
                                    const crypto::X25519PublicKey& prekey,
                                    int64_t not_before, int64_t not_after);

// True iff the signature is member_key's over the statement's fields.
bool PrekeySignatureValid(const PrekeyStatement& s);

void FillPrekeyStatement(const PrekeyStatement& s,
                         protocol::wire::PrekeyStatement::Builder out);
// Structure only (sizes of the keys and signature, id >= 1, not_before <
// not_after, validity bounded); the signature and the roster are checked
// by CheckPrekeyStatement.
Result<PrekeyStatement> ReadPrekeyStatement(
    protocol::wire::PrekeyStatement::Reader in);

// The statement as a flat Cap'n Proto message (root PrekeyStatement), and
// back (at most kMaxPrekeyStatementBytes).
std::vector<uint8_t> EncodePrekeyStatement(const PrekeyStatement& s);
Result<PrekeyStatement> DecodePrekeyStatement(std::span<const uint8_t> bytes);

enum class PrekeyVerdict {
  kNewer,  // newer than what we hold for this member: take it
  kSame,   // exactly the statement we hold: nothing to do
};

// Checks a received statement: its member is in the roster, the signature
// is that member's, it has not expired at `now` and its not-before is not
// in the future (beyond kPrekeyClockSkewSeconds), and it is not older than
// `held` (the newest statement we hold for that member, if any): a lower
// id is a replay, the same id with other contents a forgery attempt or a
// member reusing ids.
Result<PrekeyVerdict> CheckPrekeyStatement(const PrekeyStatement& s,
                                           const RosterIndex& roster,
                                           int64_t now,
                                           const PrekeyStatement* held);

// The recipient key id a prekey-sealed header carries: u64be(prekey id).
std::vector<uint8_t> PrekeyKeyId(uint64_t prekey_id);
// Inverse; false unless exactly 8 bytes naming an id >= 1.
bool ParsePrekeyKeyId(std::span<const uint8_t> key_id, uint64_t& prekey_id);

}  // namespace caravan::daemon::sync
