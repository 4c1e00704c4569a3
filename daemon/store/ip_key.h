#pragma once
// Private to daemon/store: how an IP indicator is keyed for containment
// queries. family is 4 or 6; first/last are IpNetwork::First()/Last() (16
// bytes, so memcmp order is numeric order within a family).
//
// Pure functions; thread-safe.

#include <array>
#include <cstdint>
#include <string_view>

#include "protocol/indicator.h"
#include "protocol/ip_network.h"
#include "protocol/status.h"

namespace caravan::store::internal {

struct IpKey {
  int family = 4;
  int prefix = 32;
  std::array<uint8_t, 16> first{};
  std::array<uint8_t, 16> last{};
};

IpKey IpKeyOf(const protocol::IpNetwork& net);

// The key of an ipv4/ipv6 indicator value. InvalidInput when the value does
// not parse or its family does not match the type.
Result<IpKey> IpKeyFor(protocol::IndicatorType type, std::string_view value);

// The first address of the network of length `prefix` that holds `net`
// (prefix <= net.prefix): the key to probe for "networks holding net".
std::array<uint8_t, 16> MaskedFirst(const protocol::IpNetwork& net,
                                    int prefix);

}  // namespace caravan::store::internal
