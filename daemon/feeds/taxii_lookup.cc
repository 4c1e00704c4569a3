#include "daemon/feeds/taxii_lookup.h"

#include <array>
#include <optional>

#include "protocol/formats/stix.h"

namespace caravan::feeds {
namespace {

// The 16 bytes of a lowercase "8-4-4-4-12" UUID; nullopt when malformed.
std::optional<std::array<uint8_t, 16>> UuidBytes(std::string_view uuid) {
  if (uuid.size() != 36) return std::nullopt;
  std::array<uint8_t, 16> out{};
  size_t n = 0;
  for (size_t i = 0; i < uuid.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (uuid[i] != '-') return std::nullopt;
      continue;
    }
    const char c = uuid[i];
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else {
      return std::nullopt;
    }
    out[n / 2] = static_cast<uint8_t>(out[n / 2] | (n % 2 ? v : v << 4));
    ++n;
  }
  return out;
}

// Bytes 0..5 of a derived UUID are the caravan id's own (UuidFromDigest
// overwrites the high nibble of byte 6 and the top bits of byte 8): 48
// bits, so a prefix probe finds the one indicator (or, rarely, a few
// candidates, told apart by their full UUID).
constexpr size_t kIntactPrefix = 6;
constexpr size_t kMaxCandidates = 64;

}  // namespace

bool StixTypeMatches(std::string_view stix_id, protocol::IndicatorType type) {
  const std::string_view want = type == protocol::IndicatorType::kCve
                                    ? "vulnerability--"
                                    : "indicator--";
  return stix_id.substr(0, want.size()) == want;
}

Result<std::vector<StixIdHit>> FindStixId(store::Reader& reader,
                                          std::string_view stix_id,
                                          bool check_posted) {
  std::vector<StixIdHit> hits;
  if (check_posted) {
    auto posted = reader.IndicatorOfStixId(stix_id);
    if (!posted.ok()) return posted.status();
    if (*posted) {
      hits.push_back({**posted, true});
      return hits;
    }
  }
  const size_t sep = stix_id.find("--");
  if (sep == std::string_view::npos) return hits;
  const std::string_view uuid = stix_id.substr(sep + 2);
  auto bytes = UuidBytes(uuid);
  if (!bytes) return hits;
  auto candidates = reader.IdsWithPrefix(
      std::span<const uint8_t>(bytes->data(), kIntactPrefix), kMaxCandidates);
  if (!candidates.ok()) return candidates.status();
  for (const auto& id : *candidates) {
    if (protocol::UuidFromDigest(id) == uuid) hits.push_back({id, false});
  }
  return hits;
}

}  // namespace caravan::feeds
