#include "protocol/indicator_parse.h"

#include <idn2.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdlib>
#include <optional>

#include "protocol/ip_network.h"

namespace caravan::protocol {
namespace {

constexpr size_t kMaxDomainBytes = 253;
constexpr size_t kMaxLabelBytes = 63;
constexpr size_t kMaxEmailLocalBytes = 64;
constexpr size_t kMaxEmailBytes = 254;
// Raw input may carry wrapping and defang tokens; anything much longer than
// the longest possible value is refused before any work is done on it.
constexpr size_t kMaxRawBytes = 2 * kMaxValueBytes;

constexpr std::array<std::string_view, 10> kUrlSchemes = {
    "http", "https", "ftp", "ftps", "sftp", "smb", "tcp", "udp", "ws", "wss"};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
         c == '\f';
}
bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ToLower(c);
  return out;
}

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (ToLower(s[i]) != ToLower(prefix[i])) return false;
  }
  return true;
}

bool AllOf(std::string_view s, bool (*pred)(char)) {
  return std::all_of(s.begin(), s.end(), pred);
}

// A short printable rendering of untrusted text for error messages: at most
// 64 bytes, non-printable bytes escaped, so a hostile value cannot flood or
// corrupt a log line.
std::string Quote(std::string_view v) {
  constexpr size_t kMax = 64;
  std::string out = "'";
  for (size_t i = 0; i < v.size() && i < kMax; ++i) {
    const unsigned char c = static_cast<unsigned char>(v[i]);
    if (IsControl(c) || c == '\\' || c == '\'') {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (v.size() > kMax) out += "...";
  out += "'";
  return out;
}

Status Bad(IndicatorType type, std::string_view value, std::string_view what) {
  std::string m(TypeName(type));
  m += ": ";
  m += Quote(value);
  m += " ";
  m += what;
  return InvalidInput(std::move(m));
}

std::string_view TrimSpace(std::string_view v) {
  while (!v.empty() && IsSpace(v.front())) v.remove_prefix(1);
  while (!v.empty() && IsSpace(v.back())) v.remove_suffix(1);
  return v;
}

bool IsWrapChar(char c) { return c == '"' || c == '\'' || c == '`'; }

// Strips whitespace, quotes/backticks, <...> and trailing punctuation that
// prose adds after a value, until nothing changes.
std::string_view StripWrapping(std::string_view v) {
  for (;;) {
    const size_t before = v.size();
    v = TrimSpace(v);
    while (!v.empty() && IsWrapChar(v.front())) v.remove_prefix(1);
    while (!v.empty() && IsWrapChar(v.back())) v.remove_suffix(1);
    if (v.size() >= 2 && ((v.front() == '<' && v.back() == '>') ||
                          (v.front() == '(' && v.back() == ')'))) {
      v = v.substr(1, v.size() - 2);
    }
    while (!v.empty()) {
      const char c = v.back();
      if (c == '.' || c == ',' || c == ';') {
        v.remove_suffix(1);
      } else if (c == ':' && (v.size() < 2 || v[v.size() - 2] != ':')) {
        // "::" ends IPv6 addresses ("2001:db8::"), so only a lone ':' goes.
        v.remove_suffix(1);
      } else if ((c == ')' || c == ']') &&
                 std::count(v.begin(), v.end(), c == ')' ? '(' : '[') <
                     std::count(v.begin(), v.end(), c)) {
        v.remove_suffix(1);  // "(see 1.2.3.4)" leaves an unbalanced ')'
      } else {
        break;
      }
    }
    if (v.size() == before) return v;
  }
}

struct DefangToken {
  std::string_view token;        // matched case-insensitively
  std::string_view replacement;
};

constexpr std::array<DefangToken, 17> kDefangTokens = {{
    {"[://]", "://"}, {"[.]", "."},  {"(.)", "."},   {"{.}", "."},
    {"[dot]", "."},   {"(dot)", "."}, {"{dot}", "."}, {"[:]", ":"},
    {"[/]", "/"},     {"[at]", "@"},  {"(at)", "@"},  {"{at}", "@"},
    {"[@]", "@"},     {"(@)", "@"},   {"[,]", "."},   {"[d0t]", "."},
    {"(:)", ":"},
}};

// Scheme spellings used to defang URLs, mapped to the real scheme.
struct SchemeFix {
  std::string_view defanged;
  std::string_view real;
};
constexpr std::array<SchemeFix, 8> kSchemeFixes = {{
    {"hxxp", "http"},
    {"hxxps", "https"},
    {"hxtp", "http"},
    {"hxtps", "https"},
    {"hxxxp", "http"},
    {"hxxxps", "https"},
    {"fxp", "ftp"},
    {"fxps", "ftps"},
}};

bool HasNul(std::string_view v) { return v.find('\0') != std::string_view::npos; }

// Checks shared by every type on the raw input and on the refanged text.
Status CheckRawText(IndicatorType type, std::string_view raw) {
  if (raw.size() > kMaxRawBytes) {
    return Bad(type, raw, "is too long (" + std::to_string(raw.size()) +
                              " bytes, limit " +
                              std::to_string(kMaxValueBytes) + ")");
  }
  if (HasNul(raw)) return Bad(type, raw, "contains a NUL byte");
  if (!IsValidUtf8(raw)) return Bad(type, raw, "is not valid UTF-8");
  return Status::Ok();
}

Status CheckRefanged(IndicatorType type, std::string_view v) {
  if (v.empty()) return Bad(type, v, "is empty");
  if (v.size() > kMaxValueBytes) {
    return Bad(type, v, "is too long (" + std::to_string(v.size()) +
                            " bytes, limit " + std::to_string(kMaxValueBytes) +
                            ")");
  }
  for (size_t i = 0; i < v.size(); ++i) {
    if (IsControl(static_cast<unsigned char>(v[i]))) {
      return Bad(type, v, "contains a control character at offset " +
                              std::to_string(i));
    }
  }
  return Status::Ok();
}

// ---- IP addresses ----------------------------------------------------------

// Empty on success, else why `addr` (no prefix) is not dotted-quad IPv4.
std::string Ipv4Problem(std::string_view addr) {
  int parts = 0;
  size_t start = 0;
  for (;;) {
    size_t end = addr.find('.', start);
    if (end == std::string_view::npos) end = addr.size();
    std::string_view octet = addr.substr(start, end - start);
    ++parts;
    if (parts > 4) break;
    if (octet.empty()) return "empty octet";
    for (char c : octet) {
      if (!IsDigit(c)) return std::string("'") + c + "' is not a digit";
    }
    if (octet.size() > 3) return "octet " + std::string(octet) + " > 255";
    if (octet.size() > 1 && octet[0] == '0') {
      return "octet '" + std::string(octet) +
             "' has a leading zero (ambiguous: octal or decimal)";
    }
    int value = 0;
    for (char c : octet) value = value * 10 + (c - '0');
    if (value > 255) return "octet " + std::to_string(value) + " > 255";
    if (end == addr.size()) break;
    start = end + 1;
  }
  if (parts != 4) {
    return "has " + std::to_string(parts) + " octets, expected 4";
  }
  return {};
}

Result<std::string> NormalizeIpv4(std::string_view v) {
  constexpr IndicatorType t = IndicatorType::kIpv4;
  std::string_view addr = v;
  std::string_view prefix;
  const size_t slash = v.find('/');
  if (slash != std::string_view::npos) {
    addr = v.substr(0, slash);
    prefix = v.substr(slash + 1);
  }
  if (std::string why = Ipv4Problem(addr); !why.empty()) {
    const size_t colon = addr.find(':');
    if (colon != std::string_view::npos) {
      // "1.2.3.4:443" is an address and a port, not IPv6 (issue 15).
      if (addr.find(':', colon + 1) == std::string_view::npos &&
          Ipv4Problem(addr.substr(0, colon)).empty()) {
        return Bad(t, v, "has a port (" + std::string(addr.substr(colon)) +
                             "): give the address alone");
      }
      return Bad(t, v, "is an IPv6 address");
    }
    return Bad(t, v, "is not an IPv4 address (" + why + ")");
  }
  if (slash == std::string_view::npos) return std::string(v);  // canonical
  int p = -1;
  if (!prefix.empty() && prefix.size() <= 2 && AllOf(prefix, IsDigit) &&
      !(prefix.size() > 1 && prefix[0] == '0')) {
    p = std::atoi(std::string(prefix).c_str());
  }
  if (p < 0 || p > 32) {
    return Bad(t, v, "has an invalid prefix length '" + std::string(prefix) +
                         "' (expected 0..32)");
  }
  auto net = ParseIpNetwork(v);
  if (!net || net->is_v6) return Bad(t, v, "is not an IPv4 network");
  return net->ToString();
}

std::string Ipv6Problem(std::string_view addr) {
  if (addr.find('%') != std::string_view::npos) {
    return "has a zone id ('%...'), which is only meaningful on one host";
  }
  size_t dc = addr.find("::");
  if (dc != std::string_view::npos &&
      addr.find("::", dc + 1) != std::string_view::npos) {
    return "has more than one '::'";
  }
  int groups = 0;  // non-empty groups; an embedded IPv4 tail counts as two
  size_t run = 0;
  bool has_v4_tail = false;
  for (size_t i = 0; i <= addr.size(); ++i) {
    const char c = i < addr.size() ? addr[i] : ':';
    if (c == ':') {
      if (run > 0) ++groups;
      run = 0;
    } else if (c == '.') {
      has_v4_tail = true;
    } else if (!IsHex(c)) {
      return std::string("has an invalid character '") + c + "'";
    } else if (++run > 4 && !has_v4_tail) {
      return "has a group longer than 4 hex digits";
    }
  }
  if (has_v4_tail) ++groups;
  const int max_groups = dc == std::string_view::npos ? 8 : 7;
  if (groups > max_groups) return "has too many groups";
  if (dc == std::string_view::npos && groups < 8) return "has too few groups";
  return "is malformed";
}

Result<std::string> NormalizeIpv6(std::string_view v) {
  constexpr IndicatorType t = IndicatorType::kIpv6;
  std::string_view text = v;
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);  // URL-style "[::1]"
  }
  std::string_view addr = text.substr(0, text.find('/'));
  if (addr.find(':') == std::string_view::npos) {
    if (Ipv4Problem(addr).empty()) return Bad(t, v, "is an IPv4 address");
    return Bad(t, v, "is not an IPv6 address (no ':')");
  }
  if (addr.find('%') != std::string_view::npos) {
    return Bad(t, v, "is not an IPv6 address (" + Ipv6Problem(addr) + ")");
  }
  auto net = ParseIpNetwork(text);
  if (!net) {
    const size_t slash = text.find('/');
    if (slash != std::string_view::npos &&
        ParseIpNetwork(text.substr(0, slash))) {
      return Bad(t, v, "has an invalid prefix length '" +
                           std::string(text.substr(slash + 1)) +
                           "' (expected 0..128)");
    }
    return Bad(t, v, "is not an IPv6 address (" + Ipv6Problem(addr) + ")");
  }
  if (!net->is_v6) return Bad(t, v, "is an IPv4 address");
  return net->ToString();
}

// ---- domains ---------------------------------------------------------------

bool IsLdhOrUnderscore(char c) {
  return (c >= 'a' && c <= 'z') || IsDigit(c) || c == '-' || c == '_';
}

// Normalizes a host name; errors are reported against `type` (a domain
// inside a URL or an e-mail is reported as that type).
Result<std::string> NormalizeDomain(IndicatorType type, std::string_view whole,
                                    std::string_view host) {
  if (host.empty()) return Bad(type, whole, "has an empty host name");
  if (host.back() == '.') host.remove_suffix(1);  // absolute form "a.example."
  if (host.size() > 4 * kMaxDomainBytes) {
    return Bad(type, whole, "has a host name longer than 253 bytes");
  }
  std::string name;
  const bool ascii = std::all_of(host.begin(), host.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x80;
  });
  if (ascii) {
    name = Lower(host);
  } else {
    // UTS #46 nontransitional with NFC: what browsers resolve today, so
    // "faß.example" is not silently folded to "fass.example".
    std::string z(host);
    uint8_t* out = nullptr;
    const int rc = idn2_lookup_u8(reinterpret_cast<const uint8_t*>(z.c_str()),
                                  &out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    if (rc != IDN2_OK) {
      return Bad(type, whole,
                 std::string("has an invalid internationalized host name (") +
                     idn2_strerror(rc) + ")");
    }
    name = reinterpret_cast<const char*>(out);
    idn2_free(out);
    name = Lower(name);
    if (!name.empty() && name.back() == '.') name.pop_back();
  }
  if (name.size() > kMaxDomainBytes) {
    return Bad(type, whole, "has a host name longer than 253 bytes (" +
                                std::to_string(name.size()) + ")");
  }
  size_t start = 0;
  int labels = 0;
  std::string_view last;
  for (;;) {
    size_t end = name.find('.', start);
    if (end == std::string::npos) end = name.size();
    std::string_view label(name.data() + start, end - start);
    ++labels;
    if (label.empty()) return Bad(type, whole, "has an empty label");
    if (label.size() > kMaxLabelBytes) {
      return Bad(type, whole, "has a label longer than 63 bytes");
    }
    for (char c : label) {
      if (!IsLdhOrUnderscore(c)) {
        return Bad(type, whole,
                   std::string("has an invalid character '") + c +
                       "' in a host name");
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return Bad(type, whole, "has a label starting or ending with '-'");
    }
    last = label;
    if (end == name.size()) break;
    start = end + 1;
  }
  if (labels < 2) {
    return Bad(type, whole, "is not a domain (needs at least two labels)");
  }
  if (AllOf(last, IsDigit)) {
    return Bad(type, whole,
               "has an all-numeric top-level label '" + std::string(last) +
                   "' (not a domain; an IP address?)");
  }
  return name;
}

// ---- URL -------------------------------------------------------------------

bool IsDigitsOrDots(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return IsDigit(c) || c == '.';
         });
}

Result<std::string> NormalizeUrl(std::string_view v) {
  constexpr IndicatorType t = IndicatorType::kUrl;
  const size_t sep = v.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    return Bad(t, v, "has no scheme (expected e.g. 'http://')");
  }
  std::string scheme = Lower(v.substr(0, sep));
  if (!IsAlpha(scheme[0]) ||
      !std::all_of(scheme.begin(), scheme.end(), [](char c) {
        return IsAlpha(c) || IsDigit(c) || c == '+' || c == '-' || c == '.';
      })) {
    return Bad(t, v, "has an invalid scheme");
  }
  if (std::find(kUrlSchemes.begin(), kUrlSchemes.end(), scheme) ==
      kUrlSchemes.end()) {
    return Bad(t, v, "has an unsupported scheme '" + scheme +
                         "' (allowed: http https ftp ftps sftp smb tcp udp "
                         "ws wss)");
  }
  std::string_view rest = v.substr(sep + 3);
  const size_t auth_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, auth_end);
  std::string_view tail =
      auth_end == std::string_view::npos ? std::string_view() : rest.substr(auth_end);

  std::string out = scheme + "://";
  std::string_view hostport = authority;
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    for (char c : userinfo) {
      if (c == ' ' || c == '[' || c == ']') {
        return Bad(t, v, "has an invalid character in its user info");
      }
    }
    out += userinfo;
    out += '@';
    hostport = authority.substr(at + 1);
  }
  std::string_view host = hostport;
  std::string_view port;
  bool has_port = false;
  if (!hostport.empty() && hostport.front() == '[') {
    const size_t close = hostport.find(']');
    if (close == std::string_view::npos) {
      return Bad(t, v, "has an unterminated '[' in its host");
    }
    host = hostport.substr(0, close + 1);
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Bad(t, v, "has junk after ']'");
      port = after.substr(1);
      has_port = true;
    }
    std::string_view inner = host.substr(1, host.size() - 2);
    if (inner.find('/') != std::string_view::npos) {
      return Bad(t, v, "has a network, not an address, as host");
    }
    auto ip = NormalizeIpv6(inner);
    if (!ip.ok()) {
      return Bad(t, v, "has an invalid IPv6 host (" + ip.status().message() + ")");
    }
    out += "[" + *ip + "]";
  } else {
    if (const size_t colon = hostport.rfind(':');
        colon != std::string_view::npos) {
      host = hostport.substr(0, colon);
      port = hostport.substr(colon + 1);
      has_port = true;
    }
    if (host.empty()) return Bad(t, v, "has no host");
    if (IsDigitsOrDots(host)) {
      if (std::string why = Ipv4Problem(host); !why.empty()) {
        return Bad(t, v, "has an invalid IPv4 host (" + why + ")");
      }
      out += host;
    } else {
      auto name = NormalizeDomain(t, v, host);
      if (!name.ok()) return name.status();
      out += *name;
    }
  }
  if (has_port && !port.empty()) {
    if (port.size() > 5 || !AllOf(port, IsDigit)) {
      return Bad(t, v, "has an invalid port '" + std::string(port) + "'");
    }
    const int n = std::atoi(std::string(port).c_str());
    if (n < 1 || n > 65535) {
      return Bad(t, v, "has a port out of range (" + std::to_string(n) + ")");
    }
    out += ':';
    out += std::to_string(n);
  }
  for (char c : tail) {
    if (c == ' ') {
      out += "%20";
    } else {
      out += c;
    }
  }
  if (out.size() > kMaxValueBytes) {
    return Bad(t, v, "is too long after normalization");
  }
  return out;
}

// ---- e-mail ----------------------------------------------------------------

bool IsAtext(char c) {
  if (static_cast<unsigned char>(c) >= 0x80) return true;  // SMTPUTF8
  if (IsAlpha(c) || IsDigit(c)) return true;
  static constexpr std::string_view kSpecials = "!#$%&'*+-/=?^_`{|}~";
  return kSpecials.find(c) != std::string_view::npos;
}

Result<std::string> NormalizeEmail(std::string_view v) {
  constexpr IndicatorType t = IndicatorType::kEmail;
  const size_t at = v.rfind('@');
  if (at == std::string_view::npos) return Bad(t, v, "has no '@'");
  std::string_view local = v.substr(0, at);
  std::string_view domain = v.substr(at + 1);
  if (local.empty()) return Bad(t, v, "has an empty local part");
  if (local.size() > kMaxEmailLocalBytes) {
    return Bad(t, v, "has a local part longer than 64 bytes");
  }
  if (local.front() == '.' || local.back() == '.' ||
      local.find("..") != std::string_view::npos) {
    return Bad(t, v, "has a misplaced '.' in its local part");
  }
  for (char c : local) {
    if (c != '.' && !IsAtext(c)) {
      return Bad(t, v, std::string("has an invalid character '") + c +
                           "' in its local part");
    }
  }
  if (!domain.empty() && domain.front() == '[') {
    return Bad(t, v, "has an address literal as domain (not supported)");
  }
  auto d = NormalizeDomain(t, v, domain);
  if (!d.ok()) return d.status();
  std::string out = std::string(local) + "@" + *d;
  if (out.size() > kMaxEmailBytes) {
    return Bad(t, v, "is longer than 254 bytes");
  }
  return out;
}

// ---- hashes, CVE, ASN ------------------------------------------------------

Result<std::string> NormalizeHash(IndicatorType t, std::string_view v,
                                  size_t digits) {
  for (size_t i = 0; i < v.size(); ++i) {
    if (!IsHex(v[i])) {
      return Bad(t, v, std::string("has a non-hex character '") + v[i] +
                           "' at offset " + std::to_string(i));
    }
  }
  if (v.size() != digits) {
    return Bad(t, v, "has " + std::to_string(v.size()) +
                         " hex digits, expected " + std::to_string(digits));
  }
  return Lower(v);
}

Result<std::string> NormalizeCve(std::string_view v) {
  constexpr IndicatorType t = IndicatorType::kCve;
  if (!StartsWithIgnoreCase(v, "CVE-")) {
    return Bad(t, v, "does not start with 'CVE-'");
  }
  std::string_view rest = v.substr(4);
  if (rest.size() < 5 || rest[4] != '-' || !AllOf(rest.substr(0, 4), IsDigit)) {
    return Bad(t, v, "has no 4-digit year (expected CVE-YYYY-NNNN)");
  }
  const int year = std::atoi(std::string(rest.substr(0, 4)).c_str());
  if (year < 1999) {
    return Bad(t, v, "has year " + std::to_string(year) +
                         " before 1999 (CVE ids start in 1999)");
  }
  std::string_view seq = rest.substr(5);
  if (seq.size() < 4 || seq.size() > 19 || !AllOf(seq, IsDigit)) {
    return Bad(t, v, "has an invalid sequence number (expected 4 to 19 digits)");
  }
  std::string out = "CVE-";
  out += rest;
  return out;
}

Result<std::string> NormalizeAsn(std::string_view v) {
  constexpr IndicatorType t = IndicatorType::kAsn;
  std::string_view digits = v;
  if (StartsWithIgnoreCase(digits, "AS")) digits.remove_prefix(2);
  if (digits.empty() || !AllOf(digits, IsDigit)) {
    return Bad(t, v, "is not an AS number (expected AS12345 or 12345)");
  }
  if (digits.size() > 1 && digits[0] == '0') {
    return Bad(t, v, "has a leading zero");
  }
  uint64_t n = 0;
  if (digits.size() > 10 ||
      std::from_chars(digits.data(), digits.data() + digits.size(), n).ec !=
          std::errc() ||
      n < 1 || n > 4294967295ULL) {
    return Bad(t, v, "is out of range (AS numbers are 1..4294967295)");
  }
  return "AS" + std::to_string(n);
}

// Normalizes text that has already been refanged and checked.
Result<std::string> NormalizeRefanged(IndicatorType type, std::string_view v) {
  switch (type) {
    case IndicatorType::kIpv4: return NormalizeIpv4(v);
    case IndicatorType::kIpv6: return NormalizeIpv6(v);
    case IndicatorType::kDomain: return NormalizeDomain(type, v, v);
    case IndicatorType::kUrl: return NormalizeUrl(v);
    case IndicatorType::kEmail: return NormalizeEmail(v);
    case IndicatorType::kMd5: return NormalizeHash(type, v, 32);
    case IndicatorType::kSha1: return NormalizeHash(type, v, 40);
    case IndicatorType::kSha256: return NormalizeHash(type, v, 64);
    case IndicatorType::kCve: return NormalizeCve(v);
    case IndicatorType::kAsn: return NormalizeAsn(v);
  }
  return InvalidInput("unknown indicator type " +
                      std::to_string(static_cast<int>(type)));
}

Result<ParsedValue> Typed(IndicatorType type, Result<std::string> r) {
  if (!r.ok()) return r.status();
  return ParsedValue{type, std::move(r).value()};
}

bool LooksLikeIpv4(std::string_view v) {
  const size_t slash = v.find('/');
  std::string_view addr = v.substr(0, slash);
  if (!IsDigitsOrDots(addr) || addr.find('.') == std::string_view::npos) {
    return false;
  }
  return slash == std::string_view::npos || AllOf(v.substr(slash + 1), IsDigit);
}

bool LooksLikeIpv6(std::string_view v) {
  if (std::count(v.begin(), v.end(), ':') < 2) return false;
  return std::all_of(v.begin(), v.end(), [](char c) {
    return IsHex(c) || c == ':' || c == '.' || c == '/' || c == '%' ||
           c == '[' || c == ']';
  });
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p <= n) return false;
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    p += n + 1;
  }
  return true;
}

namespace {

// One left-to-right pass of the rewrites Refang documents.
std::string RefangOnce(std::string_view raw) {
  std::string_view v = StripWrapping(raw);
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size();) {
    const char c = v[i];
    if (c == '[' || c == '(' || c == '{') {
      bool matched = false;
      for (const DefangToken& t : kDefangTokens) {
        if (StartsWithIgnoreCase(v.substr(i), t.token)) {
          // "evil [.] com": the spaces belong to the defanging.
          while (!out.empty() && out.back() == ' ') out.pop_back();
          out += t.replacement;
          i += t.token.size();
          while (i < v.size() && v[i] == ' ') ++i;
          matched = true;
          break;
        }
      }
      if (matched) continue;
    } else if (c == '\\' && i + 1 < v.size() && v[i + 1] == '.') {
      out += '.';  // regex-escaped "evil\.com"
      i += 2;
      continue;
    }
    out += c;
    ++i;
  }
  if (const size_t sep = out.find("://");
      sep != std::string::npos && sep <= 8) {
    const std::string scheme = Lower(std::string_view(out).substr(0, sep));
    for (const SchemeFix& f : kSchemeFixes) {
      if (scheme == f.defanged) {
        out.replace(0, sep, f.real);
        break;
      }
    }
  }
  return std::string(StripWrapping(out));
}

}  // namespace

// One pass can leave a token its own rewrite made ("\\." gives "\.",
// "[[.]]" gives "[.]"), so a canonical value would change when normalized
// again, and a peer re-checking it would not get what the sender stored.
// Passes run until nothing changes. That ends: a pass that changes the text
// makes it shorter, except the scheme fix, which leaves a real scheme no
// later pass rewrites; so there are at most as many passes as bytes
// (kMaxRawBytes), and one in the common case.
std::string Refang(std::string_view raw) {
  std::string cur = RefangOnce(raw);
  if (cur == raw) return cur;
  for (;;) {
    std::string next = RefangOnce(cur);
    if (next == cur) return cur;
    cur = std::move(next);
  }
}

Result<std::string> NormalizeValue(IndicatorType type, std::string_view raw) {
  if (static_cast<int>(type) >= kIndicatorTypeCount) {
    return InvalidInput("unknown indicator type " +
                        std::to_string(static_cast<int>(type)));
  }
  CARAVAN_RETURN_IF_ERROR(CheckRawText(type, raw));
  const std::string v = Refang(raw);
  CARAVAN_RETURN_IF_ERROR(CheckRefanged(type, v));
  return NormalizeRefanged(type, v);
}

Result<ParsedValue> DetectAndNormalize(std::string_view raw) {
  // Until a type is known, errors on the raw text are reported as "value".
  if (raw.size() > kMaxRawBytes || HasNul(raw) || !IsValidUtf8(raw)) {
    auto s = CheckRawText(IndicatorType::kDomain, raw);
    return InvalidInput("value" + s.message().substr(s.message().find(':')));
  }
  const std::string v = Refang(raw);
  if (auto s = CheckRefanged(IndicatorType::kDomain, v); !s.ok()) {
    return InvalidInput("value" + s.message().substr(s.message().find(':')));
  }
  if (LooksLikeIpv4(v)) {
    return Typed(IndicatorType::kIpv4, NormalizeIpv4(v));
  }
  if (LooksLikeIpv6(v)) {
    return Typed(IndicatorType::kIpv6, NormalizeIpv6(v));
  }
  if (v.find("://") != std::string::npos) {
    return Typed(IndicatorType::kUrl, NormalizeUrl(v));
  }
  if (v.find('@') != std::string::npos) {
    return Typed(IndicatorType::kEmail, NormalizeEmail(v));
  }
  if (AllOf(v, IsHex)) {
    switch (v.size()) {
      case 32: return Typed(IndicatorType::kMd5, NormalizeHash(IndicatorType::kMd5, v, 32));
      case 40: return Typed(IndicatorType::kSha1, NormalizeHash(IndicatorType::kSha1, v, 40));
      case 64: return Typed(IndicatorType::kSha256, NormalizeHash(IndicatorType::kSha256, v, 64));
      default: break;
    }
  }
  if (StartsWithIgnoreCase(v, "CVE-")) {
    return Typed(IndicatorType::kCve, NormalizeCve(v));
  }
  if (StartsWithIgnoreCase(v, "AS") && v.size() > 2 &&
      AllOf(std::string_view(v).substr(2), IsDigit)) {
    return Typed(IndicatorType::kAsn, NormalizeAsn(v));
  }
  if (v.find('.') == std::string::npos && v.size() >= 30 && v.size() <= 70 &&
      std::all_of(v.begin(), v.end(), [](char c) { return IsAlpha(c) || IsDigit(c); })) {
    return InvalidInput("value: " + Quote(v) + " is not a hash (" +
                        std::to_string(v.size()) +
                        " characters; md5, sha1 and sha256 have 32, 40 and 64 "
                        "hex digits) nor a domain");
  }
  if (const size_t cut = v.find_first_of("/:"); cut != std::string::npos) {
    if (v.substr(0, cut).find('.') == std::string::npos) {
      return InvalidInput("value: " + Quote(v) +
                          " is not an indicator of any type");
    }
    // Scheme-less "host:port" or "host/path": MISP url attributes.
    return Typed(IndicatorType::kUrl, NormalizeUrl("http://" + v));
  }
  return Typed(IndicatorType::kDomain, NormalizeDomain(IndicatorType::kDomain, v, v));
}

Result<Indicator> ValidateIndicator(Indicator ind) {
  if (static_cast<int>(ind.type) >= kIndicatorTypeCount) {
    return InvalidInput("type: unknown code " +
                        std::to_string(static_cast<int>(ind.type)));
  }
  if (static_cast<int>(ind.tlp) > static_cast<int>(Tlp::kRed)) {
    return InvalidInput("tlp: unknown code " +
                        std::to_string(static_cast<int>(ind.tlp)));
  }
  if (static_cast<int>(ind.reshare) > static_cast<int>(Reshare::kFederation)) {
    return InvalidInput("reshare: unknown code " +
                        std::to_string(static_cast<int>(ind.reshare)));
  }
  auto value = NormalizeValue(ind.type, ind.value);
  if (!value.ok()) return value.status();
  ind.value = std::move(value).value();
  if (ind.confidence > 100) {
    return InvalidInput("confidence: " + std::to_string(ind.confidence) +
                        " is out of range 0..100");
  }
  std::vector<std::string> tags;
  tags.reserve(ind.tags.size());
  for (const std::string& raw : ind.tags) {
    if (!IsValidUtf8(raw)) return InvalidInput("tag " + Quote(raw) + " is not valid UTF-8");
    std::string_view tag = TrimSpace(raw);
    if (tag.empty()) return InvalidInput("tag: empty tag");
    if (tag.size() > kMaxTagBytes) {
      return InvalidInput("tag " + Quote(tag) + " is longer than " +
                          std::to_string(kMaxTagBytes) + " bytes");
    }
    for (char c : tag) {
      if (IsControl(static_cast<unsigned char>(c))) {
        return InvalidInput("tag " + Quote(tag) + " contains a control character");
      }
    }
    tags.emplace_back(tag);
  }
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  if (tags.size() > kMaxTags) {
    return InvalidInput("tags: " + std::to_string(tags.size()) +
                        " tags, limit " + std::to_string(kMaxTags));
  }
  ind.tags = std::move(tags);
  auto check_text = [](std::string_view field, const std::string& text,
                       size_t limit) -> Status {
    if (text.size() > limit) {
      return InvalidInput(std::string(field) + ": " +
                          std::to_string(text.size()) + " bytes, limit " +
                          std::to_string(limit));
    }
    if (!IsValidUtf8(text)) {
      return InvalidInput(std::string(field) + ": not valid UTF-8");
    }
    for (size_t i = 0; i < text.size(); ++i) {
      const unsigned char c = static_cast<unsigned char>(text[i]);
      if (IsControl(c) && c != '\n' && c != '\t') {
        return InvalidInput(std::string(field) +
                            ": control character at offset " +
                            std::to_string(i));
      }
    }
    return Status::Ok();
  };
  CARAVAN_RETURN_IF_ERROR(
      check_text("description", ind.description, kMaxDescriptionBytes));
  CARAVAN_RETURN_IF_ERROR(
      check_text("revoke_reason", ind.revoke_reason, kMaxRevokeReasonBytes));
  if (!ind.revoked && !ind.revoke_reason.empty()) {
    return InvalidInput("revoke_reason: set on an indicator that is not revoked");
  }
  if (ind.first_seen < 0 || ind.last_seen < 0 || ind.valid_until < 0) {
    return InvalidInput("times: first_seen, last_seen and valid_until must be >= 0");
  }
  if (ind.first_seen != 0 && ind.last_seen != 0 &&
      ind.last_seen < ind.first_seen) {
    return InvalidInput("last_seen: before first_seen");
  }
  return ind;
}

}  // namespace caravan::protocol
