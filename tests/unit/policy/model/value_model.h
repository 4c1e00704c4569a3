#pragma once
// The model's own reading of indicator values, written from docs/policy.md
// ("protected.toml"), DESIGN.md ("Addresses are compared in canonical form")
// and the standards they name. It shares no code with protocol/ip_network or
// protocol/indicator_parse: the point is a second, independent reading.
//
// A value is read into every host it can be taken to be about:
//   - an IP network as a 128-bit range (IPv4 keeps its own family), plus
//     the IPv4 network embedded in an IPv6 one for each embedding it
//     overlaps: mapped ::ffff:0:0/96, compatible ::/96 (not :: nor ::1),
//     SIIT ::ffff:0:0:0/96, NAT64 64:ff9b::/96, local-use NAT64
//     64:ff9b:1::/48 in each RFC 6052 layout that fits (/48, /56, /64, /96),
//     6to4 2002::/16, Teredo 2001::/32 (server, and client complemented);
//   - a domain as its list of lowercase A-labels (Unicode labels converted
//     with Punycode, RFC 3492; trailing dots dropped); a name that ends in a
//     number is also the IPv4 address browsers and inet_aton make of it;
//   - a URL's host as a browser reads it (WHATWG URL Standard: '\' ends the
//     authority of special schemes, the last '@' ends the userinfo, the
//     port follows the first ':' outside brackets) AND as RFC 3986 reads it
//     (only '/', '?', '#' end the authority); either host percent-decoded,
//     lower case, A-labels, numeric names as IPv4 (1 to 4 parts, decimal,
//     0x hex or 0-led octal);
//   - an e-mail address by its domain (or IP literal).
// A URL host or e-mail domain that cannot be read (a forbidden character,
// a bad port; a browser refuses a special URL whose host ends in a number
// but is no IPv4 address, where anyone else resolves the name) is reported
// as unreadable: docs/policy.md withholds such values.
//
// Pure functions; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace caravan::policy::model {

// An address range. IPv4 lives in the low 32 bits of `lo` with v6 = false.
struct Net {
  bool v6 = false;
  uint64_t hi = 0;
  uint64_t lo = 0;
  int prefix = 32;  // 0..32 for IPv4, 0..128 for IPv6

  bool operator==(const Net&) const = default;
};

// Network text in the model's own spelling ("195.158.0.0/16", full v6
// groups); a single address carries no prefix.
std::string NetText(const Net& n);

// The network address (host bits cleared).
Net Masked(Net n);

// Both ranges are of one family and share at least one address.
bool Overlaps(const Net& a, const Net& b);

// Reads "a.b.c.d", an IPv6 address in any RFC 4291 text form (including a
// dotted IPv4 tail), either with an optional "/prefix". Strict decimal
// octets; brackets and zone ids are not read. nullopt when it is neither.
std::optional<Net> ReadIp(std::string_view text);

// `n` itself plus the IPv4 network each IPv6 embedding it overlaps puts in
// it (an IPv4 network reads as itself only).
std::vector<Net> IpReadings(const Net& n);

// The IPv4 address a browser makes of a host that "ends in a number"
// (WHATWG URL, IPv4 parser: 1 to 4 parts, decimal, 0x hex or 0-led octal,
// the last part filling the remaining bytes). nullopt when the host does
// not end in a number or the parse fails.
std::optional<Net> WhatwgIpv4(std::string_view host);

// Lowercase A-labels of a domain (Unicode labels to xn--, upper case folded
// for ASCII, Latin-1 and Cyrillic), trailing dots removed. nullopt when a
// label is empty or cannot be encoded.
std::optional<std::vector<std::string>> DomainLabels(std::string_view text);

// Every host a value can be read as.
struct Readings {
  std::vector<Net> nets;                          // with embedded readings
  std::vector<std::vector<std::string>> domains;  // label lists
  std::optional<uint32_t> asn;
  // Why a URL host or e-mail domain could not be read ("" when it could):
  // such a value might name a protected host in a way nobody can predict.
  std::string unreadable;
};

// Reads a raw value of type `type` ("ipv4", "domain", "url", ...; the
// protocol's type names) as submitted. Types without a host read as
// nothing.
Readings ReadValue(std::string_view type, std::string_view raw);

// For the coverage report: which URL readings disagreed about the host.
struct UrlHosts {
  std::optional<std::string> whatwg;  // the host text a browser reads
  std::string whatwg_port;
  std::optional<std::string> rfc3986;
  std::string rfc3986_port;
  bool has_userinfo = false;
  bool special = false;  // http, https, ftp, ws, wss (WHATWG special schemes)
};
UrlHosts ReadUrlHosts(std::string_view url);

}  // namespace caravan::policy::model
