#pragma once
// The indicator model: types, TLP, reshare permission, the content of one
// indicator revision, and the record body that an origin signs.
//
// Values here are plain copyable structs. Parsing of (possibly defanged)
// user input into normalized values lives in protocol/indicator_parse.h;
// canonical bytes and ids in protocol/record_codec.h.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace caravan::protocol {

// Stable numeric codes: they are hashed into indicator ids and written in
// canonical records, so never renumber.
enum class IndicatorType : uint8_t {
  kIpv4 = 0,
  kIpv6 = 1,
  kDomain = 2,
  kUrl = 3,
  kEmail = 4,
  kMd5 = 5,
  kSha1 = 6,
  kSha256 = 7,
  kCve = 8,
  kAsn = 9,
};
inline constexpr int kIndicatorTypeCount = 10;

// TLP 2.0, ordered: a larger value is more restricted.
enum class Tlp : uint8_t {
  kClear = 0,
  kGreen = 1,
  kAmber = 2,
  kAmberStrict = 3,
  kRed = 4,
};

// How far a recipient may pass an indicator on. Ordered: a larger value
// allows more.
enum class Reshare : uint8_t {
  kNone = 0,        // recipient keeps it
  kDirect = 1,      // recipient may use it, but not relay it further
  kFederation = 2,  // may be relayed to other federation members
};

// "ipv4", "amber+strict", "direct", ... as written in CONTRACT.md.
std::string_view TypeName(IndicatorType type);
std::optional<IndicatorType> ParseTypeName(std::string_view name);
std::string_view TlpName(Tlp tlp);
std::optional<Tlp> ParseTlpName(std::string_view name);  // case-insensitive
std::string_view ReshareName(Reshare reshare);
std::optional<Reshare> ParseReshareName(std::string_view name);

using PublicKey = std::array<uint8_t, 32>;  // Ed25519 identity public key
using IndicatorId = std::array<uint8_t, 32>;

// Limits on every field, enforced by validation and by decoders of
// untrusted bytes.
inline constexpr size_t kMaxValueBytes = 2048;
inline constexpr size_t kMaxTagBytes = 128;
inline constexpr size_t kMaxTags = 64;
inline constexpr size_t kMaxDescriptionBytes = 4096;
inline constexpr size_t kMaxRevokeReasonBytes = 512;

// The content of one revision. Times are Unix seconds UTC; 0 means unset.
struct Indicator {
  IndicatorType type = IndicatorType::kIpv4;
  std::string value;  // normalized (see indicator_parse.h)
  Tlp tlp = Tlp::kAmber;
  uint8_t confidence = 50;        // 0..100
  std::vector<std::string> tags;  // sorted, unique in canonical form
  std::string description;
  int64_t first_seen = 0;
  int64_t last_seen = 0;
  int64_t valid_until = 0;
  Reshare reshare = Reshare::kDirect;
  bool revoked = false;
  std::string revoke_reason;

  bool operator==(const Indicator&) const = default;
};

// What an origin signs: one revision of one indicator.
struct RecordBody {
  PublicKey origin{};       // identity key of the CERT that created it
  uint64_t origin_seq = 0;  // the origin's own sequence number, from 1
  uint32_t revision = 1;    // 1 for the first revision of an id
  int64_t created = 0;      // when this revision was made (Unix seconds)
  // ... and the milliseconds within that second (0..999): STIX `modified`
  // and TAXII versions are created + created_millis, strictly increasing
  // per indicator (issue 19). 0 in records made before the field existed.
  uint16_t created_millis = 0;
  // 0 for the full revision; otherwise a redacted variant the origin made
  // for some recipients (a number chosen by the origin, stable per
  // redaction set).
  uint32_t variant = 0;
  Indicator indicator;

  bool operator==(const RecordBody&) const = default;
};

}  // namespace caravan::protocol
