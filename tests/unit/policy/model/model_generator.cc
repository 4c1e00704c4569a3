#include "tests/unit/policy/model/model_generator.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "tests/unit/policy/model/value_model.h"

namespace caravan::policy::model {
namespace {

__extension__ typedef unsigned __int128 U128;

const std::vector<std::string> kCountries = {"KZ", "KG", "TJ", "TM",
                                             "UZ", "FR", "DE", "US"};
const std::vector<std::string> kTags = {"internal", "ca-track", "vetted",
                                        "phishing"};
const std::vector<std::string> kTlpNames = {"clear", "green", "amber",
                                            "amber+strict"};
const std::vector<std::string> kTypeNames = {
    "ipv4", "ipv6", "domain", "url", "email",
    "md5",  "sha1", "sha256", "cve", "asn"};
const std::vector<std::string> kReshareNames = {"none", "direct", "federation"};

// What policies protect and values aim at, so that they often meet.
const std::vector<Net> kV4Pool = {
    {false, 0, 0xC39E0000, 16},  // 195.158.0.0/16
    {false, 0, 0x0A010000, 16},  // 10.1.0.0/16
    {false, 0, 0xC0000200, 24},  // 192.0.2.0/24
    {false, 0, 0xCB007107, 32},  // 203.0.113.7
};
const std::vector<Net> kV6Pool = {
    {true, 0x20010db800100000ULL, 0, 48},
    {true, 0x20010db800000000ULL, 0, 32},
};
const std::vector<std::string> kSuffixPool = {
    "gov.uz", "mail.gov.uz", "example.kz", "uz", "xn--80ao21a.uz"};
const std::vector<uint32_t> kAsnPool = {8193, 64496, 1, 4294967295u};

// Hosts with nothing protected about them, for the other side of a URL.
const std::vector<std::string> kElsewhere = {"evil.com", "example.net",
                                             "8.8.8.8", "[2001:db8:ffff::1]"};

std::string Upper(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string Lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

std::string QuotedList(const std::vector<std::string>& items) {
  std::string s = "[";
  for (size_t i = 0; i < items.size(); ++i)
    s += (i ? ", " : "") + Quoted(items[i]);
  return s + "]";
}

U128 Bits(const Net& n) { return (static_cast<U128>(n.hi) << 64) | n.lo; }
Net V6Net(U128 a, int prefix) {
  return Masked(Net{true, static_cast<uint64_t>(a >> 64),
                    static_cast<uint64_t>(a), prefix});
}

std::string Dotted(uint32_t v) {
  std::ostringstream s;
  s << (v >> 24) << '.' << ((v >> 16) & 255) << '.' << ((v >> 8) & 255) << '.'
    << (v & 255);
  return s.str();
}

std::string Hex(uint64_t v, bool upper) {
  std::ostringstream s;
  s << std::hex << v;
  return upper ? Upper(s.str()) : s.str();
}

}  // namespace

const std::vector<std::string>& AllFamilies() {
  static const std::vector<std::string> kAll = {
      "ip",     "ip-embedded",  "domain",        "domain-idn",
      "url",    "url-userinfo", "url-backslash", "numeric-host",
      "url-v6", "url-encoded",  "email",         "asn",
      "other",  "protected-v6"};
  return kAll;
}

Generator::Generator(uint64_t seed, std::set<std::string> families)
    : rng_(seed), families_(std::move(families)) {}

int Generator::Int(int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng_);
}
bool Generator::Chance(int percent) { return Int(1, 100) <= percent; }
std::string Generator::MaybeUpper(const std::string& s, int percent) {
  return Chance(percent) ? Upper(s) : s;
}

// ------------------------------------------------------------- policies ---

Outbound Generator::OutboundTable(
    std::vector<std::pair<std::string, std::string>>& keys) {
  Outbound o;
  if (Chance(85)) {
    o.share = Chance(80);
    keys.emplace_back("share", o.share ? "true" : "false");
  }
  if (Chance(60)) {
    o.max_tlp = Int(0, 3);
    keys.emplace_back(
        "max_tlp",
        Quoted(MaybeUpper(kTlpNames[static_cast<size_t>(o.max_tlp)], 10)));
  }
  if (Chance(35)) {
    std::set<std::string> types;
    std::vector<std::string> names;
    for (const auto& t : kTypeNames) {
      if (Chance(60)) {
        types.insert(t);
        names.push_back(t);
      }
    }
    if (types.empty()) {
      types.insert("url");
      names.push_back("url");
    }
    o.types = types;
    keys.emplace_back("types", QuotedList(names));
  }
  if (Chance(40)) {
    o.min_confidence = Int(0, 100);
    keys.emplace_back("min_confidence", std::to_string(o.min_confidence));
  }
  std::vector<std::string> ex, req;
  for (const auto& tag : kTags) {
    const int r = Int(0, 9);
    if (r == 0) ex.push_back(MaybeUpper(tag, 20));
    if (r == 1) req.push_back(MaybeUpper(tag, 20));
  }
  if (!ex.empty()) keys.emplace_back("exclude_tags", QuotedList(ex));
  if (!req.empty()) keys.emplace_back("require_tags", QuotedList(req));
  // Tags compare without ASCII case: the model keeps them lower case.
  for (const auto& t : ex) o.exclude_tags.insert(Lower(t));
  for (const auto& t : req) o.require_tags.insert(Lower(t));
  std::vector<std::string> redact;
  for (const auto& f : kRedactFields) {
    if (Chance(15)) redact.push_back(f);
  }
  std::shuffle(redact.begin(), redact.end(), rng_);
  if (!redact.empty()) keys.emplace_back("redact", QuotedList(redact));
  o.redact = {redact.begin(), redact.end()};
  if (Chance(30)) {
    static const std::vector<std::pair<int64_t, std::string>> kUnits = {
        {60, "m"}, {3600, "h"}, {86400, "d"}, {604800, "w"}};
    const auto& [secs, unit] = Pick(kUnits);
    const int n = Int(0, 30);
    o.embargo = n * secs;
    keys.emplace_back("embargo",
                      Quoted(n == 0 ? "0" : std::to_string(n) + unit));
  }
  if (Chance(70)) {
    o.reshare = Int(0, 2);
    keys.emplace_back("reshare",
                      Quoted(kReshareNames[static_cast<size_t>(o.reshare)]));
  }
  if (Chance(25)) {
    o.max_per_day = static_cast<uint64_t>(Int(1, 5));
    keys.emplace_back("max_per_day", std::to_string(*o.max_per_day));
  }
  return o;
}

void Generator::Protect(Written& w) {
  Protected pa;
  for (const Net& n : kV4Pool) {
    if (!Chance(40)) continue;
    const std::string text =
        On("protected-v6") && Chance(35) ? EmbeddedV6(n) : V4Text(n);
    pa.cidrs.push_back(text);
  }
  for (const Net& n : kV6Pool) {
    if (Chance(35)) pa.cidrs.push_back(V6Text(n));
  }
  for (const auto& s : kSuffixPool) {
    if (Chance(35)) pa.domain_suffixes.push_back(MaybeUpper(s, 15));
  }
  for (uint32_t a : kAsnPool) {
    if (Chance(40)) pa.asns.push_back(a);
  }
  w.spelling.cidrs_text = pa.cidrs;
  w.spelling.suffixes_text = pa.domain_suffixes;
  w.policy.protected_assets = pa;
}

Written Generator::PolicySet() {
  Written w;
  Policy& p = w.policy;
  p.default_file.name = "default.toml";
  auto directions = [&](File& f, bool both) {
    if (both || Chance(80)) {
      auto& keys = w.spelling.outbound[f.name];
      f.outbound = OutboundTable(keys);
    }
    w.spelling.inbound_table[f.name] = both || Chance(40);
  };
  directions(p.default_file, false);

  for (const std::string g : {"central-asia", "turkic"}) {
    if (!Chance(60)) continue;
    std::vector<std::string> members;
    for (const auto& c : kCountries) {
      if (Chance(40)) members.push_back(c);
    }
    p.groups[g] = members;
  }
  w.spelling.groups_file = Chance(20);

  // Scope files: per country and per group, sometimes several in one file.
  std::map<std::string, size_t> country_file;
  std::vector<File> files;
  for (const auto& c : kCountries) {
    if (!Chance(30)) continue;
    if (!files.empty() && Chance(30)) {
      files.back().applies_to.push_back(c);
    } else {
      files.push_back(File{});
      files.back().name = "c" + std::to_string(files.size()) + ".toml";
      files.back().applies_to.push_back(c);
    }
    country_file[c] = files.size() - 1;
  }
  std::map<std::string, size_t> group_file;
  for (const auto& [g, members] : p.groups) {
    if (!Chance(70)) continue;
    if (!files.empty() && Chance(25)) {
      files.back().applies_to.push_back(g);
    } else {
      files.push_back(File{});
      files.back().name = "g" + std::to_string(files.size()) + ".toml";
      files.back().applies_to.push_back(g);
    }
    group_file[g] = files.size() - 1;
  }
  // A country two group files claim needs its own file with both tables.
  std::set<size_t> needs_both;
  for (const auto& c : kCountries) {
    std::set<size_t> claimants;
    for (const auto& [g, idx] : group_file) {
      const auto& m = p.groups[g];
      if (std::find(m.begin(), m.end(), c) != m.end()) claimants.insert(idx);
    }
    if (claimants.size() < 2) continue;
    if (country_file.count(c)) {
      needs_both.insert(country_file[c]);
    } else {
      files.push_back(File{});
      files.back().name = "fix-" + c + ".toml";
      files.back().applies_to.push_back(c);
      needs_both.insert(files.size() - 1);
    }
  }
  for (size_t i = 0; i < files.size(); ++i)
    directions(files[i], needs_both.count(i) != 0);
  p.scopes = files;
  if (Chance(85)) Protect(w);
  return w;
}

// ---------------------------------------------------------------- values ---

Net Generator::NearPoolV4() {
  Net n = Pick(kV4Pool);
  n.lo ^= static_cast<uint64_t>(Int(0, 0x1ffff));
  n.prefix = Chance(60) ? 32 : Int(0, 32);
  return Masked(n);
}

std::string Generator::V4Text(const Net& n) {
  std::string s = Dotted(static_cast<uint32_t>(n.lo));
  if (n.prefix != 32 || Chance(5)) s += "/" + std::to_string(n.prefix);
  return s;
}

std::string Generator::V6Text(const Net& n) {
  const U128 a = Bits(n);
  const bool upper = Chance(15);
  std::vector<uint16_t> g(8);
  for (int i = 0; i < 8; ++i)
    g[static_cast<size_t>(i)] = static_cast<uint16_t>(a >> (112 - 16 * i));
  std::string s;
  if (Chance(30)) {
    for (int i = 0; i < 8; ++i)
      s += (i ? ":" : "") + Hex(g[static_cast<size_t>(i)], upper);
  } else {
    // The longest run of zero groups becomes "::".
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
      int j = i;
      while (j < 8 && g[static_cast<size_t>(j)] == 0) ++j;
      if (j - i > best_len) {
        best = i;
        best_len = j - i;
      }
      i = j == i ? i + 1 : j;
    }
    for (int i = 0; i < 8; ++i) {
      if (i == best && best_len >= 1) {
        s += "::";
        i += best_len - 1;
        continue;
      }
      if (!s.empty() && s.back() != ':') s += ":";
      s += Hex(g[static_cast<size_t>(i)], upper);
    }
  }
  if (n.prefix != 128 || Chance(5)) s += "/" + std::to_string(n.prefix);
  return s;
}

// `v4` in one of the IPv6 embeddings, in one of its spellings.
std::string Generator::EmbeddedV6(const Net& v4) {
  const uint32_t a = static_cast<uint32_t>(v4.lo);
  const int p = v4.prefix;
  const int kind = Int(0, 7);
  static const std::vector<std::string> kDottedHead = {
      "::ffff:", "::", "64:ff9b::"};
  if (kind <= 2 && Chance(50) && !(kind == 1 && a == 0)) {
    // Dotted tail: "::ffff:195.158.0.0/112".
    std::string head = kDottedHead[static_cast<size_t>(kind)];
    if (Chance(15)) head = Upper(head);
    if (kind == 0 && Chance(20)) head = "0:0:0:0:0:ffff:";
    std::string s = head + Dotted(a);
    if (p != 32 || Chance(5)) s += "/" + std::to_string(96 + p);
    return s;
  }
  U128 bits = 0;
  int prefix = 0;
  switch (kind) {
    case 0:
      bits = (static_cast<U128>(0xffff) << 32) | a;
      prefix = 96 + p;
      break;
    case 1:
      bits = a;
      prefix = 96 + p;
      break;
    case 2:
      bits = (static_cast<U128>(0x0064ff9bULL) << 96) | a;
      prefix = 96 + p;
      break;
    case 3:  // RFC 6052 /48: a.b at bits 48..63, c.d at 72..87
      bits = (static_cast<U128>(0x0064ff9b0001ULL) << 80) |
             (static_cast<U128>(a >> 16) << 64) |
             (static_cast<U128>(a & 0xffff) << 40);
      prefix = p <= 16 ? 48 + p : 72 + (p - 16);
      break;
    case 5:  // SIIT ::ffff:0:a.b.c.d
      bits = (static_cast<U128>(0xffff) << 48) | a;
      prefix = 96 + p;
      break;
    case 6: {  // local-use NAT64 in the /56, /64 or /96 layout
      const int layout = Int(0, 2);
      bits = static_cast<U128>(0x0064ff9b0001ULL) << 80;
      if (layout == 0) {  // a at 56..63, b.c.d at 72..95
        bits |= (static_cast<U128>(a >> 24) << 64) |
                (static_cast<U128>(a & 0xffffff) << 32);
        prefix = p <= 8 ? 56 + p : 72 + (p - 8);
      } else if (layout == 1) {  // 72..103
        bits |= static_cast<U128>(a) << 24;
        prefix = 72 + p;
      } else {
        bits |= a;
        prefix = 96 + p;
      }
      break;
    }
    case 7:  // Teredo: server at 32..63, or the client complemented at 96..127
      bits = static_cast<U128>(0x20010000ULL) << 96;
      if (Chance(50)) {
        bits |= static_cast<U128>(a) << 64;
        prefix = 32 + p;
      } else {
        bits |= static_cast<U128>(~a & 0xffffffffu);
        bits |= static_cast<U128>(0x0a0b0c0dULL) << 64;  // some server
        prefix = 96 + p;
      }
      break;
    default:  // 6to4: 2002:AABB:CCDD::/48, sometimes an address in it
      bits = (static_cast<U128>(0x2002) << 112) | (static_cast<U128>(a) << 80);
      prefix = 16 + p;
      if (p == 32 && Chance(40)) {
        bits |= static_cast<U128>(Int(1, 0xffff));
        prefix = 128;
      }
      break;
  }
  if (Chance(8)) prefix = Int(0, prefix);  // wider than the embedding
  return V6Text(V6Net(bits, prefix));
}

std::string Generator::Domain(bool idn) {
  std::vector<std::string> labels = {"a", "mail", "gov", "evilgov", "www"};
  std::vector<std::string> tails = {
      "gov.uz", "uz", "example.kz", "example", "kz", "ov.uz", "xn--80ao21a.uz"};
  if (idn) {
    labels.insert(labels.end(),
                  {"қаз", "ҚАЗ", "xn--80ao21a", "почта", "Ғ", "faß"});
    tails.insert(tails.end(), {"қаз.uz", "ҚАЗ.UZ", "XN--80AO21A.uz",
                               "қаз\u3002uz", "gov\uFF0Euz"});
  }
  std::string d = Pick(tails);
  for (int i = Int(0, 2); i > 0; --i) d = Pick(labels) + "." + d;
  if (d.find('.') == std::string::npos) d = "x." + d;
  d = MaybeUpper(d, 15);
  if (Chance(10)) d += Chance(80) ? "." : "..";
  return d;
}

std::string Generator::Host() {
  const int r = Int(0, 99);
  if (r < 50) return Domain(On("domain-idn"));
  if (r < 65) {
    Net n = NearPoolV4();
    n.prefix = 32;
    return Dotted(static_cast<uint32_t>(Masked(n).lo));
  }
  if (r < 80 && On("url-v6")) {
    Net v4 = NearPoolV4();
    v4.prefix = 32;
    v4 = Masked(v4);
    if (Chance(50) && On("ip-embedded")) {
      std::string e = EmbeddedV6(v4);
      if (const size_t slash = e.find('/'); slash != std::string::npos)
        e.resize(slash);
      return "[" + e + "]";
    }
    Net n = Pick(kV6Pool);
    n.lo ^= static_cast<uint64_t>(Int(0, 0xffff));
    n.prefix = 128;
    std::string t = V6Text(n);
    if (const size_t slash = t.find('/'); slash != std::string::npos)
      t.resize(slash);
    return "[" + t + "]";
  }
  if (On("numeric-host")) {
    // Spellings a browser reads as an IPv4 address (WHATWG "ends in a
    // number"); the last part is hex so that it is not all digits.
    Net n = NearPoolV4();
    const auto a = static_cast<uint32_t>(n.lo);
    const bool up = Chance(20);
    const std::string x = up ? "0X" : "0x";
    if (Chance(10)) {
      // Ends in a number but is no IPv4 address: a browser refuses it.
      return Pick(std::vector<std::string>{"foo.0x10", "1.2.3.4.0x5",
                                           "256.1.0x1", "gov.uz.0x1"});
    }
    switch (Int(0, 4)) {
      case 0:
        return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) +
               "." + std::to_string((a >> 8) & 255) + "." + x +
               Hex(a & 255, up);
      case 1:
        return x + Hex(a >> 24, up) + "." + x + Hex((a >> 16) & 255, up) + "." +
               std::to_string((a >> 8) & 255) + "." + x + Hex(a & 255, up);
      case 2:
        return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) +
               "." + x + Hex(a & 0xffff, up);
      case 3:
        return std::to_string(a >> 24) + "." + x + Hex(a & 0xffffff, up);
      default:
        return "0" + std::to_string((a >> 24) / 64) +
               std::to_string(((a >> 24) / 8) % 8) +
               std::to_string((a >> 24) % 8) + "." +
               std::to_string((a >> 16) & 255) + "." +
               std::to_string((a >> 8) & 255) + "." + x + Hex(a & 255, up);
    }
  }
  return Domain(false);
}

std::string Generator::UrlValue(std::string& family) {
  static const std::vector<std::string> kSchemes = {
      "http", "http", "https", "ftp", "ws", "tcp", "smb", "udp", "HTTP", "wss"};
  const std::string scheme = Pick(kSchemes) + "://";
  const std::string a = Host();
  const std::string b = Pick(kElsewhere);
  const std::string port =
      ":" + std::to_string(Chance(50) ? 80 : Int(1, 65535));
  static const std::vector<std::string> kTails = {
      "", "/", "/x/gov.uz", "/?a=b@gov.uz", "#f", "/%2e%2e/"};
  const std::string tail = Pick(kTails);
  std::vector<std::string> kinds = {"url"};
  for (const char* f : {"url-userinfo", "url-backslash", "url-encoded"}) {
    if (On(f)) kinds.push_back(f);
  }
  family = Pick(kinds);
  if (family == "url-userinfo") {
    switch (Int(0, 5)) {
      case 0:
        return scheme + b + "@" + a + tail;  // host is a
      case 1:
        return scheme + "user@" + a + "@" + b + tail;  // host is b
      case 2:
        return scheme + a + port + "@" + b + tail;  // host is b
      case 3:
        return scheme + b + "#@" + a;
      case 4:
        return scheme + b + "?@" + a;
      default:
        return scheme + "user:p@" + a + (Chance(40) ? port : "") + tail;
    }
  }
  if (family == "url-backslash") {
    switch (Int(0, 5)) {
      case 4: {
        // A browser host that cannot be read: a forbidden character, a bad
        // port, nothing at all.
        static const std::vector<std::string> kBad = {
            "x^y", "a|b", "gov.uz:8o", "", "a<b", "gov.uz:99999", "gov.uz;"};
        return scheme + Pick(kBad) + "\\@" + b + "/";
      }
      case 5:  // a browser reads host "u" and port "p"; RFC 3986 reads a
        return scheme + Pick(std::vector<std::string>{"u:p", "e.t:p", "u:"}) +
               "\\@" + a;
      case 0:
        return scheme + a + "\\@" + b + "/";  // WHATWG: a
      case 1:
        return scheme + a + port + "\\@" + b;  // WHATWG: a
      case 2:
        return scheme + "x\\y@" + a + tail;
      default:
        return scheme + b + "/x\\@" + a;
    }
  }
  if (family == "url-encoded") {
    switch (Int(0, 2)) {
      case 0:
        return scheme + a + "%2f@" + b + "/";
      case 1:
        return scheme + "%67ov.uz/";
      default:
        return scheme + "gov%2euz" + tail;
    }
  }
  return scheme + a + (Chance(30) ? port : "") + tail;
}

Case Generator::Indicator(int64_t now) {
  Case c;
  Record& r = c.record;
  std::vector<std::string> value_families;
  for (const auto& f : {"ip", "domain", "url", "email", "asn", "other"}) {
    if (On(f)) value_families.push_back(f);
  }
  for (int i = 0; i < 2; ++i) value_families.push_back("url");  // the rich one
  if (On("ip-embedded")) value_families.push_back("ip-embedded");
  c.family = Pick(value_families);
  if (c.family == "ip") {
    if (Chance(60)) {
      r.type = "ipv4";
      r.raw_value = V4Text(NearPoolV4());
    } else {
      Net n = Pick(kV6Pool);
      n.lo ^= static_cast<uint64_t>(Int(0, 0xffff));
      n.hi ^= static_cast<uint64_t>(Int(0, 0x1ffff));
      n.prefix = Chance(60) ? 128 : Int(0, 128);
      // A wide network covers an embedding block (2000::/3 holds 6to4,
      // 2001::/16 Teredo): that belongs to the ip-embedded family.
      if (IpReadings(Masked(n)).size() > 1) {
        if (On("ip-embedded")) {
          c.family = "ip-embedded";
        } else {
          n.prefix = 128;
        }
      }
      r.type = "ipv6";
      r.raw_value = V6Text(Masked(n));
    }
  } else if (c.family == "ip-embedded") {
    r.type = "ipv6";
    r.raw_value = EmbeddedV6(NearPoolV4());
  } else if (c.family == "domain" && On("numeric-host") && Chance(15)) {
    // A "domain" that a resolver takes for an IPv4 address.
    c.family = "numeric-host";
    r.type = Chance(70) ? "domain" : "email";
    std::string host = Host();
    while (host.find("0x") == std::string::npos &&
           host.find("0X") == std::string::npos) {
      host = Host();
    }
    r.raw_value = (r.type == "email" ? "a@" : "") + host;
  } else if (c.family == "domain") {
    r.type = "domain";
    const bool idn = On("domain-idn") && Chance(40);
    if (idn) c.family = "domain-idn";
    r.raw_value = Domain(idn);
  } else if (c.family == "url") {
    r.type = "url";
    r.raw_value = UrlValue(c.family);
    // Name the family after the host kind when that is the tricky part.
    if (c.family == "url" && r.raw_value.find("0x") != std::string::npos)
      c.family = "numeric-host";
    if (c.family == "url" && r.raw_value.find('[') != std::string::npos)
      c.family = "url-v6";
  } else if (c.family == "email") {
    r.type = "email";
    static const std::vector<std::string> kLocal = {"a", "gov.uz", "Minister",
                                                    "x.y"};
    if (Chance(10)) {
      Net n = NearPoolV4();
      n.prefix = 32;
      r.raw_value = "x@[" + Dotted(static_cast<uint32_t>(Masked(n).lo)) + "]";
    } else {
      r.raw_value = Pick(kLocal) + "@" + Domain(On("domain-idn"));
    }
  } else if (c.family == "asn") {
    r.type = "asn";
    const uint32_t a =
        Chance(70) ? Pick(kAsnPool) : static_cast<uint32_t>(Int(2, 99999));
    r.raw_value =
        Pick(std::vector<std::string>{"AS", "as", "AS"}) + std::to_string(a);
  } else {
    static const std::vector<std::pair<std::string, std::string>> kOther = {
        {"md5", std::string(32, 'a')},
        {"sha1", std::string(40, 'B')},
        {"sha256", std::string(64, 'c')},
        {"cve", "cve-2024-12345"}};
    const auto& [type, value] = Pick(kOther);
    r.type = type;
    r.raw_value = value;
  }

  if (Chance(15) && r.type != "asn") {
    c.detect = true;
    // "gov.uz:8080/x" is how MISP url attributes are often written.
    if (r.type == "url" && r.raw_value.rfind("http://", 0) == 0 && Chance(40)) {
      r.raw_value.erase(0, 7);
    }
  }
  if (Chance(50)) {
    r.created = now - Int(0, 3 * 86400) - (Chance(10) ? 40 * 86400 : 0);
  } else {
    static const std::vector<int64_t> kUnits = {60, 3600, 86400, 604800};
    r.created = now - Int(0, 30) * Pick(kUnits) + Int(-1, 1);
  }
  r.tlp = Int(0, 4);
  r.confidence = Int(0, 100);
  static const std::vector<std::string> kRecordTags = {
      "internal", "Internal", "ca-track", "VETTED",
      "vetted",   "phishing", "apt"};
  std::set<std::string> tags;
  for (int i = Int(0, 3); i > 0; --i) tags.insert(Pick(kRecordTags));
  r.tags = {tags.begin(), tags.end()};
  r.has_description = Chance(40);
  r.has_first_seen = Chance(30);
  r.has_last_seen = Chance(30);
  r.has_valid_until = Chance(20);
  r.reshare = Int(0, 2);
  r.revoked = Chance(8);
  r.revision = static_cast<uint32_t>(Int(1, 3));

  Situation& s = c.situation;
  s.country = Chance(92) ? Pick(kCountries) : "BR";
  s.now = now;
  s.sent_today = static_cast<uint64_t>(Int(0, 6));
  s.relay = Chance(30);
  if (Chance(25)) {
    s.held = static_cast<uint32_t>(Int(1, static_cast<int>(r.revision)));
    s.held_variant = static_cast<uint32_t>(Chance(70) ? 0 : Int(1, 3));
    // Only the origin withdraws: a relay never holds "our" withdrawal.
    s.held_withdrawn = !s.relay && Chance(25);
    s.held_same_content = Chance(50);
  }
  if (Chance(8))
    s.warninglist = Pick(std::vector<std::string>{"rfc1918", "alexa-top"});
  s.origin_departed = Chance(4);
  if (Chance(4)) s.compromised_since = r.created + Int(-2, 2);
  return c;
}

}  // namespace caravan::policy::model
