#pragma once
// Matching an indicator against protected national assets (protected.toml):
// the check that runs before every other outbound rule.
//
//   ipv4/ipv6  the address or network overlaps a protected network, either
//              way: 195.158.0.0/16 protects 195.158.1.2, 195.158.0.0/24 and
//              also 195.0.0.0/8 (sharing that would block the asset).
//   domain     equal to a protected suffix, under it on a label boundary
//              (gov.uz protects a.gov.uz, not evilgov.uz), or a parent of it
//              (uz covers gov.uz, as a network covers its hosts).
//   url/email  by their host, which may be an IP literal (checked against
//              the networks) or a domain (checked as above).
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

// Builds assets.cidr_ranges from assets.cidrs. The loader calls it; a set
// built by hand without it falls back to scanning `cidrs`.
void IndexProtectedNetworks(ProtectedAssets& assets);

// The first protected asset `indicator` touches, or nullopt.
std::optional<ProtectedMatch> MatchProtected(const ProtectedAssets& assets,
                                             const protocol::Indicator& indicator);

// The host of a normalized URL ("https://user@[2001:db8::1]:8443/x" ->
// "2001:db8::1") or e-mail address ("a@mail.gov.uz" -> "mail.gov.uz"),
// lowercased, without brackets or a trailing dot. Empty when there is none.
std::string UrlHost(std::string_view url);
std::string EmailHost(std::string_view email);

}  // namespace caravan::policy
