#pragma once
// Canonical bytes of record bodies, indicator ids, and the encoding of signed
// records (body bytes + a single signature or a Merkle batch proof).
//
// Canonical body bytes are what origins sign and what everyone hashes, so
// the encoding is fixed: capnp::canonicalize of a wire::RecordBody
// (protocol/indicator.capnp), i.e. one segment, no segment table, root
// pointer first, no padding or far pointers, tags sorted and unique.
// Decoders take untrusted bytes: strict ReaderOptions, every field checked,
// and a body must be byte-identical to the canonical encoding of what it
// decodes to (so one body has exactly one spelling).
//
// Everything here works on plain values (crypto/ is not visible from
// protocol/): the signature and proof are opaque bytes. Pure functions,
// thread-safe.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/indicator.capnp.h"
#include "protocol/indicator.h"
#include "protocol/status.h"

namespace caravan::protocol {

inline constexpr size_t kMaxRecordBodyBytes = 16 * 1024;
inline constexpr size_t kMaxBatchPathEntries = 64;
// Words a reader may traverse in one body or signed record (64 Ki words =
// 512 KiB, far above any valid record).
inline constexpr uint64_t kRecordTraversalLimitWords = 64 * 1024;
inline constexpr int kRecordNestingLimit = 16;

// Canonical bytes of `body` (tags sorted and de-duplicated on the way; the
// other fields are written as given, so validate first). Never fails.
std::vector<uint8_t> EncodeRecordBody(const RecordBody& body);

// Decodes untrusted canonical bytes. Fails (Corrupt) when the bytes are not
// a well-formed, canonical RecordBody or when any field is invalid: origin
// not 32 bytes, enum out of range, limits exceeded, value not in normalized
// form, tags unsorted or duplicated, context invalid (ValidateIndicator).
Result<RecordBody> DecodeRecordBody(std::span<const uint8_t> bytes);

// DecodeRecordBody for body bytes this node's store holds, never for
// bytes from the wire, a file or a peer: they passed DecodeRecordBody
// when they entered (received, imported or signed here), so the two
// canonical-form checks (isCanonical and the re-encoding compared byte
// for byte, which cost as much as the decode) are not repeated. Every
// other check stays: limits, a well-formed message, every field valid.
// What it returns is what the bytes say, so a decision made on it (what
// may leave, docs/policy.md) is made on exactly what is sent: no stored
// body holds a field this code does not know, since the strict check
// refused unknown fields on the way in and an older daemon refuses to
// open a newer store.
Result<RecordBody> DecodeStoredRecordBody(std::span<const uint8_t> bytes);

// id = BLAKE2b-256 (crypto_generichash, 32-byte output, no key) over
//   origin (32 bytes) || type code (1 byte: the IndicatorType value, e.g.
//   0x00 for ipv4) || normalized value (its UTF-8 bytes, no terminator).
// The caller passes a normalized value; this does not normalize.
IndicatorId ComputeIndicatorId(const PublicKey& origin, IndicatorType type,
                               std::string_view normalized_value);

// Lowercase hex of an id (64 characters), and back (case-insensitive;
// nullopt unless exactly 64 hex digits).
std::string IdToHex(const IndicatorId& id);
std::optional<IndicatorId> IdFromHex(std::string_view hex);

// Mirrors wire::BatchProof: this record's leaf in a batch signed once over
// its Merkle root (crypto/merkle.h checks it).
struct BatchProofData {
  std::array<uint8_t, 32> salt{};
  uint64_t leaf_index = 0;
  uint64_t tree_size = 0;
  std::vector<std::array<uint8_t, 32>> path;  // <= kMaxBatchPathEntries
  std::array<uint8_t, 64> root_signature{};

  bool operator==(const BatchProofData&) const = default;
};

struct SignedRecord {
  std::vector<uint8_t> body;  // canonical RecordBody bytes
  std::variant<std::array<uint8_t, 64>, BatchProofData> signature;

  bool operator==(const SignedRecord&) const = default;
};

// One Cap'n Proto message (flat array with segment table) holding a
// wire::SignedRecord. Never fails.
std::vector<uint8_t> EncodeSignedRecord(const SignedRecord& record);

// Decodes untrusted bytes produced by EncodeSignedRecord. Checks structure
// and sizes only (body <= kMaxRecordBodyBytes, signature 64 bytes, salt 32,
// path <= 64 entries of 32 bytes, leaf_index < tree_size); the body itself
// is checked by DecodeRecordBody and the signature by crypto/. Fails with
// Corrupt naming the problem.
Result<SignedRecord> DecodeSignedRecord(std::span<const uint8_t> bytes);

// The limits DecodeSignedRecord checks, for a record made in memory (the
// store expanding a stored form without encoding it): body of 1 to
// kMaxRecordBodyBytes, and for a batch proof tree_size > leaf_index and at
// most kMaxBatchPathEntries path entries. Corrupt naming the first broken.
Status CheckSignedRecordLimits(const SignedRecord& record);

// Fill a builder embedded in a larger message (peer.capnp) / read one back
// with the same checks as DecodeSignedRecord. The reader must come from a
// message read with bounded ReaderOptions; malformed pointers are reported
// as Corrupt, not thrown.
void FillSignedRecord(const SignedRecord& record,
                      wire::SignedRecord::Builder builder);
Result<SignedRecord> ReadSignedRecord(wire::SignedRecord::Reader reader);

}  // namespace caravan::protocol
