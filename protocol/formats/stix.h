#pragma once
// STIX 2.1 export and import of caravan indicators (docs/stix.md has the
// full mapping).
//
// Export turns stored revisions (ExportItem) into STIX objects: one
// `indicator` per indicator (a `vulnerability` for cve), an `identity` per
// origin CERT, the official TLP 2.0 marking definitions, and the caravan
// provenance extension that carries the origin-signed record so a recipient
// can check authenticity offline. Ids are derived from caravan ids, so the
// same indicator always gets the same STIX id.
//
// Import reads a bundle (or a TAXII envelope, or one object) and yields
// raw submissions for the indicator objects whose patterns caravan can
// represent: one comparison with '=' on a supported object path, or an OR
// of such comparisons. Everything else is reported per object with the
// reason; nothing is guessed. Input is untrusted: size, object count, JSON
// nesting and pattern length are bounded.
//
// Pure functions over values; thread-safe.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/formats/bulk_reader.h"
#include "protocol/indicator.h"
#include "protocol/status.h"

namespace caravan::protocol {

// Limits on untrusted STIX input.
inline constexpr size_t kMaxStixBytes = 64 * 1024 * 1024;
inline constexpr size_t kMaxStixObjects = 250'000;
inline constexpr size_t kMaxJsonDepth = 64;           // arrays/objects nested
inline constexpr size_t kMaxStixPatternBytes = 64 * 1024;
inline constexpr size_t kMaxPatternComparisons = 1024;

// The fixed id of caravan's provenance extension definition (docs/stix.md).
inline constexpr std::string_view kCaravanExtensionId =
    "extension-definition--6a2f5c1e-8d47-4b0a-9c3e-2f71d5a8c904";
// The identity that created the extension definition (the caravan project).
inline constexpr std::string_view kCaravanProjectIdentityId =
    "identity--0c6f2b9a-4e1d-4f83-8a57-3b9d2e6c1f08";

// One stored revision to export.
struct ExportItem {
  RecordBody body;                    // the revision (indicator + metadata)
  IndicatorId id{};                   // its caravan id
  std::string origin_name;            // the origin CERT's roster name
  std::string origin_country;         // ISO 3166-1 alpha-2
  std::vector<uint8_t> signed_record; // EncodeSignedRecord bytes; may be empty
  // `created` of revision 1 (STIX `created`, stable across versions);
  // 0 = unknown: the current revision's time is used instead.
  int64_t first_created = 0;
  // The STIX id to export instead of the one derived from `id`: the id a
  // TAXII client posted for this indicator (docs/taxii.md). Used only when
  // it names the object's type ("indicator--…" or "vulnerability--…").
  std::string stix_id;
};

// "2026-01-02T03:04:05.000Z": STIX timestamps with millisecond precision.
std::string StixTime(int64_t unix_seconds);
// The same from Unix milliseconds ("…:05.123Z"): revision times.
std::string StixTimeMillis(int64_t unix_millis);

// A UUID-shaped string from the first 16 bytes of `digest` (>= 16 bytes)
// with the version nibble set to 5 and the RFC 4122 variant bits set.
// Used on BLAKE2b outputs, so it is stable but not an RFC 4122 v5 UUID.
std::string UuidFromDigest(std::span<const uint8_t> digest);
// UuidFromDigest(BLAKE2b-256(domain || bytes)): ids of things that are not
// indicators (identities, bundles, MISP events), kept apart by `domain`.
std::string DerivedUuid(std::string_view domain, std::span<const uint8_t> bytes);

// Official marking-definition ids: TLP 2.0 (what export writes) and the
// STIX 2.1 TLP 1.0 ones (white/green/amber/red, accepted on import).
std::string_view TlpMarkingId(Tlp tlp);
std::optional<Tlp> TlpFromMarkingId(std::string_view id);

// "caravan:" + base64url (no padding) of the key: the same text as
// crypto/key_text.h, rebuilt here because protocol/ may not include crypto/.
std::string OriginKeyText(const PublicKey& key);

// The STIX pattern for one normalized value, e.g.
// "[ipv4-addr:value = '10.0.0.0/8']", "[file:hashes.'SHA-256' = '…']",
// "[autonomous-system:number = 12345]". Fails (InvalidInput) for cve (no
// SCO describes a vulnerability: it is exported as a vulnerability SDO).
Result<std::string> StixPattern(IndicatorType type, std::string_view value);

// The STIX object for one revision: an `indicator` (or a `vulnerability`
// for cve) with created_by_ref, markings, labels, confidence, validity,
// revoked and the provenance extension. Never fails.
nlohmann::json StixIndicator(const ExportItem& item);
// identity--<DerivedUuid("caravan stix identity", key)>, class organization.
nlohmann::json StixIdentity(const PublicKey& origin, std::string_view name,
                            std::string_view country, int64_t created);
std::string StixIdentityId(const PublicKey& origin);
nlohmann::json StixTlpMarking(Tlp tlp);
nlohmann::json StixProvenanceExtensionDefinition();
nlohmann::json StixProjectIdentity();

// A bundle: the extension definition and its creator, the marking
// definitions used, one identity per origin, then one object per item in
// order. The bundle id is derived from the items' ids and revisions (same
// items, same bundle id). Never fails.
nlohmann::json StixBundle(const std::vector<ExportItem>& items);
// The identity object StixBundle writes for the item's origin.
nlohmann::json StixIdentityFor(const ExportItem& item);

// ---- import ---------------------------------------------------------------

// One comparison of a parsed pattern that caravan can store.
struct PatternValue {
  IndicatorType type = IndicatorType::kIpv4;
  std::string raw;  // the literal as written (not yet normalized)
  bool operator==(const PatternValue&) const = default;
};

// Parses a STIX 2.1 pattern strictly (the full grammar of the patterning
// language is recognised, so an unsupported construct is named, not
// mistaken for a syntax error). On success the values when the pattern is
// `[a = 'x']`, an OR of such comparisons, an OR of such observations, or
// any grouping of these with parentheses. Fails with InvalidInput whose
// message is either a syntax error with a 0-based position ("at 17:
// expected ']'") or why caravan cannot represent it ("pattern uses AND;
// caravan stores single values").
Result<std::vector<PatternValue>> ParseStixPattern(std::string_view pattern);

// One submission from an imported object.
struct StixImportItem {
  std::string stix_id;  // the object it came from
  BulkItem item;        // value normalized; line = 1-based object index
  bool revoked = false;
  std::string revoke_reason;  // from the caravan extension, if present
  // From the caravan provenance extension, when present: the origin-signed
  // record (for the daemon to verify and store as received) and its origin.
  std::vector<uint8_t> signed_record;
  std::string origin_key;
};

// An object that was not imported, and why.
struct StixSkipped {
  std::string stix_id;  // "" when the object had no usable id
  size_t index = 0;     // 1-based position in the objects array
  std::string reason;   // "indicator--…: pattern uses AND; …"
};

struct StixImport {
  std::vector<StixImportItem> items;
  std::vector<StixSkipped> skipped;  // indicators/vulnerabilities not imported
  size_t objects = 0;                // objects seen
  size_t other_objects = 0;          // objects of other types (ignored)
};

// Parses a bundle ({"type":"bundle","objects":[…]}), a TAXII envelope
// ({"objects":[…]}) or a single STIX object. Fails (InvalidInput) when the
// text is over kMaxStixBytes, not JSON, nested deeper than kMaxJsonDepth,
// has more than kMaxStixObjects objects, or is none of those shapes. A bad
// object is never fatal: it goes to `skipped`.
Result<StixImport> ImportStixBundle(std::string_view json_text);

// Maps one element of a bundle's "objects" (1-based `index`) into `out`:
// its items, or why it was skipped, or a count of other objects. What
// ImportStixBundle does per object; the streaming importer
// (stix_stream.h) calls it for each object it reads.
void ImportStixObject(const nlohmann::json& object, size_t index, StixImport* out);

// Shared by the JSON importers: fails unless `text` fits `max_bytes` and
// nests at most kMaxJsonDepth deep, then parses it (InvalidInput with the
// parser's byte position on a syntax error).
Result<nlohmann::json> ParseBoundedJson(std::string_view text, size_t max_bytes,
                                        std::string_view what);

}  // namespace caravan::protocol
