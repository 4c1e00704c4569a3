#include "tests/unit/policy/model/value_model.h"

#include <algorithm>
#include <array>
#include <sstream>

#include "tests/unit/policy/model/punycode_model.h"

namespace caravan::policy::model {
namespace {

__extension__ typedef unsigned __int128 U128;

U128 Bits(const Net& n) { return (static_cast<U128>(n.hi) << 64) | n.lo; }

Net FromBits(bool v6, U128 bits, int prefix) {
  return Net{v6, static_cast<uint64_t>(bits >> 64), static_cast<uint64_t>(bits),
             prefix};
}

int Width(const Net& n) { return n.v6 ? 128 : 32; }

// Host bits of `n` set.
U128 HostMask(const Net& n) {
  const int host = Width(n) - n.prefix;
  return host >= 128 ? ~static_cast<U128>(0)
                     : (static_cast<U128>(1) << host) - 1;
}

// Bit `i` of a 128-bit address, counting from the most significant (0).
int BitAt(U128 a, int i) { return static_cast<int>((a >> (127 - i)) & 1); }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
int HexValue(char c) {
  if (IsDigit(c)) return c - '0';
  return (c | 0x20) - 'a' + 10;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t at = s.find(sep, start);
    if (at == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, at - start));
    start = at + 1;
  }
}

// Strict dotted decimal: four octets 0..255 without leading zeros.
std::optional<uint32_t> ReadDottedQuad(std::string_view s) {
  auto parts = Split(s, '.');
  if (parts.size() != 4) return std::nullopt;
  uint32_t v = 0;
  for (auto p : parts) {
    if (p.empty() || p.size() > 3 || (p.size() > 1 && p[0] == '0'))
      return std::nullopt;
    int octet = 0;
    for (char c : p) {
      if (!IsDigit(c)) return std::nullopt;
      octet = octet * 10 + (c - '0');
    }
    if (octet > 255) return std::nullopt;
    v = (v << 8) | static_cast<uint32_t>(octet);
  }
  return v;
}

// RFC 4291 section 2.2 text forms.
std::optional<U128> ReadV6Address(std::string_view s) {
  std::vector<uint16_t> head, tail;
  bool compressed = false;
  const size_t dc = s.find("::");
  std::string_view left = s, right;
  if (dc != std::string_view::npos) {
    compressed = true;
    left = s.substr(0, dc);
    right = s.substr(dc + 2);
    if (right.find("::") != std::string_view::npos) return std::nullopt;
  }
  // Reads groups of one side; a dotted IPv4 may end the address.
  auto groups = [](std::string_view side, std::vector<uint16_t>& out,
                   bool may_end_in_v4) -> bool {
    if (side.empty()) return true;
    auto parts = Split(side, ':');
    for (size_t i = 0; i < parts.size(); ++i) {
      auto p = parts[i];
      if (i + 1 == parts.size() && may_end_in_v4 &&
          p.find('.') != std::string_view::npos) {
        auto v4 = ReadDottedQuad(p);
        if (!v4) return false;
        out.push_back(static_cast<uint16_t>(*v4 >> 16));
        out.push_back(static_cast<uint16_t>(*v4 & 0xffff));
        return true;
      }
      if (p.empty() || p.size() > 4) return false;
      uint16_t g = 0;
      for (char c : p) {
        if (!IsHex(c)) return false;
        g = static_cast<uint16_t>(g * 16 + HexValue(c));
      }
      out.push_back(g);
    }
    return true;
  };
  if (!groups(left, head, !compressed)) return std::nullopt;
  if (!groups(right, tail, true)) return std::nullopt;
  const size_t n = head.size() + tail.size();
  if (compressed ? n > 7 : n != 8) return std::nullopt;
  std::vector<uint16_t> all = head;
  all.resize(8 - tail.size(), 0);
  all.insert(all.end(), tail.begin(), tail.end());
  U128 v = 0;
  for (uint16_t g : all) v = (v << 16) | g;
  return v;
}

// One way IPv6 carries an IPv4 address: the block and where the 32 bits
// of the IPv4 address sit in it (bit positions from the top).
struct Embedding {
  U128 block;
  int block_len;
  std::array<int, 32> v4_bits;
  bool complemented = false;  // Teredo writes the client address inverted
};

U128 V6(uint64_t hi, uint64_t lo) { return (static_cast<U128>(hi) << 64) | lo; }

// The IPv4 bits from `first` on, skipping bits 64..71 (the octet "u" of
// RFC 6052 section 2.2, which the NAT64 layouts never use).
std::array<int, 32> From(int first, bool skip_u = false) {
  std::array<int, 32> a{};
  int pos = first;
  for (int i = 0; i < 32; ++i, ++pos) {
    if (skip_u && pos == 64) pos = 72;
    a[static_cast<size_t>(i)] = pos;
  }
  return a;
}

const std::vector<Embedding>& Embeddings() {
  const U128 local_use = V6(0x0064ff9b00010000ULL, 0);
  static const std::vector<Embedding> kAll = {
      {V6(0, 0x0000ffff00000000ULL), 96, From(96)},  // mapped, RFC 4291
      {V6(0, 0), 96, From(96)},                      // compatible
      {V6(0, 0xffff000000000000ULL), 96, From(96)},  // SIIT, RFC 2765
      {V6(0x0064ff9b00000000ULL, 0), 96, From(96)},  // NAT64, RFC 6052
      // RFC 8215 local-use NAT64: every RFC 6052 layout that fits in it.
      {local_use, 48, From(48, true)},
      {local_use, 48, From(56, true)},
      {local_use, 48, From(72)},
      {local_use, 48, From(96)},
      {V6(0x2002000000000000ULL, 0), 16, From(16)},        // 6to4, RFC 3056
      {V6(0x2001000000000000ULL, 0), 32, From(32)},        // Teredo server
      {V6(0x2001000000000000ULL, 0), 32, From(96), true},  // Teredo client
  };
  return kAll;
}

bool IsAsciiAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// %XX decoding, as both URL readings apply to a host before reading it.
std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && IsHex(s[i + 1]) && IsHex(s[i + 2])) {
      out.push_back(
          static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// WHATWG "ends in a number": the last label is all digits, or 0x and hex.
bool EndsInNumber(std::string_view last) {
  if (!last.empty() && std::all_of(last.begin(), last.end(), IsDigit))
    return true;
  return last.size() >= 2 && last[0] == '0' && (last[1] | 0x20) == 'x' &&
         std::all_of(last.begin() + 2, last.end(), IsHex);
}

void AddIp(Readings& r, const Net& n) {
  for (const Net& x : IpReadings(n)) r.nets.push_back(x);
}

// WHATWG "forbidden domain code points" (forbidden host code points plus
// C0 controls, '%' and DEL): a browser refuses a host that holds one after
// percent-decoding.
bool ForbiddenInHost(const std::string& host) {
  for (char ch : host) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f) return true;
    if (std::string_view("#/:<>?@[\\]^|%").find(static_cast<char>(c)) !=
        std::string_view::npos) {
      return true;
    }
  }
  return false;
}

// A URL host (or an e-mail domain), the same way for both URL readings:
// `[...]` is an IPv6 address; otherwise percent-decoded, lower case,
// A-labels, trailing dots dropped, and a name whose last label is a number
// is IPv4 in the forms browsers and inet_aton accept. A host that cannot
// be read leaves `r.unreadable` saying why. A name that ends in a number
// but is no IPv4 address is refused by a browser (`browser`: the WHATWG
// reading of a special scheme); anyone else resolves it as a name.
void AddHost(Readings& r, std::string_view host, const char* reading,
             bool browser) {
  auto fail = [&](const std::string& why) {
    if (r.unreadable.empty()) r.unreadable = std::string(reading) + ": " + why;
  };
  if (host.empty()) return fail("no host");
  if (host.front() == '[') {
    auto n = host.back() == ']' ? ReadIp(host.substr(1, host.size() - 2))
                                : std::nullopt;
    if (!n || !n->v6 || n->prefix != 128) return fail("bad IPv6 literal");
    return AddIp(r, *n);
  }
  const std::string decoded = PercentDecode(host);
  if (ForbiddenInHost(decoded)) return fail("forbidden character");
  auto labels = DomainLabels(decoded);
  if (!labels) return fail("not a name");
  if (EndsInNumber(labels->back())) {
    std::string ascii;
    for (const auto& l : *labels) ascii += (ascii.empty() ? "" : ".") + l;
    if (auto v4 = WhatwgIpv4(ascii)) return AddIp(r, *v4);
    if (browser) return fail("ends in a number but is no IPv4 address");
  }
  r.domains.push_back(*labels);
}

// Splits "host[:port]" (brackets kept around an IPv6 literal).
std::string_view HostOf(std::string_view hostport) {
  if (!hostport.empty() && hostport.front() == '[') {
    const size_t close = hostport.find(']');
    return close == std::string_view::npos ? hostport
                                           : hostport.substr(0, close + 1);
  }
  return hostport.substr(0, hostport.find(':'));
}

bool IsSpecialScheme(std::string_view scheme) {
  for (std::string_view s : {"http", "https", "ftp", "ws", "wss"}) {
    if (scheme == s) return true;
  }
  return false;
}

struct UrlParts {
  std::string scheme;
  std::string_view rest;  // after "://"
};

std::optional<UrlParts> SplitScheme(std::string_view url) {
  const size_t at = url.find("://");
  if (at == std::string_view::npos || at == 0) return std::nullopt;
  for (char c : url.substr(0, at)) {
    if (!IsAsciiAlpha(c) && !IsDigit(c) && c != '+' && c != '-' && c != '.') {
      return std::nullopt;
    }
  }
  return UrlParts{LowerAscii(url.substr(0, at)), url.substr(at + 3)};
}

// The authority ends at the first of `ends`; the userinfo at its last '@'.
std::string_view HostPort(std::string_view rest, std::string_view ends,
                          bool* userinfo) {
  const std::string_view authority = rest.substr(0, rest.find_first_of(ends));
  const size_t at = authority.rfind('@');
  if (userinfo) *userinfo = at != std::string_view::npos;
  return at == std::string_view::npos ? authority : authority.substr(at + 1);
}

}  // namespace

std::string NetText(const Net& n) {
  std::ostringstream s;
  const U128 a = Bits(n);
  if (!n.v6) {
    s << ((n.lo >> 24) & 255) << '.' << ((n.lo >> 16) & 255) << '.'
      << ((n.lo >> 8) & 255) << '.' << (n.lo & 255);
  } else {
    s << std::hex;
    for (int i = 0; i < 8; ++i) {
      s << (i ? ":" : "")
        << static_cast<unsigned>((a >> (112 - 16 * i)) & 0xffff);
    }
    s << std::dec;
  }
  if (n.prefix != Width(n)) s << '/' << n.prefix;
  return s.str();
}

Net Masked(Net n) { return FromBits(n.v6, Bits(n) & ~HostMask(n), n.prefix); }

bool Overlaps(const Net& a, const Net& b) {
  if (a.v6 != b.v6) return false;
  // Two prefixes overlap exactly when the shorter one contains the other.
  const Net& wide = a.prefix <= b.prefix ? a : b;
  const Net& narrow = a.prefix <= b.prefix ? b : a;
  return (Bits(wide) & ~HostMask(wide)) == (Bits(narrow) & ~HostMask(wide));
}

std::optional<Net> ReadIp(std::string_view text) {
  std::string_view addr = text;
  std::optional<int> prefix;
  if (const size_t slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    const std::string_view p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3 ||
        !std::all_of(p.begin(), p.end(), IsDigit)) {
      return std::nullopt;
    }
    prefix = std::stoi(std::string(p));
  }
  if (auto v4 = ReadDottedQuad(addr)) {
    if (prefix && *prefix > 32) return std::nullopt;
    return Net{false, 0, *v4, prefix.value_or(32)};
  }
  if (auto v6 = ReadV6Address(addr)) {
    if (prefix && *prefix > 128) return std::nullopt;
    return FromBits(true, *v6, prefix.value_or(128));
  }
  return std::nullopt;
}

std::vector<Net> IpReadings(const Net& n) {
  std::vector<Net> out = {n};
  if (!n.v6) return out;
  const U128 a = Bits(n);
  for (const Embedding& e : Embeddings()) {
    // The network and the block overlap when they agree on the bits both
    // fix.
    const int fixed = std::min(n.prefix, e.block_len);
    bool same = true;
    for (int i = 0; i < fixed && same; ++i)
      same = BitAt(a, i) == BitAt(e.block, i);
    if (!same) continue;
    // "::" and "::1" are the unspecified and loopback addresses, not
    // IPv4-compatible ones.
    if (e.block == 0 && e.block_len == 96 && n.prefix == 128 && a < 2) continue;
    // The IPv4 bits the network fixes: those above its prefix length.
    uint32_t v4 = 0;
    int v4_prefix = 0;
    for (int pos : e.v4_bits) {
      if (pos >= n.prefix) break;
      const int bit = BitAt(a, pos) ^ (e.complemented ? 1 : 0);
      v4 |= static_cast<uint32_t>(bit) << (31 - v4_prefix);
      ++v4_prefix;
    }
    out.push_back(Net{false, 0, v4, v4_prefix});
  }
  return out;
}

std::optional<Net> WhatwgIpv4(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  auto parts = Split(host, '.');
  if (parts.size() > 4) return std::nullopt;
  std::vector<uint64_t> numbers;
  for (auto p : parts) {
    if (p.empty()) return std::nullopt;
    int base = 10;
    if (p.size() >= 2 && p[0] == '0' && (p[1] | 0x20) == 'x') {
      base = 16;
      p.remove_prefix(2);
    } else if (p.size() >= 2 && p[0] == '0') {
      base = 8;
      p.remove_prefix(1);
    }
    uint64_t v = 0;
    for (char c : p) {
      const bool ok = base == 16 ? IsHex(c) : (IsDigit(c) && c - '0' < base);
      if (!ok) return std::nullopt;
      v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(HexValue(c));
      if (v > 0xffffffffULL) return std::nullopt;
    }
    numbers.push_back(v);
  }
  const size_t n = numbers.size();
  for (size_t i = 0; i + 1 < n; ++i) {
    if (numbers[i] > 255) return std::nullopt;
  }
  const int last_bytes = static_cast<int>(5 - n);
  if (last_bytes < 4 && numbers.back() >= (1ULL << (8 * last_bytes)))
    return std::nullopt;
  uint64_t v = numbers.back();
  for (size_t i = 0; i + 1 < n; ++i) v += numbers[i] << (8 * (3 - i));
  return Net{false, 0, v, 32};
}

std::optional<std::vector<std::string>> DomainLabels(std::string_view input) {
  // UTS #46 maps the ideographic and full-width full stops to '.'.
  std::string dotted(input);
  for (const std::string_view stop : {"\u3002", "\uFF0E", "\uFF61"}) {
    for (size_t at; (at = dotted.find(stop)) != std::string::npos;)
      dotted.replace(at, stop.size(), ".");
  }
  std::string_view text = dotted;
  while (!text.empty() && text.back() == '.') text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  std::vector<std::string> out;
  for (auto label : Split(text, '.')) {
    if (label.empty()) return std::nullopt;
    auto ascii = ToALabel(label);
    if (!ascii) return std::nullopt;
    out.push_back(*ascii);
  }
  return out;
}

UrlHosts ReadUrlHosts(std::string_view url) {
  UrlHosts h;
  auto parts = SplitScheme(url);
  if (!parts) return h;
  const bool special = IsSpecialScheme(parts->scheme);
  h.special = special;
  // A browser skips any run of '/' and '\\' after "scheme:" of a special
  // scheme ("http://\\@e.t" has the host e.t).
  std::string_view after = parts->rest;
  while (special && !after.empty() &&
         (after.front() == '/' || after.front() == '\\')) {
    after.remove_prefix(1);
  }
  bool userinfo = false;
  const std::string_view whatwg =
      HostPort(after, special ? "/?#\\" : "/?#", &userinfo);
  const std::string_view rfc = HostPort(parts->rest, "/?#", nullptr);
  h.whatwg = std::string(HostOf(whatwg));
  h.whatwg_port =
      std::string(whatwg.substr(std::min(whatwg.size(), h.whatwg->size() + 1)));
  h.has_userinfo = userinfo;
  h.rfc3986 = std::string(HostOf(rfc));
  h.rfc3986_port =
      std::string(rfc.substr(std::min(rfc.size(), h.rfc3986->size() + 1)));
  return h;
}

namespace {

// A port is digits, at most 65535; empty means the default.
bool GoodPort(std::string_view port) {
  if (port.size() > 5 || !std::all_of(port.begin(), port.end(), IsDigit))
    return false;
  return port.empty() || std::stoul(std::string(port)) <= 65535;
}

}  // namespace

Readings ReadValue(std::string_view type, std::string_view raw) {
  Readings r;
  if (type == "ipv4" || type == "ipv6") {
    // "[2001:db8::1]" is how URLs write an IPv6 address; the same address.
    if (raw.size() > 2 && raw.front() == '[' && raw.back() == ']') {
      raw = raw.substr(1, raw.size() - 2);
    }
    if (auto n = ReadIp(raw)) AddIp(r, Masked(*n));
  } else if (type == "domain") {
    auto labels = DomainLabels(raw);
    if (!labels) return r;
    r.domains.push_back(*labels);
    // A name that ends in a number also reaches that IPv4 address.
    if (EndsInNumber(labels->back())) {
      std::string ascii;
      for (const auto& l : *labels) ascii += (ascii.empty() ? "" : ".") + l;
      if (auto v4 = WhatwgIpv4(ascii)) AddIp(r, *v4);
    }
  } else if (type == "url") {
    const UrlHosts h = ReadUrlHosts(raw);
    if (!h.whatwg || !h.rfc3986) return r;
    AddHost(r, *h.whatwg, "browser (WHATWG) reading", h.special);
    if (!GoodPort(h.whatwg_port) && r.unreadable.empty()) {
      r.unreadable = "browser (WHATWG) reading: bad port";
    }
    AddHost(r, *h.rfc3986, "RFC 3986 reading", false);
  } else if (type == "email") {
    const size_t at = raw.rfind('@');
    if (at == std::string_view::npos) return r;
    std::string_view domain = raw.substr(at + 1);
    if (!domain.empty() && domain.front() == '[' && domain.back() == ']') {
      domain = domain.substr(1, domain.size() - 2);
      if (domain.size() > 5 && LowerAscii(domain.substr(0, 5)) == "ipv6:") {
        domain.remove_prefix(5);
      }
      if (auto n = ReadIp(domain)) {
        AddIp(r, *n);
      } else {
        r.unreadable = "bad address literal";
      }
    } else {
      AddHost(r, domain, "e-mail domain", false);
    }
  } else if (type == "asn") {
    if (raw.size() > 2 && LowerAscii(raw.substr(0, 2)) == "as") {
      std::string_view digits = raw.substr(2);
      if (!digits.empty() && digits.size() <= 10 &&
          std::all_of(digits.begin(), digits.end(), IsDigit)) {
        const uint64_t v = std::stoull(std::string(digits));
        if (v <= 0xffffffffULL) r.asn = static_cast<uint32_t>(v);
      }
    }
  }
  return r;
}

}  // namespace caravan::policy::model
