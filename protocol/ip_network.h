#pragma once
// IPv4/IPv6 addresses and CIDR networks as one value type, for
// normalization, containment queries (store) and protected-asset checks
// (policy). An address is a network with a full-length prefix.
//
// Values: copy freely; no allocation.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace caravan::protocol {

struct IpNetwork {
  bool is_v6 = false;
  // Network-order bytes; IPv4 uses the first 4. Host bits past the prefix
  // are always zero (the parser masks them).
  std::array<uint8_t, 16> bytes{};
  uint8_t prefix = 32;  // 0..32 for IPv4, 0..128 for IPv6

  int max_prefix() const { return is_v6 ? 128 : 32; }
  bool is_address() const { return prefix == max_prefix(); }

  // Canonical text: "1.2.3.4", "10.0.0.0/8", "2001:db8::/32" (RFC 5952
  // compression via inet_ntop). Addresses are written without "/32".
  std::string ToString() const;

  // First and last address covered, as 16 bytes (IPv4 in the first 4 with
  // the rest zero): lexicographic comparison of these is numeric order, which
  // is what the store indexes for containment queries.
  std::array<uint8_t, 16> First() const;
  std::array<uint8_t, 16> Last() const;

  bool operator==(const IpNetwork&) const = default;
};

// Parses strictly fanged text "a.b.c.d", "a.b.c.d/n", IPv6 with optional
// "/n". Host bits are masked off. nullopt on anything else (leading zeros in
// IPv4 octets are refused as ambiguous).
std::optional<IpNetwork> ParseIpNetwork(std::string_view text);

// True when every address of `inner` is in `outer` (same family only).
bool Contains(const IpNetwork& outer, const IpNetwork& inner);

// True when the two share at least one address (same family only). For
// CIDR blocks this is "one contains the other".
bool Overlaps(const IpNetwork& a, const IpNetwork& b);

}  // namespace caravan::protocol
