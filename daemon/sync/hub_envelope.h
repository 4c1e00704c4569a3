#pragma once
// Hub envelopes: sealing a batch of records for a member reached through a
// hub, reading the routing header as the hub, and opening the batch as the
// recipient (hub mode, docs/federation.md; byte layout in docs/wire.md).
//
// The envelope is a crypto/seal.h envelope with one recipient, the X25519
// form of the recipient's identity key (crypto/identity_x25519.h). Its
// header (authenticated, readable by the hub) is a SealedHeader message;
// its plaintext is the sender's 64-byte signature (crypto/
// sealed_batch_signature.h) followed by a Records message exactly as it
// would have gone on a direct link: each origin signature stays inside the
// ciphertext, so the hub cannot even confirm a guessed indicator.
//
// Pure functions over bytes, with a size limit on every input; safe from
// any thread. Every failure is InvalidInput naming what was wrong.

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "crypto/identity_key.h"
#include "crypto/link_key.h"
#include "daemon/store/hub_types.h"
#include "daemon/sync/inbound.h"
#include "protocol/record_codec.h"
#include "protocol/status.h"

namespace caravan::daemon::sync {

// The routing header: what the hub may read and route by.
struct SealedHeaderInfo {
  store::HubEnvelopeId envelope_id{};  // random, chosen by the sender
  std::string sender_name;             // 1..64 bytes (roster name)
  protocol::PublicKey sender_key{};
  protocol::PublicKey recipient_key{};
  // The sender's log range this batch decides: entries have seq >=
  // first_seq; up_to_seq is what the hub acknowledges (first_seq <=
  // up_to_seq). An entry re-released after a policy change may lie above
  // up_to_seq (it was decided earlier), never below first_seq.
  uint64_t first_seq = 0;
  uint64_t up_to_seq = 0;
  bool operator==(const SealedHeaderInfo&) const = default;
};

// A fresh random envelope id (libsodium randombytes).
store::HubEnvelopeId NewEnvelopeId();

// The header as the SealedHeader message bytes (flat array).
std::vector<uint8_t> EncodeSealedHeader(const SealedHeaderInfo& header);
// Inverse of EncodeSealedHeader, for at most crypto::kMaxSealHeader bytes.
Result<SealedHeaderInfo> DecodeSealedHeader(std::span<const uint8_t> bytes);

// Seals `entries` (sender log seq, record) deciding the sender's log
// through header.up_to_seq, signed by `sender` (whose public key must be
// header.sender_key). Fails when the recipient key has no X25519 form,
// an entry's seq is below header.first_seq, or the envelope would
// exceed `max_bytes`.
Result<std::vector<uint8_t>> SealBatch(
    const SealedHeaderInfo& header,
    const std::vector<std::pair<uint64_t, protocol::SignedRecord>>& entries,
    const crypto::IdentityKey& sender, size_t max_bytes);

// What the hub reads: the header, after checking the envelope's structure,
// its size (<= max_bytes), that it has exactly one recipient and that the
// recipient entry is the one for header.recipient_key.
Result<SealedHeaderInfo> InspectSealed(std::span<const uint8_t> envelope,
                                       size_t max_bytes);

struct OpenedBatch {
  SealedHeaderInfo header;
  std::vector<InboundEntry> entries;  // in the sender's log order
};

// Opens an envelope addressed to `me` (whose identity public key is
// `my_identity`): checks as InspectSealed, decrypts, verifies the sender's
// signature against header.sender_key and decodes the records (strict
// Cap'n Proto limits). Origin signatures are NOT checked here: the caller
// hands the entries to ApplyInbound, which does that as for any peer.
Result<OpenedBatch> OpenSealed(std::span<const uint8_t> envelope,
                               const crypto::LinkKey& me,
                               const protocol::PublicKey& my_identity,
                               size_t max_bytes);

}  // namespace caravan::daemon::sync
