#include "protocol/ip_embedded.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>

namespace caravan::protocol {
namespace {

// Where one embedding keeps the IPv4 address: IPv4 bit i (0 = most
// significant) sits at IPv6 bit `start + i` for i < `first_len`, and at
// `second_start + (i - first_len)` after that. RFC 6052 layouts need the
// second run to step over the "u" octet (bits 64..71); the others are one
// run (first_len 32). Positions only ever grow with i, so the IPv4 bits an
// IPv6 prefix fixes are always a prefix of the IPv4 address.
struct Embedding {
  std::string_view form;
  std::array<uint8_t, 16> prefix;
  int prefix_len;
  int start;
  int first_len;
  int second_start;
  bool inverted;          // Teredo stores the client address complemented
  bool skip_low_two;      // IPv4-compatible excludes :: and ::1 (::/127)
};

constexpr std::array<uint8_t, 16> Bytes(std::initializer_list<uint8_t> head) {
  std::array<uint8_t, 16> b{};
  size_t i = 0;
  for (uint8_t x : head) b[i++] = x;
  return b;
}

constexpr std::array<uint8_t, 16> kMapped = {0, 0, 0, 0, 0, 0, 0, 0,
                                             0, 0, 0xff, 0xff, 0, 0, 0, 0};
constexpr std::array<uint8_t, 16> kTranslated = {0, 0, 0, 0, 0, 0, 0, 0,
                                                 0xff, 0xff, 0, 0, 0, 0, 0, 0};

const std::array<Embedding, 11> kEmbeddings = {{
    {"IPv4-mapped", kMapped, 96, 96, 32, 0, false, false},
    {"IPv4-compatible", Bytes({}), 96, 96, 32, 0, false, true},
    {"IPv4-translated", kTranslated, 96, 96, 32, 0, false, false},
    {"NAT64", Bytes({0x00, 0x64, 0xff, 0x9b}), 96, 96, 32, 0, false, false},
    // RFC 8215 lets an operator pick any RFC 6052 prefix length inside
    // 64:ff9b:1::/48 without telling anyone which, so every layout that fits
    // is read.
    {"NAT64 local-use /48", Bytes({0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}), 48,
     48, 16, 72, false, false},
    {"NAT64 local-use /56", Bytes({0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}), 48,
     56, 8, 72, false, false},
    {"NAT64 local-use /64", Bytes({0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}), 48,
     72, 32, 0, false, false},
    {"NAT64 local-use /96", Bytes({0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}), 48,
     96, 32, 0, false, false},
    {"6to4", Bytes({0x20, 0x02}), 16, 16, 32, 0, false, false},
    {"Teredo server", Bytes({0x20, 0x01, 0x00, 0x00}), 32, 32, 32, 0, false,
     false},
    {"Teredo client", Bytes({0x20, 0x01, 0x00, 0x00}), 32, 96, 32, 0, true,
     false},
}};

int Bit(const std::array<uint8_t, 16>& b, int pos) {
  return (b[static_cast<size_t>(pos / 8)] >> (7 - pos % 8)) & 1;
}

// The first `bits` bits of a and b are equal.
bool SameLeadingBits(const std::array<uint8_t, 16>& a,
                     const std::array<uint8_t, 16>& b, int bits) {
  for (int i = 0; i < bits; ++i) {
    if (Bit(a, i) != Bit(b, i)) return false;
  }
  return true;
}

int PositionOf(const Embedding& e, int v4_bit) {
  return v4_bit < e.first_len ? e.start + v4_bit
                              : e.second_start + (v4_bit - e.first_len);
}

// The IPv4 range `net` implies through `e`, or nullopt when the two do not
// meet.
std::optional<IpNetwork> ThroughEmbedding(const IpNetwork& net,
                                          const Embedding& e) {
  // Two CIDR blocks overlap exactly when they agree on the shorter prefix.
  if (!SameLeadingBits(net.bytes, e.prefix, std::min<int>(net.prefix, e.prefix_len))) {
    return std::nullopt;
  }
  if (e.skip_low_two && net.prefix >= 127 &&
      SameLeadingBits(net.bytes, std::array<uint8_t, 16>{}, 127)) {
    return std::nullopt;  // :: and ::1 are not IPv4 addresses
  }
  uint32_t v4 = 0;
  int known = 0;
  while (known < 32 && PositionOf(e, known) < net.prefix) {
    const int bit = Bit(net.bytes, PositionOf(e, known)) ^ (e.inverted ? 1 : 0);
    v4 |= static_cast<uint32_t>(bit) << (31 - known);
    ++known;
  }
  IpNetwork out;
  out.is_v6 = false;
  out.bytes[0] = static_cast<uint8_t>(v4 >> 24);
  out.bytes[1] = static_cast<uint8_t>(v4 >> 16);
  out.bytes[2] = static_cast<uint8_t>(v4 >> 8);
  out.bytes[3] = static_cast<uint8_t>(v4);
  out.prefix = static_cast<uint8_t>(known);
  return out;
}

}  // namespace

std::vector<CanonicalRange> CanonicalRanges(const IpNetwork& network) {
  std::vector<CanonicalRange> out = {{network, ""}};
  if (!network.is_v6) return out;
  for (const Embedding& e : kEmbeddings) {
    auto v4 = ThroughEmbedding(network, e);
    if (!v4) continue;
    // ::/0 meets every embedding as 0.0.0.0/0: keep one of each range.
    const bool seen = std::any_of(out.begin(), out.end(), [&](const auto& r) {
      return r.network == *v4;
    });
    if (!seen) out.push_back({*v4, e.form});
  }
  return out;
}

bool OverlapsCanonically(const IpNetwork& a, const IpNetwork& b) {
  const auto ra = CanonicalRanges(a);
  const auto rb = CanonicalRanges(b);
  for (const auto& x : ra) {
    for (const auto& y : rb) {
      if (Overlaps(x.network, y.network)) return true;
    }
  }
  return false;
}

}  // namespace caravan::protocol
