#include "daemon/store/ip_key.h"

#include <string>

namespace caravan::store::internal {

IpKey IpKeyOf(const protocol::IpNetwork& net) {
  IpKey key;
  key.family = net.is_v6 ? 6 : 4;
  key.prefix = net.prefix;
  key.first = net.First();
  key.last = net.Last();
  return key;
}

Result<IpKey> IpKeyFor(protocol::IndicatorType type, std::string_view value) {
  std::optional<protocol::IpNetwork> net = protocol::ParseIpNetwork(value);
  const bool want_v6 = type == protocol::IndicatorType::kIpv6;
  if (!net || net->is_v6 != want_v6) {
    // Built with append: GCC 12 -O2 gives a false -Wrestrict on chains of
    // operator+ starting with a literal.
    std::string msg = "'";
    msg.append(value.substr(0, 64));
    msg.append("' is not a valid ");
    msg.append(want_v6 ? "ipv6" : "ipv4");
    msg.append(" address or network");
    return InvalidInput(std::move(msg));
  }
  return IpKeyOf(*net);
}

std::array<uint8_t, 16> MaskedFirst(const protocol::IpNetwork& net,
                                    int prefix) {
  std::array<uint8_t, 16> out = net.First();
  for (int i = 0; i < 16; ++i) {
    const int bit_start = i * 8;
    if (bit_start >= prefix) {
      out[i] = 0;
    } else if (bit_start + 8 > prefix) {
      out[i] &= static_cast<uint8_t>(0xFF << (8 - (prefix - bit_start)));
    }
  }
  return out;
}

}  // namespace caravan::store::internal
