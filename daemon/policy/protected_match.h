#pragma once
// Matching an indicator against protected national assets (protected.toml):
// the check that runs before every other outbound rule.
//
//   ipv4/ipv6  the address or network overlaps a protected network, either
//              way: 195.158.0.0/16 protects 195.158.1.2, 195.158.0.0/24 and
//              also 195.0.0.0/8 (sharing that would block the asset). The
//              overlap is of canonical ranges (protocol/ip_embedded.h), so
//              IPv6 spellings of IPv4 (::ffff:195.158.1.2, 64:ff9b::/96,
//              2002::/16, ::/0) meet IPv4 networks and back.
//   domain     equal to a protected suffix, under it on a label boundary
//              (gov.uz protects a.gov.uz, not evilgov.uz), or a parent of it
//              (uz covers gov.uz, as a network covers its hosts); a name a
//              resolver reads as an IPv4 address ("0xc3.0x9e.1.2") is also
//              checked as that address.
//   url        by its host, read both as RFC 3986 and as a browser (WHATWG)
//              reads it (protocol/url_host.h): protected when either reading
//              is. When either reading fails while protected.toml lists
//              networks or domains, the URL is withheld (line 0): a host
//              we cannot read might be a protected one.
//   email      by its domain part: an address literal ("[1.2.3.4]",
//              "[IPv6:...]") against the networks, a name as for domains.
//   asn        "AS8193" equal to a protected AS number.
//
// Pure functions; thread-safe.

#include <optional>
#include <string>
#include <string_view>

#include "daemon/policy/policy.h"
#include "protocol/indicator.h"

namespace caravan::policy {

struct ProtectedMatch {
  std::string key;  // "cidrs", "domain_suffixes" or "asns"
  int line = 0;     // line of the matching entry in protected.toml
  std::string reason;
};

// Builds assets.cidr_ranges from the canonical ranges of assets.cidrs (an
// IPv6 entry adds the IPv4 ranges it embeds). The loader calls it; a set
// built by hand without it falls back to scanning `cidrs`.
void IndexProtectedNetworks(ProtectedAssets& assets);

// The first protected asset `indicator` touches, or nullopt.
std::optional<ProtectedMatch> MatchProtected(const ProtectedAssets& assets,
                                             const protocol::Indicator& indicator);

// The host text of a normalized URL as RFC 3986 splits it
// ("https://user@[2001:db8::1]:8443/x" -> "2001:db8::1") or of an e-mail
// address ("a@mail.gov.uz" -> "mail.gov.uz"), lowercased, without brackets
// or a trailing dot. Empty when there is none. Matching reads hosts through
// protocol/url_host.h instead; these are the plain texts, for display.
std::string UrlHost(std::string_view url);
std::string EmailHost(std::string_view email);

}  // namespace caravan::policy
