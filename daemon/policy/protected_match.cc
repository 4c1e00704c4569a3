#include "daemon/policy/protected_match.h"

#include <algorithm>
#include <vector>

#include "protocol/ip_embedded.h"
#include "protocol/ip_network.h"
#include "protocol/url_host.h"

namespace caravan::policy {
namespace {

using protocol::IndicatorType;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Strips brackets, an "IPv6:" tag (RFC 5321 address literals) and one
// trailing dot, then lowercases.
std::string CleanHost(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (host.size() > 5 && Lower(host.substr(0, 5)) == "ipv6:") {
      host.remove_prefix(5);
    }
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return Lower(host);
}

// `inner` equals `outer` or sits under it on a label boundary.
bool UnderDomain(std::string_view inner, std::string_view outer) {
  if (inner.size() == outer.size()) return inner == outer;
  if (inner.size() < outer.size()) return false;
  return inner.substr(inner.size() - outer.size()) == outer &&
         inner[inner.size() - outer.size() - 1] == '.';
}

IpBound Lo(const protocol::IpNetwork& n) { return {n.is_v6, n.First()}; }
IpBound Hi(const protocol::IpNetwork& n) { return {n.is_v6, n.Last()}; }

// Whether `net` overlaps any merged range: the first range ending at or
// after net's start must also begin at or before net's end.
bool OverlapsAnyRange(const ProtectedAssets& assets,
                      const protocol::IpNetwork& net) {
  const IpBound lo = Lo(net);
  auto it = std::lower_bound(
      assets.cidr_ranges.begin(), assets.cidr_ranges.end(), lo,
      [](const std::pair<IpBound, IpBound>& r, const IpBound& v) {
        return r.second < v;
      });
  return it != assets.cidr_ranges.end() && it->first <= Hi(net);
}

// "::ffff:195.158.1.2 (IPv4-mapped 195.158.1.2)": a network as written,
// plus the range it was matched through when that is an embedded one.
std::string Describe(std::string_view shown, const protocol::CanonicalRange& r) {
  std::string out(shown);
  if (!r.form.empty()) {
    out += " (";
    out += r.form;
    out += ' ';
    out += r.network.ToString();
    out += ')';
  }
  return out;
}

// Protection is overlap of canonical ranges (protocol/ip_embedded.h), so
// that an IPv4 network is also found under its IPv6 spellings and back.
std::optional<ProtectedMatch> MatchNetwork(const ProtectedAssets& assets,
                                           const protocol::IpNetwork& net,
                                           std::string_view shown) {
  const std::vector<protocol::CanonicalRange> mine =
      protocol::CanonicalRanges(net);
  // The index answers "is there a match" fast; the scan below, run only on
  // a hit, finds the entry (and its line) to name in the decision.
  if (!assets.cidr_ranges.empty() &&
      std::none_of(mine.begin(), mine.end(), [&](const auto& r) {
        return OverlapsAnyRange(assets, r.network);
      })) {
    return std::nullopt;
  }
  for (const auto& p : assets.cidrs) {
    for (const auto& theirs : protocol::CanonicalRanges(p.network)) {
      for (const auto& r : mine) {
        if (!protocol::Overlaps(theirs.network, r.network)) continue;
        const char* how = protocol::Contains(theirs.network, r.network)
                              ? " is inside protected network "
                              : " contains protected network ";
        return ProtectedMatch{
            "cidrs", p.line,
            Describe(shown, r) + how +
                Describe(p.network.ToString(), theirs)};
      }
    }
  }
  return std::nullopt;
}

std::optional<ProtectedMatch> MatchDomain(const ProtectedAssets& assets,
                                          std::string_view host,
                                          std::string_view shown) {
  for (const auto& p : assets.domain_suffixes) {
    if (UnderDomain(host, p.suffix)) {
      return ProtectedMatch{"domain_suffixes", p.line,
                            std::string(shown) + " is under protected domain " +
                                p.suffix};
    }
    if (UnderDomain(p.suffix, host)) {
      return ProtectedMatch{"domain_suffixes", p.line,
                            std::string(shown) + " covers protected domain " +
                                p.suffix};
    }
  }
  return std::nullopt;
}

std::optional<ProtectedMatch> MatchHostName(const ProtectedAssets& assets,
                                            const protocol::HostName& host,
                                            std::string_view shown) {
  if (host.address) return MatchNetwork(assets, *host.address, shown);
  if (!host.domain.empty()) return MatchDomain(assets, host.domain, shown);
  return std::nullopt;
}

// Whether anything in protected.toml could be named by a host: when not,
// a host that cannot be read cannot hide a protected one either.
bool ProtectsHosts(const ProtectedAssets& assets) {
  return !assets.cidrs.empty() || !assets.domain_suffixes.empty();
}

// Fail closed on a host that a reader would read some way we cannot
// predict: it might be a protected one.
ProtectedMatch Unreadable(const ProtectedAssets& assets, std::string_view type,
                          std::string_view value, const Status& why) {
  return ProtectedMatch{
      assets.domain_suffixes.empty() ? "cidrs" : "domain_suffixes", 0,
      std::string(type) + " '" + std::string(value) + "' " + why.message() +
          "; its host cannot be read unambiguously, so it is withheld to be "
          "safe"};
}

// A URL's host read both ways (protocol/url_host.h): protected if either
// reading names a protected host; withheld if either cannot be read.
std::optional<ProtectedMatch> MatchUrl(const ProtectedAssets& assets,
                                       const std::string& url) {
  const auto rfc = protocol::Rfc3986UrlHost(url);
  const auto browser = protocol::WhatwgUrlHost(url);
  if (rfc.ok()) {
    if (auto m = MatchHostName(assets, *rfc, url)) return m;
  }
  if (browser.ok() && !(rfc.ok() && *rfc == *browser)) {
    const std::string shown =
        url + " (a browser reads host " + browser->ToString() + ")";
    if (auto m = MatchHostName(assets, *browser, shown)) return m;
  }
  if (!ProtectsHosts(assets)) return std::nullopt;
  if (!rfc.ok()) {
    return Unreadable(assets, "url", url,
                      InvalidInput("read by RFC 3986 " + rfc.status().message()));
  }
  if (!browser.ok()) {
    return Unreadable(assets, "url", url,
                      InvalidInput("read as a browser reads it " +
                                   browser.status().message()));
  }
  return std::nullopt;
}

// The domain part of an e-mail address: an address literal ("[1.2.3.4]",
// "[IPv6:2001:db8::1]", RFC 5321) or a name read as a resolver reads it.
Result<protocol::HostName> EmailHostName(std::string_view email) {
  const size_t at = email.rfind('@');
  if (at == std::string_view::npos) return InvalidInput("has no '@'");
  std::string_view domain = email.substr(at + 1);
  if (domain.size() >= 2 && domain.front() == '[' && domain.back() == ']') {
    std::string_view literal = domain.substr(1, domain.size() - 2);
    if (literal.size() > 5 && Lower(literal.substr(0, 5)) == "ipv6:") {
      literal.remove_prefix(5);
    }
    auto ip = protocol::ParseIpNetwork(literal);
    if (!ip || !ip->is_address()) {
      return InvalidInput("has an address literal that is not an address");
    }
    return protocol::HostName{ip, ""};
  }
  return protocol::ReadHost(domain, protocol::HostRules::kResolver);
}

std::optional<uint32_t> ParseAsn(std::string_view v) {
  if (v.size() > 2 && (v[0] == 'A' || v[0] == 'a') &&
      (v[1] == 'S' || v[1] == 's')) {
    v.remove_prefix(2);
  }
  if (v.empty() || v.size() > 10) return std::nullopt;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n > 4294967295ULL) return std::nullopt;
  return static_cast<uint32_t>(n);
}

}  // namespace

void IndexProtectedNetworks(ProtectedAssets& assets) {
  std::vector<std::pair<IpBound, IpBound>> ranges;
  ranges.reserve(assets.cidrs.size());
  for (const auto& p : assets.cidrs) {
    // Every canonical range: a protected ::ffff:195.158.0.0/112 must be
    // found by a lookup of the IPv4 195.158.1.2.
    for (const auto& r : protocol::CanonicalRanges(p.network)) {
      ranges.push_back({Lo(r.network), Hi(r.network)});
    }
  }
  std::sort(ranges.begin(), ranges.end());
  assets.cidr_ranges.clear();
  for (const auto& r : ranges) {
    // CIDR blocks are nested or disjoint, so merging only ever absorbs a
    // block inside the previous one.
    if (!assets.cidr_ranges.empty() && r.first <= assets.cidr_ranges.back().second) {
      assets.cidr_ranges.back().second =
          std::max(assets.cidr_ranges.back().second, r.second);
      continue;
    }
    assets.cidr_ranges.push_back(r);
  }
}

std::string UrlHost(std::string_view url) {
  const std::string_view host = protocol::Rfc3986HostText(url);
  if (!host.empty() && host.front() == '[' && host.back() != ']') return "";
  return CleanHost(host);
}

std::string EmailHost(std::string_view email) {
  const size_t at = email.rfind('@');
  if (at == std::string_view::npos) return "";
  return CleanHost(email.substr(at + 1));
}

std::optional<ProtectedMatch> MatchProtected(
    const ProtectedAssets& assets, const protocol::Indicator& indicator) {
  const std::string& v = indicator.value;
  switch (indicator.type) {
    case IndicatorType::kIpv4:
    case IndicatorType::kIpv6: {
      auto net = protocol::ParseIpNetwork(v);
      // A value the model accepted always parses; if it ever does not,
      // fail closed rather than let an unrecognised network out.
      if (!net) {
        return ProtectedMatch{"cidrs", 0,
                              "'" + v + "' is not an IP network this check "
                              "can read; withheld to be safe"};
      }
      return MatchNetwork(assets, *net, v);
    }
    case IndicatorType::kDomain: {
      if (auto m = MatchDomain(assets, CleanHost(v), v)) return m;
      // A name like "0xc3.0x9e.1.2" is an address to every resolver.
      auto host = protocol::ReadHost(v, protocol::HostRules::kResolver);
      if (host.ok() && host->address) {
        return MatchNetwork(assets, *host->address,
                            v + " (read as " + host->ToString() + ")");
      }
      return std::nullopt;
    }
    case IndicatorType::kUrl:
      return MatchUrl(assets, v);
    case IndicatorType::kEmail: {
      auto host = EmailHostName(v);
      if (host.ok()) return MatchHostName(assets, *host, v);
      if (!ProtectsHosts(assets)) return std::nullopt;
      return Unreadable(assets, "email", v, host.status());
    }
    case IndicatorType::kAsn: {
      auto asn = ParseAsn(v);
      if (!asn) return std::nullopt;
      for (const auto& p : assets.asns) {
        if (p.asn == *asn) {
          return ProtectedMatch{"asns", p.line,
                                v + " is protected AS" + std::to_string(p.asn)};
        }
      }
      return std::nullopt;
    }
    case IndicatorType::kMd5:
    case IndicatorType::kSha1:
    case IndicatorType::kSha256:
    case IndicatorType::kCve:
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace caravan::policy
