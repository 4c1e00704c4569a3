// Randomized agreement test: random valid policy sets, written as TOML and
// loaded through the real loader, against random indicators; every decision
// must match a second, deliberately plain reading of the rules written here
// from docs/policy.md (numbers for IPs, label lists for domains, hosts known
// from how the values were built rather than parsed back out of them).
//
// Seeded: the seed is printed, and CARAVAN_POLICY_SEED=<n> replays a run.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "daemon/policy/policy_eval.h"
#include "daemon/policy/policy_loader.h"

namespace caravan::policy {
namespace {

using protocol::IndicatorType;
using protocol::RecordBody;
using protocol::Reshare;
using protocol::Tlp;

// ---------------------------------------------------------------- values ---

// An IP network as numbers: v4 in the low 32 bits of `lo`; v6 as hi:lo.
struct Net {
  bool v6 = false;
  uint64_t hi = 0, lo = 0;
  int prefix = 32;
};

// First and last address as 128-bit pairs (v4 shifted into the same space).
std::pair<std::pair<uint64_t, uint64_t>, std::pair<uint64_t, uint64_t>> Range(
    const Net& n) {
  const int bits = n.v6 ? 128 : 32;
  const int host = bits - n.prefix;
  uint64_t mask_hi = 0, mask_lo = 0;  // host bits set
  if (host >= 64) {
    mask_lo = ~0ULL;
    mask_hi = host == 128 ? ~0ULL : ((1ULL << (host - 64)) - 1);
  } else if (host > 0) {
    mask_lo = (1ULL << host) - 1;
  }
  return {{n.hi & ~mask_hi, n.lo & ~mask_lo}, {n.hi | mask_hi, n.lo | mask_lo}};
}

// IPv6 spellings of IPv4 (docs/policy.md, protected.toml), read here as
// plain 128-bit numbers: an IPv6 network stands for its own range and, per
// embedding prefix it meets, the IPv4 addresses its part of that prefix
// carries: from what its lowest address carries to what its highest does.
using U128 = unsigned __int128;

U128 Wide(uint64_t hi, uint64_t lo) { return (U128{hi} << 64) | lo; }

struct RefEmbedding {
  U128 first, last;               // the embedding prefix as a range
  uint32_t (*carried)(U128 a);    // the IPv4 address `a` carries
  bool inverted = false;          // carried() complements (Teredo client)
  bool not_low_two = false;       // :: and ::1 carry nothing
};

uint32_t Low32(U128 a) { return static_cast<uint32_t>(a); }

const std::vector<RefEmbedding> kRefEmbeddings = {
    // ::ffff:0:0/96, ::/96, ::ffff:0:0:0/96, 64:ff9b::/96
    {Wide(0, 0xffff00000000ULL), Wide(0, 0xffffffffffffULL), Low32},
    {Wide(0, 0), Wide(0, 0xffffffffULL), Low32, false, true},
    {Wide(0, 0xffff0000'00000000ULL), Wide(0, 0xffff0000'ffffffffULL), Low32},
    {Wide(0x0064ff9b00000000ULL, 0), Wide(0x0064ff9b00000000ULL, 0xffffffffULL),
     Low32},
    // 64:ff9b:1::/48 in the four RFC 6052 layouts that fit it.
    {Wide(0x0064ff9b00010000ULL, 0), Wide(0x0064ff9b0001ffffULL, ~0ULL),
     [](U128 a) {
       return static_cast<uint32_t>((((a >> 64) & 0xffff) << 16) | ((a >> 40) & 0xffff));
     }},
    {Wide(0x0064ff9b00010000ULL, 0), Wide(0x0064ff9b0001ffffULL, ~0ULL),
     [](U128 a) {
       return static_cast<uint32_t>((((a >> 64) & 0xff) << 24) | ((a >> 32) & 0xffffff));
     }},
    {Wide(0x0064ff9b00010000ULL, 0), Wide(0x0064ff9b0001ffffULL, ~0ULL),
     [](U128 a) { return static_cast<uint32_t>(a >> 24); }},
    {Wide(0x0064ff9b00010000ULL, 0), Wide(0x0064ff9b0001ffffULL, ~0ULL), Low32},
    // 2002::/16 (6to4), 2001::/32 (Teredo server; client complemented).
    {Wide(0x2002000000000000ULL, 0), Wide(0x2002ffffffffffffULL, ~0ULL),
     [](U128 a) { return static_cast<uint32_t>(a >> 80); }},
    {Wide(0x2001000000000000ULL, 0), Wide(0x20010000ffffffffULL, ~0ULL),
     [](U128 a) { return static_cast<uint32_t>(a >> 64); }},
    {Wide(0x2001000000000000ULL, 0), Wide(0x20010000ffffffffULL, ~0ULL),
     [](U128 a) { return ~static_cast<uint32_t>(a); }, true},
};

struct RefRange {
  bool v6 = false;
  U128 lo = 0, hi = 0;  // IPv4 as plain 32-bit numbers
};

std::vector<RefRange> RefCanonical(const Net& n) {
  auto r = Range(n);
  std::vector<RefRange> out = {{n.v6, Wide(r.first.first, r.first.second),
                                Wide(r.second.first, r.second.second)}};
  if (!n.v6) return out;
  for (const RefEmbedding& e : kRefEmbeddings) {
    const U128 lo = std::max(out[0].lo, e.first);
    const U128 hi = std::min(out[0].hi, e.last);
    if (lo > hi || (e.not_low_two && hi <= 1)) continue;
    uint32_t a = e.carried(lo), b = e.carried(hi);
    if (e.inverted) std::swap(a, b);
    out.push_back({false, a, b});
  }
  return out;
}

// Any canonical range of one meets any of the other.
bool RefTouches(const Net& a, const Net& b) {
  for (const RefRange& x : RefCanonical(a)) {
    for (const RefRange& y : RefCanonical(b)) {
      if (x.v6 == y.v6 && x.lo <= y.hi && y.lo <= x.hi) return true;
    }
  }
  return false;
}

std::string NetText(const Net& n) {
  std::ostringstream s;
  if (!n.v6) {
    s << ((n.lo >> 24) & 255) << '.' << ((n.lo >> 16) & 255) << '.'
      << ((n.lo >> 8) & 255) << '.' << (n.lo & 255);
  } else {
    // Eight full groups, no compression: the parser accepts any valid form.
    s << std::hex;
    for (int i = 0; i < 8; ++i) {
      const uint64_t word = i < 4 ? n.hi : n.lo;
      s << (i ? ":" : "") << ((word >> (48 - 16 * (i % 4))) & 0xffff);
    }
  }
  if (n.prefix != (n.v6 ? 128 : 32)) s << '/' << std::dec << n.prefix;
  return s.str();
}

Net Masked(Net n) {
  auto r = Range(n);
  n.hi = r.first.first;
  n.lo = r.first.second;
  return n;
}

std::vector<std::string> Labels(const std::string& d) {
  std::vector<std::string> out;
  std::stringstream s(d);
  std::string l;
  while (std::getline(s, l, '.')) out.push_back(l);
  return out;
}

// One list of labels ends with the other (either way round).
bool RefDomainTouches(const std::string& a, const std::string& b) {
  auto la = Labels(a), lb = Labels(b);
  const auto& shorter = la.size() <= lb.size() ? la : lb;
  const auto& longer = la.size() <= lb.size() ? lb : la;
  return std::equal(shorter.rbegin(), shorter.rend(), longer.rbegin());
}

// ---------------------------------------------------------------- policy ---

struct RefOut {
  bool share = false;
  Tlp max_tlp = Tlp::kGreen;
  std::optional<std::set<IndicatorType>> types;
  int min_conf = 0;
  std::set<std::string> exclude, require;
  std::set<std::string> redact;  // names, kept sorted
  int64_t embargo = 0;
  Reshare reshare = Reshare::kNone;
  std::optional<uint64_t> quota;
};

struct RefIn {
  bool accept = true;
  Tlp max_tlp = Tlp::kRed;
  std::optional<std::set<IndicatorType>> types;
  int min_conf = 0;
  std::optional<int64_t> retention;
  bool quarantine = false;
  bool accept_relayed = true;
};

struct RefFile {
  std::string name;
  std::vector<std::string> applies_to;
  std::optional<RefOut> out;
  std::optional<RefIn> in;
  std::string toml;
  bool needs_both = false;  // settles a country two group files claim
};

struct RefPolicy {
  RefFile def;
  std::vector<RefFile> files;
  std::map<std::string, std::vector<std::string>> groups;
  std::vector<Net> cidrs;
  std::vector<std::string> suffixes;
  std::vector<uint32_t> asns;
  std::map<std::string, std::string> texts;  // what the loader reads
};

const std::vector<std::string> kCountries = {"KZ", "KG", "TJ", "TM", "UZ",
                                             "FR", "DE", "US"};
const std::vector<std::string> kPolicyTags = {"internal", "ca-track", "vetted",
                                              "phishing"};
const std::vector<std::string> kTlpNames = {"clear", "green", "amber",
                                            "amber+strict", "red"};
const std::vector<std::string> kTypeNames = {"ipv4", "ipv6",   "domain", "url",
                                             "email", "md5",   "sha1",   "sha256",
                                             "cve",  "asn"};
const std::vector<std::string> kReshareNames = {"none", "direct", "federation"};
const std::vector<std::string> kRedactNames = {"description", "tags", "first_seen",
                                               "last_seen", "valid_until"};

// The pools policy and indicators draw from, so that they often meet.
const std::vector<Net> kCidrPool = {
    {false, 0, 0xC39E0000, 16},  // 195.158.0.0/16
    {false, 0, 0x0A010000, 16},  // 10.1.0.0/16
    {false, 0, 0xC0000200, 24},  // 192.0.2.0/24
    {false, 0, 0xCB007107, 32},  // 203.0.113.7
    {true, 0x20010db800100000ULL, 0, 48},
    {true, 0x20010db800000000ULL, 0, 32},
    {true, 0, 0x0000ffffc39e0000ULL, 112},          // ::ffff:195.158.0.0/112
    {true, 0x0064ff9b00000000ULL, 0xc6336400, 120},  // 64:ff9b::198.51.100.0/120
    {true, 0x2002cb0071000000ULL, 0, 40},            // 2002:cb00:7100::/40
};
const std::vector<std::string> kSuffixPool = {"gov.uz", "mail.gov.uz",
                                              "example.kz", "uz"};
const std::vector<uint32_t> kAsnPool = {8193, 64496, 1, 4294967295u};

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}

  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(int percent) { return Int(1, 100) <= percent; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(Int(0, static_cast<int>(v.size()) - 1))];
  }
  uint64_t U64() { return rng_(); }

  std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

  template <typename F>
  std::string List(const std::vector<std::string>& items, F quote) {
    std::string s = "[";
    for (size_t i = 0; i < items.size(); ++i) s += (i ? ", " : "") + quote(items[i]);
    return s + "]";
  }

  std::optional<std::set<IndicatorType>> Types(std::string& toml) {
    if (!Chance(40)) return std::nullopt;
    std::set<IndicatorType> set;
    std::vector<std::string> names;
    for (int i = 0; i < protocol::kIndicatorTypeCount; ++i) {
      if (Chance(50)) {
        set.insert(static_cast<IndicatorType>(i));
        names.push_back(Chance(10) ? Upper(kTypeNames[i]) : kTypeNames[i]);
      }
    }
    if (set.empty()) {
      set.insert(IndicatorType::kDomain);
      names.push_back("domain");
    }
    toml += "types = " + List(names, [&](const std::string& x) { return Quoted(x); }) + "\n";
    return set;
  }

  std::string Upper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
  }

  std::pair<int64_t, std::string> Duration() {
    switch (Int(0, 4)) {
      case 0: return {0, "0"};
      case 1: { int n = Int(1, 90); return {n * 60LL, std::to_string(n) + "m"}; }
      case 2: { int n = Int(1, 48); return {n * 3600LL, std::to_string(n) + "h"}; }
      case 3: { int n = Int(1, 30); return {n * 86400LL, std::to_string(n) + "d"}; }
      default: { int n = Int(1, 4); return {n * 604800LL, std::to_string(n) + "w"}; }
    }
  }

  RefOut Out(std::string& t) {
    RefOut o;
    t += "[outbound]\n";
    if (Chance(80)) {
      o.share = Chance(75);
      t += std::string("share = ") + (o.share ? "true" : "false") + "\n";
    }
    if (Chance(70)) {
      o.max_tlp = static_cast<Tlp>(Int(0, 3));
      t += "max_tlp = " + Quoted(kTlpNames[static_cast<size_t>(o.max_tlp)]) + "\n";
    }
    o.types = Types(t);
    if (Chance(50)) {
      o.min_conf = Int(0, 100);
      t += "min_confidence = " + std::to_string(o.min_conf) + "\n";
    }
    std::vector<std::string> ex, req;
    for (const auto& tag : kPolicyTags) {
      const int r = Int(0, 9);
      if (r == 0) ex.push_back(tag);
      if (r == 1) req.push_back(tag);
    }
    // Policy tags are matched without regard to case; write some in capitals.
    auto maybe_upper = [&](const std::string& x) { return Quoted(Chance(20) ? Upper(x) : x); };
    if (!ex.empty() || Chance(10)) t += "exclude_tags = " + List(ex, maybe_upper) + "\n";
    if (!req.empty() || Chance(10)) t += "require_tags = " + List(req, maybe_upper) + "\n";
    o.exclude = {ex.begin(), ex.end()};
    o.require = {req.begin(), req.end()};
    std::vector<std::string> redact;
    for (const auto& f : kRedactNames) {
      if (Chance(20)) redact.push_back(f);
    }
    std::shuffle(redact.begin(), redact.end(), rng_);
    if (!redact.empty()) {
      t += "redact = " + List(redact, [&](const std::string& x) { return Quoted(x); }) + "\n";
    }
    o.redact = {redact.begin(), redact.end()};
    if (Chance(40)) {
      auto [s, text] = Duration();
      o.embargo = s;
      t += "embargo = " + Quoted(text) + "\n";
    }
    if (Chance(70)) {
      o.reshare = static_cast<Reshare>(Int(0, 2));
      t += "reshare = " + Quoted(kReshareNames[static_cast<size_t>(o.reshare)]) + "\n";
    }
    if (Chance(30)) {
      o.quota = static_cast<uint64_t>(Int(1, 5));
      t += "max_per_day = " + std::to_string(*o.quota) + "\n";
    }
    return o;
  }

  RefIn In(std::string& t) {
    RefIn in;
    t += "[inbound]\n";
    if (Chance(70)) {
      in.accept = Chance(70);
      t += std::string("accept = ") + (in.accept ? "true" : "false") + "\n";
    }
    if (Chance(50)) {
      in.max_tlp = static_cast<Tlp>(Int(0, 4));
      t += "max_tlp = " + Quoted(kTlpNames[static_cast<size_t>(in.max_tlp)]) + "\n";
    }
    in.types = Types(t);
    if (Chance(40)) {
      in.min_conf = Int(0, 100);
      t += "min_confidence = " + std::to_string(in.min_conf) + "\n";
    }
    if (Chance(40)) {
      auto [s, text] = Duration();
      if (s == 0) { s = 86400; text = "1d"; }
      in.retention = s;
      t += "retention = " + Quoted(text) + "\n";
    }
    if (Chance(30)) {
      in.quarantine = Chance(50);
      t += std::string("quarantine = ") + (in.quarantine ? "true" : "false") + "\n";
    }
    if (Chance(40)) {
      in.accept_relayed = Chance(50);
      t += std::string("accept_relayed = ") + (in.accept_relayed ? "true" : "false") + "\n";
    }
    return in;
  }

  void Directions(RefFile& f) {
    if (f.needs_both || Chance(75)) f.out = Out(f.toml);
    if (f.needs_both || Chance(60)) f.in = In(f.toml);
  }

  RefPolicy Policy() {
    RefPolicy p;
    p.def.name = "default.toml";
    Directions(p.def);
    p.texts["default.toml"] = p.def.toml;

    // Groups.
    std::string groups_toml = "[groups]\n";
    for (const std::string g : {"central-asia", "turkic"}) {
      if (!Chance(60)) continue;
      std::vector<std::string> members;
      for (const auto& c : kCountries) {
        if (Chance(40)) members.push_back(c);
      }
      p.groups[g] = members;
      groups_toml += g + " = " +
                     List(members, [&](const std::string& x) { return Quoted(x); }) + "\n";
    }
    if (!p.groups.empty() || Chance(30)) p.texts["groups.toml"] = groups_toml;

    // Scope files: each country gets a country file, or not; each group a
    // group file, or not.
    std::map<std::string, size_t> country_file;
    std::vector<std::string> unclaimed;
    for (const auto& c : kCountries) {
      if (Chance(30)) {
        if (!p.files.empty() && Chance(30)) {
          p.files.back().applies_to.push_back(c);  // several in one file
        } else {
          p.files.push_back(RefFile{});
          p.files.back().name = "c" + std::to_string(p.files.size()) + ".toml";
          p.files.back().applies_to.push_back(c);
        }
        country_file[c] = p.files.size() - 1;
      }
    }
    std::map<std::string, size_t> group_file;
    for (const auto& [g, members] : p.groups) {
      if (!Chance(70)) continue;
      if (!p.files.empty() && Chance(25)) {
        p.files.back().applies_to.push_back(g);
      } else {
        p.files.push_back(RefFile{});
        p.files.back().name = "g" + std::to_string(p.files.size()) + ".toml";
        p.files.back().applies_to.push_back(g);
      }
      group_file[g] = p.files.size() - 1;
    }
    // A country claimed through two group files needs its own file, with
    // both tables.
    for (const auto& c : kCountries) {
      std::set<size_t> claimants;
      for (const auto& [g, idx] : group_file) {
        const auto& m = p.groups[g];
        if (std::find(m.begin(), m.end(), c) != m.end()) claimants.insert(idx);
      }
      if (claimants.size() > 1 && country_file.count(c)) {
        p.files[country_file[c]].needs_both = true;
      } else if (claimants.size() > 1) {
        p.files.push_back(RefFile{});
        p.files.back().needs_both = true;
        p.files.back().name = "fix-" + c + ".toml";
        p.files.back().applies_to.push_back(c);
        country_file[c] = p.files.size() - 1;
      }
    }
    for (auto& f : p.files) {
      f.toml = "applies_to = " +
               List(f.applies_to, [&](const std::string& x) { return Quoted(x); }) + "\n";
      Directions(f);
      p.texts[f.name] = f.toml;
    }

    // Protected assets.
    if (Chance(80)) {
      std::string t;
      std::vector<std::string> cidrs, suffixes, asns;
      for (const auto& n : kCidrPool) {
        if (Chance(40)) {
          p.cidrs.push_back(n);
          cidrs.push_back(NetText(n));
        }
      }
      for (const auto& s : kSuffixPool) {
        if (Chance(35)) {
          p.suffixes.push_back(s);
          suffixes.push_back(Chance(20) ? Upper(s) : s);
        }
      }
      for (uint32_t a : kAsnPool) {
        if (Chance(40)) {
          p.asns.push_back(a);
          asns.push_back(std::to_string(a));
        }
      }
      auto q = [&](const std::string& x) { return Quoted(x); };
      t += "cidrs = " + List(cidrs, q) + "\n";
      t += "domain_suffixes = " + List(suffixes, q) + "\n";
      t += "asns = " + List(asns, [](const std::string& x) { return x; }) + "\n";
      p.texts["protected.toml"] = t;
    }
    return p;
  }

  // ------------------------------------------------------------ records ---

  // The host an indicator is about, as the reference sees it.
  struct Host {
    std::optional<Net> ip;
    std::optional<std::string> domain;
  };

  struct Case {
    RecordBody record;
    // Hosts the value names, in the order the engine reads them (RFC 3986
    // first, then a browser's reading when it differs).
    std::vector<Host> hosts;
    std::optional<uint32_t> asn;
    std::string country;
    OutboundContext out;
    InboundContext in;
  };

  std::string Domain() {
    static const std::vector<std::string> kLabels = {"a", "mail", "gov", "evilgov", "www"};
    static const std::vector<std::string> kTails = {"gov.uz", "uz", "example.kz",
                                                    "example", "kz", "ov.uz"};
    std::string d = Pick(kTails);
    const int n = Int(0, 2);
    for (int i = 0; i < n; ++i) d = Pick(kLabels) + "." + d;
    if (Labels(d).size() < 2) d = "x." + d;
    return d;
  }

  Net Ip(bool v6) {
    Net n;
    n.v6 = v6;
    if (Chance(60)) {  // near a protected network
      Net base = Pick(kCidrPool);
      while (base.v6 != v6) base = Pick(kCidrPool);
      n = base;
      n.lo ^= U64() & (v6 ? 0xffffULL : 0x1ffffULL);
      if (v6) n.hi ^= U64() & 0x1ffffULL;
    } else {
      n.hi = v6 ? U64() : 0;
      n.lo = v6 ? U64() : (U64() & 0xffffffffULL);
    }
    const int bits = v6 ? 128 : 32;
    n.prefix = Chance(60) ? bits : Int(0, bits);
    return Masked(n);
  }

  // An IPv4 network (often near a protected one) written inside IPv6
  // through one of the embeddings; the reference reads the number, not this
  // construction.
  Net EmbeddedIp() {
    const uint32_t a = static_cast<uint32_t>(Ip(false).lo);
    U128 x = 0;
    int start = 96;  // where the IPv4 bits begin
    switch (Int(0, 8)) {
      case 7:                                                       // local-use /48
        x = Wide(0x0064ff9b00010000ULL | (a >> 16), 0) | (U128{a & 0xffff} << 40);
        start = 48;
        break;
      case 8:                                                       // local-use /64
        x = Wide(0x0064ff9b00010000ULL, 0) | (U128{a} << 24);
        start = 72;
        break;
      case 0: x = Wide(0, 0xffff00000000ULL) | a; break;           // mapped
      case 1: x = a; break;                                         // compatible
      case 2: x = Wide(0, 0xffff000000000000ULL) | a; break;       // translated
      case 3: x = Wide(0x0064ff9b00000000ULL, 0) | a; break;       // NAT64
      case 4: x = Wide(0x0064ff9b00010000ULL, 0) | a; break;       // local-use /96
      case 5:                                                       // 6to4
        x = Wide(0x2002000000000000ULL, 0) | (U128{a} << 80) | Wide(U64() & 0xffff, U64());
        start = 16;
        break;
      default:                                                      // Teredo client
        x = Wide(0x2001000000000000ULL | (U64() & 0xffffffffULL), U64() << 32) |
            static_cast<uint32_t>(~a);
        break;
    }
    Net n;
    n.v6 = true;
    n.hi = static_cast<uint64_t>(x >> 64);
    n.lo = static_cast<uint64_t>(x);
    const int r = Int(0, 9);
    n.prefix = r < 5 ? 128 : r < 8 ? start + Int(0, 32) : Int(0, 128);
    return Masked(n);
  }

  // How a URL may write an IPv4 host: every spelling reads as `a`.
  std::string V4HostText(uint32_t a) {
    const uint32_t b0 = a >> 24, b1 = (a >> 16) & 255, b2 = (a >> 8) & 255, b3 = a & 255;
    std::ostringstream s;
    switch (Int(0, 6)) {
      case 0: s << a; break;                                   // 3281912066
      case 1: s << (Chance(50) ? "0x" : "0X") << std::hex << a; break;
      case 2:
        s << std::oct << '0' << b0 << ".0" << b1 << ".0" << b2 << ".0" << b3;
        break;
      case 3: s << b0 << '.' << b1 << '.' << (b2 * 256 + b3); break;
      case 4: s << b0 << '.' << b1 << '.' << b2 << '.' << b3 << '.'; break;
      default: s << b0 << '.' << b1 << '.' << b2 << '.' << b3; break;
    }
    return s.str();
  }

  // How a URL may write a host name: case, a trailing dot, an escape.
  std::string DomainHostText(const std::string& d) {
    switch (Int(0, 4)) {
      case 0: return Upper(d);
      case 1: return d + ".";
      case 2: {
        std::ostringstream s;
        s << '%' << std::hex << static_cast<int>(d[0]) << d.substr(1);
        return s.str();
      }
      default: return d;
    }
  }

  // A URL host, spelled in one of its forms, and what it names.
  std::string UrlHostText(Host& h) {
    const int kind = Int(0, 5);
    if (kind == 0) {
      Net n = Ip(false);
      n.prefix = 32;
      n = Masked(n);
      h.ip = n;
      return Chance(50) ? NetText(n) : V4HostText(static_cast<uint32_t>(n.lo));
    }
    if (kind == 1) {
      Net n = Chance(50) ? EmbeddedIp() : Ip(true);
      n.prefix = 128;
      n = Masked(n);
      h.ip = n;
      return "[" + NetText(n) + "]";
    }
    h.domain = Domain();
    return Chance(50) ? *h.domain : DomainHostText(*h.domain);
  }

  Case Indicator(int64_t now) {
    Case c;
    RecordBody& r = c.record;
    r.origin_seq = 1;
    if (Chance(50)) {
      r.created = now - Int(0, 3 * 86400) - (Chance(10) ? 40 * 86400 : 0);
    } else {
      // On or next to an embargo boundary: a whole number of a unit ago.
      static const std::vector<int64_t> kUnits = {60, 3600, 86400, 604800};
      r.created = now - Int(0, 48) * Pick(kUnits) + Int(-1, 1);
    }
    auto& ind = r.indicator;
    ind.type = static_cast<IndicatorType>(Int(0, protocol::kIndicatorTypeCount - 1));
    switch (ind.type) {
      case IndicatorType::kIpv4:
      case IndicatorType::kIpv6: {
        const bool v6 = ind.type == IndicatorType::kIpv6;
        Net n = v6 && Chance(40) ? EmbeddedIp() : Ip(v6);
        c.hosts = {Host{n, std::nullopt}};
        ind.value = NetText(n);
        break;
      }
      case IndicatorType::kDomain:
        c.hosts = {Host{std::nullopt, Domain()}};
        ind.value = *c.hosts[0].domain;
        break;
      case IndicatorType::kUrl: {
        const std::string scheme =
            Pick(std::vector<std::string>{"http", "https", "ftp", "tcp"});
        std::string url = scheme + "://";
        if (Chance(20)) url += "user:p@";
        Host first;
        url += UrlHostText(first);
        if (Chance(30)) url += ":" + std::to_string(Int(1, 65535));
        c.hosts = {first};
        if (Chance(25)) {
          // "first\@second": a browser ends an http URL's authority at '\'
          // (host first); RFC 3986 reads up to the last '@' as user info
          // (host second). tcp is not special: both read second.
          Host second;
          url += "\\@" + UrlHostText(second);
          if (scheme == "tcp") {
            c.hosts = {second};
          } else {
            c.hosts = {second, first};
          }
        }
        url += Pick(std::vector<std::string>{"", "/", "/x/gov.uz", "/?a=b@gov.uz", "#f"});
        ind.value = url;
        break;
      }
      case IndicatorType::kEmail:
        if (Chance(15)) {
          Net n = Chance(70) ? Ip(false) : EmbeddedIp();
          n.prefix = n.v6 ? 128 : 32;
          n = Masked(n);
          c.hosts = {Host{n, std::nullopt}};
          ind.value = std::string("x@[") + (n.v6 ? "IPv6:" : "") + NetText(n) + "]";
        } else {
          c.hosts = {Host{std::nullopt, Domain()}};
          ind.value = Pick(std::vector<std::string>{"a", "gov.uz", "Minister"}) + "@" +
                      *c.hosts[0].domain;
        }
        break;
      case IndicatorType::kAsn: {
        const uint32_t a = Chance(70) ? Pick(kAsnPool) : static_cast<uint32_t>(Int(2, 99999));
        c.asn = a;
        ind.value = "AS" + std::to_string(a);
        break;
      }
      case IndicatorType::kMd5: ind.value = std::string(32, 'a'); break;
      case IndicatorType::kSha1: ind.value = std::string(40, 'b'); break;
      case IndicatorType::kSha256: ind.value = std::string(64, 'c'); break;
      case IndicatorType::kCve: ind.value = "CVE-2024-12345"; break;
    }
    ind.tlp = static_cast<Tlp>(Int(0, 4));
    ind.confidence = static_cast<uint8_t>(Int(0, 100));
    static const std::vector<std::string> kTags = {"internal", "Internal", "ca-track",
                                                   "VETTED", "vetted", "phishing", "apt"};
    std::set<std::string> tags;
    for (int i = Int(0, 3); i > 0; --i) tags.insert(Pick(kTags));
    ind.tags = {tags.begin(), tags.end()};
    if (Chance(40)) ind.description = "note";
    if (Chance(30)) ind.first_seen = r.created - 100;
    if (Chance(30)) ind.last_seen = r.created - 10;
    if (Chance(20)) ind.valid_until = r.created + 1000;
    ind.reshare = static_cast<Reshare>(Int(0, 2));
    ind.revoked = Chance(8);

    c.country = Chance(90) ? Pick(kCountries) : "BR";
    c.out.now = now;
    c.out.sent_today_to_country = static_cast<uint64_t>(Int(0, 6));
    c.out.is_relay = Chance(30);
    c.out.recipient_holds_indicator = Chance(30);
    c.out.revocation_tells_holder_nothing_new =
        c.out.recipient_holds_indicator && Chance(50);
    c.in.now = now;
    c.in.relayed = Chance(30);
    c.in.holds_indicator = Chance(30);
    return c;
  }

 private:
  std::mt19937_64 rng_;
};

// ------------------------------------------------------------- reference ---

struct RefDecision {
  std::string verdict;  // share/withhold/defer or accept/reject/quarantine
  std::string key;
  std::string file;
  int64_t retry_at = 0;
  std::vector<std::string> redact;
  std::optional<Reshare> reshare;
  std::optional<int64_t> expires_at;
};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The files that apply to a country, most specific first: its own file,
// the one file naming one of its groups, default.toml.
std::vector<const RefFile*> Chain(const RefPolicy& p, const std::string& cc) {
  std::vector<const RefFile*> chain;
  for (const auto& f : p.files) {
    if (std::count(f.applies_to.begin(), f.applies_to.end(), cc)) chain.push_back(&f);
  }
  std::set<const RefFile*> via_group;
  for (const auto& f : p.files) {
    for (const auto& a : f.applies_to) {
      auto g = p.groups.find(a);
      if (g != p.groups.end() && std::count(g->second.begin(), g->second.end(), cc)) {
        via_group.insert(&f);
      }
    }
  }
  if (via_group.size() == 1) chain.push_back(*via_group.begin());
  chain.push_back(&p.def);
  return chain;
}

bool HasType(const std::optional<std::set<IndicatorType>>& types, IndicatorType t) {
  return !types || types->count(t) != 0;
}

// The key of the protected.toml list that withholds the value, or "".
// Hosts are tried in the engine's order; the first protected one names it.
std::string ProtectedKey(const RefPolicy& p, const Gen::Case& c) {
  for (const auto& h : c.hosts) {
    if (h.ip) {
      for (const auto& n : p.cidrs) {
        if (RefTouches(n, *h.ip)) return "cidrs";
      }
    }
    if (h.domain) {
      for (const auto& s : p.suffixes) {
        if (RefDomainTouches(*h.domain, s)) return "domain_suffixes";
      }
    }
  }
  if (c.asn) {
    for (uint32_t a : p.asns) {
      if (a == *c.asn) return "asns";
    }
  }
  return "";
}

RefDecision RefOutbound(const RefPolicy& p, const Gen::Case& c) {
  const auto& ind = c.record.indicator;
  RefDecision d;
  d.verdict = "withhold";
  const RefFile* file = nullptr;
  for (const RefFile* f : Chain(p, c.country)) {
    if (f->out || f == &p.def) {
      file = f;
      break;
    }
  }
  const RefOut o = file->out.value_or(RefOut{});
  const std::map<std::string, bool> present = {
      {"description", !ind.description.empty()}, {"tags", !ind.tags.empty()},
      {"first_seen", ind.first_seen != 0},        {"last_seen", ind.last_seen != 0},
      {"valid_until", ind.valid_until != 0}};
  if (ind.revoked && !c.out.recipient_holds_indicator) {
    d.key = "revocation";
    return d;
  }
  if (std::string key = ProtectedKey(p, c); !key.empty()) {
    d.file = "protected.toml";
    d.key = key;
    return d;
  }
  if (ind.tlp == Tlp::kRed) {
    d.key = "tlp_red";
    return d;
  }
  d.file = file->name;
  auto tags = std::set<std::string>();
  for (const auto& t : ind.tags) tags.insert(Lower(t));
  if (!o.share) { d.key = "outbound.share"; return d; }
  if (ind.tlp > o.max_tlp) { d.key = "outbound.max_tlp"; return d; }
  if (!HasType(o.types, ind.type)) { d.key = "outbound.types"; return d; }
  if (ind.confidence < o.min_conf) { d.key = "outbound.min_confidence"; return d; }
  for (const auto& t : o.exclude) {
    if (tags.count(t)) { d.key = "outbound.exclude_tags"; return d; }
  }
  for (const auto& t : o.require) {
    if (!tags.count(t)) { d.key = "outbound.require_tags"; return d; }
  }
  if (ind.revoked) {
    // To a holder, once its content passed: in the form the scope allows;
    // a relay cannot redact, and one that tells the holder something new
    // must pass the relay rules.
    if (c.out.is_relay) {
      if (!c.out.revocation_tells_holder_nothing_new) {
        if (ind.reshare != Reshare::kFederation) {
          d.key = "record.reshare";
          d.file = "";
          return d;
        }
        if (o.reshare != Reshare::kFederation) { d.key = "outbound.reshare"; return d; }
      }
      for (const auto& f : o.redact) {
        if (present.at(f)) {
          d.key = "outbound.redact";
          return d;
        }
      }
    } else {
      for (const auto& f : kRedactNames) {
        if (o.redact.count(f)) d.redact.push_back(f);
      }
    }
    d.verdict = "share";
    d.file = "";
    d.key = "revocation";
    d.reshare = c.out.is_relay ? ind.reshare : std::min(ind.reshare, o.reshare);
    return d;
  }
  if (c.out.is_relay) {
    if (ind.reshare != Reshare::kFederation) {
      d.key = "record.reshare";
      d.file = "";
      return d;
    }
    if (o.reshare != Reshare::kFederation) { d.key = "outbound.reshare"; return d; }
    for (const auto& f : o.redact) {
      if (present.at(f)) { d.key = "outbound.redact"; return d; }
    }
  }
  // "0" means no embargo, even for a record stamped in the future (skew).
  if (o.embargo != 0 && c.record.created + o.embargo > c.out.now) {
    d.verdict = "defer";
    d.key = "outbound.embargo";
    d.retry_at = c.record.created + o.embargo;
    return d;
  }
  if (o.quota && c.out.sent_today_to_country >= *o.quota) {
    d.verdict = "defer";
    d.key = "outbound.max_per_day";
    d.retry_at = (c.out.now / 86400 + 1) * 86400;
    return d;
  }
  d.verdict = "share";
  d.key = "outbound.share";
  if (!c.out.is_relay) {
    // Canonical order of the redactable fields.
    for (const auto& f : kRedactNames) {
      if (o.redact.count(f)) d.redact.push_back(f);
    }
  }
  d.reshare = std::min(ind.reshare, o.reshare);
  return d;
}

RefDecision RefInbound(const RefPolicy& p, const Gen::Case& c) {
  const auto& ind = c.record.indicator;
  RefDecision d;
  d.verdict = "reject";
  if (ind.revoked && c.in.holds_indicator) {
    d.verdict = "accept";
    d.key = "revocation";
    return d;
  }
  const RefFile* file = nullptr;
  for (const RefFile* f : Chain(p, c.country)) {
    if (f->in || f == &p.def) {
      file = f;
      break;
    }
  }
  const RefIn in = file->in.value_or(RefIn{});
  d.file = file->name;
  if (!in.accept) { d.key = "inbound.accept"; return d; }
  if (c.in.relayed && !in.accept_relayed) { d.key = "inbound.accept_relayed"; return d; }
  if (ind.tlp > in.max_tlp) { d.key = "inbound.max_tlp"; return d; }
  if (!HasType(in.types, ind.type)) { d.key = "inbound.types"; return d; }
  if (ind.confidence < in.min_conf) { d.key = "inbound.min_confidence"; return d; }
  if (in.retention) d.expires_at = c.in.now + *in.retention;
  d.verdict = in.quarantine ? "quarantine" : "accept";
  d.key = in.quarantine ? "inbound.quarantine" : "inbound.accept";
  return d;
}

std::string Describe(const RefPolicy& p, const Gen::Case& c) {
  std::ostringstream s;
  for (const auto& [name, text] : p.texts) s << "--- " << name << "\n" << text;
  const auto& ind = c.record.indicator;
  s << "--- record: " << protocol::TypeName(ind.type) << " " << ind.value
    << " tlp=" << protocol::TlpName(ind.tlp) << " conf=" << int(ind.confidence)
    << " reshare=" << protocol::ReshareName(ind.reshare) << " revoked=" << ind.revoked
    << " created=" << c.record.created << " tags=";
  for (const auto& t : ind.tags) s << t << ",";
  s << " desc=" << !ind.description.empty() << " fs=" << ind.first_seen
    << " ls=" << ind.last_seen << " vu=" << ind.valid_until << "\n--- country "
    << c.country << " now=" << c.out.now << " sent=" << c.out.sent_today_to_country
    << " relay=" << c.out.is_relay << " holds=" << c.out.recipient_holds_indicator
    << " nothing_new=" << c.out.revocation_tells_holder_nothing_new
    << " in.relayed=" << c.in.relayed << " in.holds=" << c.in.holds_indicator << "\n";
  return s.str();
}

std::string_view Name(OutboundDecision::Verdict v) {
  switch (v) {
    case OutboundDecision::Verdict::kShare: return "share";
    case OutboundDecision::Verdict::kWithhold: return "withhold";
    case OutboundDecision::Verdict::kDefer: return "defer";
  }
  return "?";
}

std::string_view Name(InboundDecision::Verdict v) {
  switch (v) {
    case InboundDecision::Verdict::kAccept: return "accept";
    case InboundDecision::Verdict::kReject: return "reject";
    case InboundDecision::Verdict::kQuarantine: return "quarantine";
  }
  return "?";
}

TEST(PolicyRandom, EngineAgreesWithTheReferenceReading) {
  uint64_t seed = 20240501;
  if (const char* env = std::getenv("CARAVAN_POLICY_SEED")) {
    seed = std::strtoull(env, nullptr, 10);
  }
  std::cout << "policy random test seed: " << seed
            << " (replay with CARAVAN_POLICY_SEED=" << seed << ")\n";
  Gen gen(seed);
  constexpr int kSets = 200;
  constexpr int kRecordsPerSet = 1000;
  std::map<std::string, int> seen;  // verdict/key coverage
  int failures = 0;
  for (int s = 0; s < kSets && failures < 5; ++s) {
    RefPolicy p = gen.Policy();
    auto loaded = LoadPolicyText(p.texts);
    if (!loaded.ok()) {
      ADD_FAILURE() << "seed " << seed << " set " << s << ": a valid set did not load:\n"
                    << loaded.status().message() << "\n" << Describe(p, gen.Indicator(0));
      ++failures;
      continue;
    }
    const int64_t now = 1'700'000'000 + gen.Int(0, 86400 * 3);
    for (int i = 0; i < kRecordsPerSet && failures < 5; ++i) {
      Gen::Case c = gen.Indicator(now);
      const RefDecision want = RefOutbound(p, c);
      const OutboundDecision got = EvaluateOutbound(*loaded, c.record, c.country, c.out);
      ++seen["out " + want.verdict + " " + want.key];
      const bool same_out =
          Name(got.verdict) == want.verdict && got.rule.key == want.key &&
          got.rule.file == want.file &&
          (want.verdict != "defer" || got.retry_at == want.retry_at) &&
          (want.verdict != "share" ||
           (got.redact == want.redact && got.reshare_ceiling == *want.reshare));
      if (!same_out) {
        ++failures;
        ADD_FAILURE() << "seed " << seed << " set " << s << " case " << i
                      << ": outbound disagrees\n  engine: " << Name(got.verdict) << " "
                      << got.rule.file << " " << got.rule.key << " (" << got.rule.reason
                      << ") retry_at=" << got.retry_at << "\n  reference: " << want.verdict
                      << " " << want.file << " " << want.key
                      << " retry_at=" << want.retry_at << "\n"
                      << Describe(p, c);
      }
      const RefDecision want_in = RefInbound(p, c);
      const InboundDecision got_in = EvaluateInbound(*loaded, c.record, c.country, c.in);
      ++seen["in " + want_in.verdict + " " + want_in.key];
      if (Name(got_in.verdict) != want_in.verdict || got_in.rule.key != want_in.key ||
          (want_in.key != "revocation" && got_in.rule.file != want_in.file) ||
          (want_in.verdict != "reject" && got_in.expires_at != want_in.expires_at)) {
        ++failures;
        ADD_FAILURE() << "seed " << seed << " set " << s << " case " << i
                      << ": inbound disagrees\n  engine: " << Name(got_in.verdict) << " "
                      << got_in.rule.file << " " << got_in.rule.key
                      << "\n  reference: " << want_in.verdict << " " << want_in.file
                      << " " << want_in.key << "\n"
                      << Describe(p, c);
      }
    }
  }
  // The generator must actually reach every rule, or agreement means little.
  for (const std::string key :
       {"out share outbound.share", "out withhold outbound.share",
        "out withhold revocation", "out share revocation", "out withhold cidrs",
        "out withhold domain_suffixes", "out withhold asns", "out withhold tlp_red",
        "out withhold outbound.max_tlp", "out withhold outbound.types",
        "out withhold outbound.min_confidence", "out withhold outbound.exclude_tags",
        "out withhold outbound.require_tags", "out withhold record.reshare",
        "out withhold outbound.reshare", "out withhold outbound.redact",
        "out defer outbound.embargo", "out defer outbound.max_per_day",
        "in accept inbound.accept", "in reject inbound.accept",
        "in reject inbound.accept_relayed", "in reject inbound.max_tlp",
        "in reject inbound.types", "in reject inbound.min_confidence",
        "in quarantine inbound.quarantine", "in accept revocation"}) {
    EXPECT_GT(seen[key], 0) << "never reached: " << key << " (seed " << seed << ")";
  }
}

}  // namespace
}  // namespace caravan::policy
