#pragma once
// Signed compromise notices (issue 16, docs/federation.md "Compromise";
// wire form: CompromiseNotice in protocol/peer.capnp).
//
// A member that distrusts an identity key since a time tells the peers it
// gave that key's records to:
//
//   message = "caravan/1 compromise notice\0" || issuer key (32)
//             || compromised key (32) || i64be(since) || i64be(issued at)
//
// signed by the issuer's identity key. The notice names keys, never
// names: with identity key rotation (h-ident) a member that lost its old
// key issues one with issuer = its new key and compromised = its retired
// key, and the receiver resolves the issuer through the rotation chain.
//
// Pure functions over bytes with a size limit; thread-safe. Every refusal
// names its reason (NoticeRefusal) for the audit and /metrics.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/identity_key.h"
#include "daemon/sync/inbound.h"
#include "protocol/peer.capnp.h"
#include "protocol/status.h"

namespace caravan::daemon::sync {

// Largest encoded notice we read (a real one is about 200 bytes).
inline constexpr size_t kMaxCompromiseNoticeBytes = 512;
// A since or issued-at further than this in our future is refused.
inline constexpr int64_t kNoticeClockSkewSeconds = 120;

struct CompromiseNotice {
  protocol::PublicKey issuer{};
  protocol::PublicKey compromised{};
  int64_t since = 0;
  int64_t issued_at = 0;
  crypto::Ed25519Signature signature{};
  bool operator==(const CompromiseNotice&) const = default;
};

// Signs a notice by `issuer`. Never fails.
CompromiseNotice SignCompromiseNotice(const crypto::IdentityKey& issuer,
                                      const protocol::PublicKey& compromised,
                                      int64_t since, int64_t issued_at);

// BLAKE2b-256 of the signed message and signature: what a replay repeats.
std::array<uint8_t, 32> NoticeDigest(const CompromiseNotice& n);

void FillCompromiseNotice(const CompromiseNotice& n,
                          protocol::wire::CompromiseNotice::Builder out);
// Structure only (sizes, since and issued-at not negative, since not after
// issued-at); CheckCompromiseNotice checks the rest.
Result<CompromiseNotice> ReadCompromiseNotice(
    protocol::wire::CompromiseNotice::Reader in);

// As a flat Cap'n Proto message (root CompromiseNotice) and back (at most
// kMaxCompromiseNoticeBytes, peer reader limits).
std::vector<uint8_t> EncodeCompromiseNotice(const CompromiseNotice& n);
Result<CompromiseNotice> DecodeCompromiseNotice(std::span<const uint8_t> bytes);

// Why a received notice is refused (the audit's and /metrics' reason).
enum class NoticeRefusal {
  kMalformed,       // unreadable or structurally wrong
  kUnknownIssuer,   // the issuer key is not in our roster
  kBadSignature,    // not signed by the issuer key
  kUnknownKey,      // the compromised key is not in our roster
  kInFuture,        // since or issued-at beyond our clock (+ skew)
  kReplayed,        // this exact notice was applied before
};
std::string_view NoticeRefusalName(NoticeRefusal r);

struct NoticeCheck {
  std::optional<NoticeRefusal> refusal;  // nullopt: acceptable
  std::string reason;                    // one sentence for people
  const protocol::RosterMember* issuer = nullptr;       // when known
  const protocol::RosterMember* compromised = nullptr;  // when known
};

// Checks a notice against the roster and our clock (replays are the
// store's to detect: NoticeDigest). Never fails.
NoticeCheck CheckCompromiseNotice(const CompromiseNotice& n,
                                  const RosterIndex& roster, int64_t now);

}  // namespace caravan::daemon::sync
