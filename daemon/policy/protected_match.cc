#include "daemon/policy/protected_match.h"

#include <algorithm>
#include <vector>

#include "protocol/ip_network.h"

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

std::optional<ProtectedMatch> MatchNetwork(const ProtectedAssets& assets,
                                           const protocol::IpNetwork& net,
                                           std::string_view shown) {
  // The index answers "is there a match" fast; the scan below, run only on
  // a hit, finds the entry (and its line) to name in the decision.
  if (!assets.cidr_ranges.empty() && !OverlapsAnyRange(assets, net)) {
    return std::nullopt;
  }
  for (const auto& p : assets.cidrs) {
    if (!protocol::Overlaps(p.network, net)) continue;
    const std::string protected_text = p.network.ToString();
    std::string how;
    if (protocol::Contains(p.network, net)) {
      how = " is inside protected network ";
    } else {
      how = " contains protected network ";
    }
    return ProtectedMatch{"cidrs", p.line,
                          std::string(shown) + how + protected_text};
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

std::optional<ProtectedMatch> MatchHost(const ProtectedAssets& assets,
                                        const std::string& host,
                                        std::string_view shown) {
  if (host.empty()) return std::nullopt;
  if (auto ip = protocol::ParseIpNetwork(host); ip && ip->is_address()) {
    return MatchNetwork(assets, *ip, shown);
  }
  return MatchDomain(assets, host, shown);
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
    ranges.push_back({Lo(p.network), Hi(p.network)});
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
  const size_t scheme = url.find("://");
  if (scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
  const size_t end = url.find_first_of("/?#");
  std::string_view authority = url.substr(0, end);
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority.remove_prefix(at + 1);
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return "";
    return CleanHost(authority.substr(0, close + 1));
  }
  const size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos) authority = authority.substr(0, colon);
  return CleanHost(authority);
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
    case IndicatorType::kDomain:
      return MatchDomain(assets, CleanHost(v), v);
    case IndicatorType::kUrl:
      return MatchHost(assets, UrlHost(v), v);
    case IndicatorType::kEmail:
      return MatchHost(assets, EmailHost(v), v);
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
