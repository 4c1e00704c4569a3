#pragma once
// IPv4 addresses written inside IPv6 addresses, so that one address is
// matched the same whatever its spelling (DESIGN.md "Policy": addresses are
// compared in canonical form).
//
// An IP network stands for a set of canonical ranges: the network itself,
// and, for an IPv6 network, the IPv4 range it implies through every
// embedding prefix below that it overlaps. Two networks touch when some
// canonical range of one overlaps some canonical range of the other; that is
// how 195.158.0.0/16 and ::ffff:195.158.1.2 (or 64:ff9b::/96, which covers
// it) meet.
//
// Embeddings, with the IPv6 bits that carry the 32 IPv4 bits:
//   IPv4-mapped      ::ffff:0:0/96      bits 96..127 (RFC 4291 2.5.5.2)
//   IPv4-compatible  ::/96              bits 96..127, except :: and ::1
//                                       (RFC 4291 2.5.5.1)
//   IPv4-translated  ::ffff:0:0:0/96    bits 96..127 (RFC 2765 2.1)
//   NAT64            64:ff9b::/96       bits 96..127 (RFC 6052 2.1)
//   NAT64 local-use  64:ff9b:1::/48     every RFC 6052 2.2 layout that fits
//                                       a /48: prefix length 48 (bits 48..63
//                                       and 72..87), 56 (56..63, 72..95),
//                                       64 (72..103) and 96 (96..127); bits
//                                       64..71 (the "u" octet) never carry
//                                       IPv4 (RFC 8215)
//   6to4             2002::/16          bits 16..47 (RFC 3056)
//   Teredo server    2001::/32          bits 32..63 (RFC 4380 4)
//   Teredo client    2001::/32          bits 96..127, inverted (RFC 4380 4)
// Forms without a fixed prefix (ISATAP interface ids, operator 6rd
// prefixes, NAT64 network-specific prefixes outside 64:ff9b:1::/48) are not
// mapped: every IPv6 /64 may hold them.
//
// Pure functions on values; thread-safe.

#include <string_view>
#include <vector>

#include "protocol/ip_network.h"

namespace caravan::protocol {

// One canonical range of a network.
struct CanonicalRange {
  IpNetwork network;
  // "" for the network itself; otherwise the embedding it was read through
  // ("IPv4-mapped", "NAT64", "6to4", ...), and `network` is IPv4.
  std::string_view form;

  bool operator==(const CanonicalRange&) const = default;
};

// The network itself first, then, for IPv6, one IPv4 range per embedding
// prefix it overlaps, in the order of the table above. An IPv6 network no
// longer than an embedding prefix (::/0 for every one, 2000::/3 for 6to4 and
// Teredo) implies all of IPv4 (0.0.0.0/0) through it; a longer one implies
// the IPv4 bits it fixes (64:ff9b::c39e:0/112 -> 195.158.0.0/16). Never
// fails; an IPv4 network yields just itself.
std::vector<CanonicalRange> CanonicalRanges(const IpNetwork& network);

// True when some canonical range of `a` overlaps some canonical range of
// `b` (same family): the cross-spelling generalisation of Overlaps().
bool OverlapsCanonically(const IpNetwork& a, const IpNetwork& b);

}  // namespace caravan::protocol
