#include "protocol/ip_network.h"

#include <arpa/inet.h>

#include <charconv>

namespace caravan::protocol {
namespace {

void MaskHostBits(IpNetwork& n) {
  const int total_bytes = n.is_v6 ? 16 : 4;
  for (int i = 0; i < total_bytes; ++i) {
    const int bit_start = i * 8;
    if (bit_start >= n.prefix) {
      n.bytes[i] = 0;
    } else if (bit_start + 8 > n.prefix) {
      const int keep = n.prefix - bit_start;
      n.bytes[i] &= static_cast<uint8_t>(0xFF << (8 - keep));
    }
  }
}

// inet_pton accepts "01.2.3.4" on some libcs as octal or decimal; refuse
// leading zeros so one address never has two spellings.
bool HasLeadingZeroOctet(std::string_view v4) {
  size_t start = 0;
  while (start <= v4.size()) {
    size_t end = v4.find('.', start);
    if (end == std::string_view::npos) end = v4.size();
    if (end - start > 1 && v4[start] == '0') return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

std::optional<IpNetwork> ParseIpNetwork(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  std::string_view addr = text;
  std::optional<int> prefix;
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    std::string_view p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3 || (p.size() > 1 && p[0] == '0')) {
      return std::nullopt;
    }
    int value = 0;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
    if (ec != std::errc() || ptr != p.data() + p.size()) return std::nullopt;
    prefix = value;
  }
  std::string addr_z(addr);  // inet_pton needs a NUL-terminated string
  IpNetwork n;
  if (addr.find(':') != std::string_view::npos) {
    n.is_v6 = true;
    if (inet_pton(AF_INET6, addr_z.c_str(), n.bytes.data()) != 1) {
      return std::nullopt;
    }
  } else {
    if (HasLeadingZeroOctet(addr)) return std::nullopt;
    if (inet_pton(AF_INET, addr_z.c_str(), n.bytes.data()) != 1) {
      return std::nullopt;
    }
  }
  n.prefix = static_cast<uint8_t>(n.max_prefix());
  if (prefix) {
    if (*prefix < 0 || *prefix > n.max_prefix()) return std::nullopt;
    n.prefix = static_cast<uint8_t>(*prefix);
  }
  MaskHostBits(n);
  return n;
}

std::string IpNetwork::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(is_v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf);
  std::string out(buf);
  if (!is_address()) {
    // Two appends, not "/" + to_string(): GCC 12 -O2 reports a false
    // -Wrestrict on the temporary concatenation (GCC bug 105329).
    out += '/';
    out += std::to_string(prefix);
  }
  return out;
}

std::array<uint8_t, 16> IpNetwork::First() const { return bytes; }

std::array<uint8_t, 16> IpNetwork::Last() const {
  std::array<uint8_t, 16> last = bytes;
  const int total_bytes = is_v6 ? 16 : 4;
  for (int i = 0; i < total_bytes; ++i) {
    const int bit_start = i * 8;
    if (bit_start >= prefix) {
      last[i] = 0xFF;
    } else if (bit_start + 8 > prefix) {
      const int keep = prefix - bit_start;
      last[i] |= static_cast<uint8_t>(0xFF >> keep);
    }
  }
  return last;
}

bool Contains(const IpNetwork& outer, const IpNetwork& inner) {
  if (outer.is_v6 != inner.is_v6 || outer.prefix > inner.prefix) return false;
  return outer.First() <= inner.First() && inner.Last() <= outer.Last();
}

bool Overlaps(const IpNetwork& a, const IpNetwork& b) {
  if (a.is_v6 != b.is_v6) return false;
  return a.First() <= b.Last() && b.First() <= a.Last();
}

}  // namespace caravan::protocol
