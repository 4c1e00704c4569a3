#pragma once
// Hub envelopes: sealing a batch of records for a member reached through a
// hub, reading the routing header as the hub, and opening the batch as the
// recipient (hub mode, docs/federation.md; byte layout in docs/wire.md).
//
// The envelope is a crypto/seal.h envelope with one recipient, the X25519
// form of the recipient's identity key (crypto/identity_x25519.h). Its
// header (authenticated, readable by the hub) is a SealedHeader message
// with formatVersion 2; its plaintext (docs/wire.md 4.1) is
//   signature(64) || u32be(L) || SealedInner (L bytes) || Records || pad
// The SealedInner carries what the hub must not see or change: the pair
// chain (this envelope's number among those the sender sealed to this
// recipient, and the hash of the previous one), with a batch the sender's
// compromise notices for the recipient (if any), or, instead of a batch, a
// receipt. The signature (crypto/sealed_batch_signature.h) covers the
// header and everything after it up to the padding. The Records message
// is exactly what would have gone on a direct link: each origin signature
// stays inside the ciphertext, so the hub cannot even confirm a guessed
// indicator. The padding (ISO/IEC 7816-4, sodium_pad) brings the plaintext
// to a size class (PaddedPlaintextSize), so the hub learns that class
// rather than the batch's size.
//
// Pure functions over bytes, with a size limit on every input; safe from
// any thread. Every failure is InvalidInput naming what was wrong.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/identity_key.h"
#include "crypto/link_key.h"
#include "daemon/store/hub_types.h"
#include "daemon/sync/compromise_notice.h"
#include "daemon/sync/inbound.h"
#include "protocol/record_codec.h"
#include "protocol/status.h"

namespace caravan::daemon::sync {

// The plaintext layout this node writes and reads (SealedHeader
// formatVersion). Envelopes of any other format are refused by name.
inline constexpr uint32_t kSealedFormat = 2;
// Padding (docs/federation.md "Padding", the class table): up to 64 KiB
// the plaintext grows to the next power of two of at least
// kSealedPadFloor bytes; above, each doubling (2^k, 2^(k+1)] is cut into
// kSealedPadClassesPerDoubling equal classes, never finer than
// kSealedPadLargeStep: every class above 64 KiB is a multiple of 64 KiB,
// which receivers of every format-2 version accept (IsSealedSizeClass),
// so the format did not change. A plaintext whose class would not fit the
// envelope limit is padded to the next multiple of kSealedPadLargeStep.
inline constexpr size_t kSealedPadFloor = 1024;
inline constexpr size_t kSealedPadLargeStep = 64 * 1024;
inline constexpr size_t kSealedPadClassesPerDoubling = 8;
// Longest refusal reason a receipt carries (bytes, cut beyond).
inline constexpr size_t kMaxReceiptReason = 512;
// Compromise notices one batch carries at most (SealedInner.notices): 8
// encoded notices (about 200 bytes each) stay well inside the inner
// header's 4 KiB.
inline constexpr size_t kMaxSealedNotices = 8;

// BLAKE2b-256 of a whole envelope: what chains a pair's envelopes.
using ChainHash = std::array<uint8_t, 32>;
ChainHash EnvelopeHash(std::span<const uint8_t> envelope);

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
  uint32_t format_version = kSealedFormat;
  // Empty: wrapped for the recipient's identity key's X25519 form (only
  // receipts, and batches of older senders). 8 bytes: u64be of the
  // recipient's prekey id it is wrapped for (prekey_statement.h).
  std::vector<uint8_t> recipient_key_id;
  bool operator==(const SealedHeaderInfo&) const = default;
};

// A batch's place in its pair's chain (sender -> recipient).
struct ChainLink {
  uint64_t pair_seq = 0;  // 1, 2, 3, ...
  ChainHash prev_hash{};  // EnvelopeHash of pair_seq - 1; zeros before 1
  bool operator==(const ChainLink&) const = default;
};

// The recipient's signed receipt back to the sender (not chained: it is
// cumulative, so a lost or replayed one does no harm).
struct SealedReceiptInfo {
  uint64_t committed_seq = 0;   // every batch through this pair seq
  ChainHash committed_hash{};   // EnvelopeHash of that batch (zeros if 0)
  uint64_t resend_from = 0;     // 0, or the first pair seq we miss
  std::optional<store::HubEnvelopeId> refused_envelope;
  std::string refused_reason;   // with refused_envelope; <= 512 bytes
  bool operator==(const SealedReceiptInfo&) const = default;
};

// The sender's signed statement that it cannot produce the batches from
// lost_from on any more (its outbox row is unreadable or gone) and that
// its chain to the recipient goes on at next_seq, chained to prev_hash
// (docs/federation.md "Chain restart"). The records of the lost batches
// come again in new batches.
struct SealedRestartInfo {
  uint64_t next_seq = 0;   // >= 2
  ChainHash prev_hash{};   // the prevHash batch next_seq carries
  uint64_t lost_from = 0;  // 1 <= lost_from < next_seq
  std::string reason;      // 1..512 bytes
  bool operator==(const SealedRestartInfo&) const = default;
};

// What the SealedInner message holds: a chain link (a batch follows), a
// receipt or a chain restart (nothing follows).
struct SealedInnerInfo {
  ChainLink link;
  std::optional<SealedReceiptInfo> receipt;
  std::optional<SealedRestartInfo> restart;
  // When the sender sealed it: Unix ms on the sender's clock, 0 when not
  // stated (older senders). The Seal* functions below stamp the wall
  // clock at sealing; a resend carries the first sealing's time.
  int64_t sealed_at_ms = 0;
  // Batches only: compromise notices of the sender for the recipient
  // (docs/federation.md "Compromise notices through a hub"), applied
  // before the batch's records; at most kMaxSealedNotices, each
  // structurally valid (ReadCompromiseNotice; the recipient checks the
  // rest as for a direct link's notice).
  std::vector<CompromiseNotice> notices;
  bool operator==(const SealedInnerInfo&) const = default;
};
std::vector<uint8_t> EncodeSealedInner(const SealedInnerInfo& inner);
// Inverse of EncodeSealedInner, for at most 4 KiB. A batch needs
// pair_seq >= 1; a receipt pair_seq 0; sealed_at_ms is never negative;
// notices only on a batch, at most kMaxSealedNotices.
Result<SealedInnerInfo> DecodeSealedInner(std::span<const uint8_t> bytes);

// The size class a plaintext of `unpadded` bytes is padded to, when the
// envelope may carry at most `max_plaintext` plaintext bytes; 0 when it
// cannot fit at all.
size_t PaddedPlaintextSize(size_t unpadded, size_t max_plaintext);
// True when `padded` is a size class PaddedPlaintextSize produces.
bool IsSealedSizeClass(size_t padded);

// A fresh random envelope id (libsodium randombytes).
store::HubEnvelopeId NewEnvelopeId();

// The header as the SealedHeader message bytes (flat array).
std::vector<uint8_t> EncodeSealedHeader(const SealedHeaderInfo& header);
// Inverse of EncodeSealedHeader, for at most crypto::kMaxSealHeader bytes.
Result<SealedHeaderInfo> DecodeSealedHeader(std::span<const uint8_t> bytes);

// Seals `entries` (sender log seq, record) deciding the sender's log
// through header.up_to_seq, as link `link` of the pair's chain, signed by
// `sender` (whose public key must be header.sender_key). Fails when the
// recipient key has no X25519 form, an entry's seq is below
// header.first_seq, link.pair_seq is 0, or the envelope would exceed
// `max_bytes`.
//
// `prekey`: the recipient's prekey to wrap for (forward secrecy); then
// header.recipient_key_id must name it (PrekeyKeyId). Null: the
// recipient's identity key, and recipient_key_id must be empty.
Result<std::vector<uint8_t>> SealBatch(
    const SealedHeaderInfo& header, const ChainLink& link,
    const std::vector<std::pair<uint64_t, protocol::SignedRecord>>& entries,
    const crypto::IdentityKey& sender, size_t max_bytes,
    const crypto::X25519PublicKey* prekey = nullptr);

// The two halves of SealBatch, for a sender that keeps the encoded batch
// to seal it again later to another prekey of the recipient (a resend
// after the recipient erased the prekey it was first sealed to): the
// Records message for `entries` (checked against header.first_seq), and
// the sealing of such bytes. `notices` ride in the inner header (at most
// kMaxSealedNotices; `entries` may then be empty).
Result<std::vector<uint8_t>> EncodeSealedBatch(
    const SealedHeaderInfo& header,
    const std::vector<std::pair<uint64_t, protocol::SignedRecord>>& entries);
Result<std::vector<uint8_t>> SealEncodedBatch(
    const SealedHeaderInfo& header, const ChainLink& link,
    std::span<const uint8_t> batch, const crypto::IdentityKey& sender,
    size_t max_bytes, const crypto::X25519PublicKey* prekey,
    std::span<const CompromiseNotice> notices = {});

// Seals a receipt (header.first_seq = up_to_seq = 0), signed by `sender`.
Result<std::vector<uint8_t>> SealReceipt(const SealedHeaderInfo& header,
                                         const SealedReceiptInfo& receipt,
                                         const crypto::IdentityKey& sender,
                                         size_t max_bytes);

// Seals a chain restart like a receipt (no log range, wrapped for the
// recipient's identity key), signed by `sender`. Fails on a restart
// DecodeSealedInner would refuse.
Result<std::vector<uint8_t>> SealRestart(const SealedHeaderInfo& header,
                                         const SealedRestartInfo& restart,
                                         const crypto::IdentityKey& sender,
                                         size_t max_bytes);

// What the hub reads: the header, after checking the envelope's structure,
// its size (<= max_bytes), that it has exactly one recipient and that the
// recipient entry is the one for header.recipient_key (for an envelope
// wrapped for a prekey, that the key id is well formed: only the
// recipient can match the entry to its prekey).
Result<SealedHeaderInfo> InspectSealed(std::span<const uint8_t> envelope,
                                       size_t max_bytes);

struct OpenedBatch {
  SealedHeaderInfo header;
  ChainHash hash{};  // EnvelopeHash of the envelope opened
  SealedInnerInfo inner;
  std::vector<InboundEntry> entries;  // in the sender's log order; none
                                      // in a receipt
  size_t padding = 0;                 // plaintext bytes of padding
};

// Opens an envelope addressed to `me` (whose identity public key is
// `my_identity`): checks as InspectSealed, decrypts, verifies the sender's
// signature against header.sender_key, removes the padding and decodes
// the inner header and the records (strict Cap'n Proto limits). An
// envelope of another format, or wrapped for another of our keys, is
// refused by name. Origin signatures are NOT checked here: the caller
// hands the entries to ApplyInbound, which does that as for any peer.
// An envelope wrapped for a prekey opens with that prekey from `prekeys`;
// one for a prekey we do not hold (erased after its grace, or never ours)
// is refused with a reason that starts with kPrekeyUnknownReason.
inline constexpr std::string_view kPrekeyUnknownReason =
    "sealed to a prekey we do not hold";
class PrekeyKeyring;
Result<OpenedBatch> OpenSealed(std::span<const uint8_t> envelope,
                               const crypto::LinkKey& me,
                               const protocol::PublicKey& my_identity,
                               size_t max_bytes,
                               const PrekeyKeyring* prekeys = nullptr);

}  // namespace caravan::daemon::sync
