#include "protocol/url_host.h"

#include <idn2.h>

#include <algorithm>
#include <array>
#include <vector>

#include "protocol/indicator_parse.h"

namespace caravan::protocol {
namespace {

constexpr std::array<std::string_view, 6> kSpecialSchemes = {
    "ftp", "file", "http", "https", "ws", "wss"};

bool IsAsciiAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
int HexValue(char c) {
  if (IsAsciiDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Error text quotes untrusted input: bounded and with control bytes shown
// as \xNN, so a hostile value cannot flood or corrupt a log line.
std::string Quote(std::string_view v) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  for (size_t i = 0; i < v.size() && i < 64; ++i) {
    const auto c = static_cast<unsigned char>(v[i]);
    if (c < 0x20 || c == 0x7f || c == '\'' || c == '\\') {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (v.size() > 64) out += "...";
  return out + "'";
}

Status Fail(std::string_view what, std::string_view text) {
  return InvalidInput(std::string(what) + " " + Quote(text));
}

std::vector<std::string_view> SplitOnDot(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    const size_t dot = s.find('.', start);
    if (dot == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, dot - start));
    start = dot + 1;
  }
}

// The WHATWG IPv4 number parser. Values past 2^32 saturate: every caller
// refuses them anyway, and saturating keeps huge inputs from overflowing.
std::optional<uint64_t> ParseIpv4Number(std::string_view in) {
  if (in.empty()) return std::nullopt;
  int radix = 10;
  if (in.size() >= 2 && in[0] == '0' && (in[1] == 'x' || in[1] == 'X')) {
    in.remove_prefix(2);
    radix = 16;
  } else if (in.size() >= 2 && in[0] == '0') {
    in.remove_prefix(1);
    radix = 8;
  }
  constexpr uint64_t kCap = uint64_t{1} << 33;
  uint64_t value = 0;
  for (char c : in) {
    const int d = HexValue(c);
    if (d < 0 || d >= radix) return std::nullopt;
    value = std::min(kCap, value * static_cast<uint64_t>(radix) +
                               static_cast<uint64_t>(d));
  }
  return value;  // "0x" and "0" alone are 0
}

// The WHATWG "ends in a number" checker: does the last label (ignoring one
// trailing dot) look numeric, so that the whole must be an IPv4 address?
bool EndsInANumber(std::string_view ascii) {
  std::vector<std::string_view> parts = SplitOnDot(ascii);
  if (parts.back().empty()) {
    if (parts.size() == 1) return false;
    parts.pop_back();
  }
  const std::string_view last = parts.back();
  if (!last.empty() && std::all_of(last.begin(), last.end(), IsAsciiDigit)) {
    return true;
  }
  return last.size() >= 2 && last[0] == '0' &&
         (last[1] == 'x' || last[1] == 'X') && ParseIpv4Number(last);
}

std::string PercentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 &&
        HexValue(in[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2]));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

// C0 controls, DEL and '%': what even a resolver reading refuses.
bool HasControlOrPercent(std::string_view name) {
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '%') return true;
  }
  return false;
}

// Forbidden domain code points of the WHATWG URL Standard (forbidden host
// code points, C0 controls, '%' and DEL), over ASCII output.
bool HasForbiddenDomainCodePoint(std::string_view ascii) {
  static constexpr std::string_view kForbidden = " #/:<>?@[\\]^|%";
  return std::any_of(ascii.begin(), ascii.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f ||
           kForbidden.find(c) != std::string_view::npos;
  });
}

Result<HostName> ReadIpv6Literal(std::string_view bracketed) {
  if (bracketed.size() < 2 || bracketed.back() != ']') {
    return Fail("has an unclosed '[' in host", bracketed);
  }
  const std::string_view inner = bracketed.substr(1, bracketed.size() - 2);
  // ParseIpNetwork would take "/n" as a prefix; a host is one address.
  if (inner.find_first_of("/%") == std::string_view::npos) {
    if (auto ip = ParseIpNetwork(inner); ip && ip->is_v6) {
      return HostName{ip, ""};
    }
  }
  return Fail("has an invalid IPv6 address in host", bracketed);
}

// Domain to ASCII as the URL Standard runs it (beStrict false): an ASCII
// name is only lowercased; any other goes through UTS #46.
Result<std::string> DomainToAscii(std::string_view domain) {
  const bool ascii = std::all_of(domain.begin(), domain.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x80;
  });
  std::string out;
  if (ascii) {
    out.assign(domain);
  } else {
    const std::string z(domain);
    uint8_t* mapped = nullptr;
    const int rc =
        idn2_lookup_u8(reinterpret_cast<const uint8_t*>(z.c_str()), &mapped,
                       IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    if (rc != IDN2_OK) {
      return InvalidInput("has a host name IDNA cannot map (" +
                          std::string(idn2_strerror(rc)) + ") " + Quote(domain));
    }
    out = reinterpret_cast<const char*>(mapped);
    idn2_free(mapped);
  }
  for (char& c : out) c = AsciiLower(c);
  return out;
}

bool IsSpecial(std::string_view scheme) {
  return std::find(kSpecialSchemes.begin(), kSpecialSchemes.end(), scheme) !=
         kSpecialSchemes.end();
}

// The opaque-host parser's refusal: forbidden host code points (the domain
// set without controls, '%' and DEL).
bool HasForbiddenHostCodePoint(std::string_view host) {
  static constexpr std::string_view kForbidden = " #/:<>?@[\\]^|";
  return std::any_of(host.begin(), host.end(), [](char c) {
    return c == '\0' || c == '\t' || c == '\n' || c == '\r' ||
           kForbidden.find(c) != std::string_view::npos;
  });
}

// The basic URL parser's preprocessing: trim C0 controls and spaces at both
// ends, drop every tab and newline.
std::string Preprocess(std::string_view url) {
  auto c0_or_space = [](char c) { return static_cast<unsigned char>(c) <= 0x20; };
  while (!url.empty() && c0_or_space(url.front())) url.remove_prefix(1);
  while (!url.empty() && c0_or_space(url.back())) url.remove_suffix(1);
  std::string out;
  out.reserve(url.size());
  for (char c : url) {
    if (c != '\t' && c != '\n' && c != '\r') out += c;
  }
  return out;
}

// The file scheme's host state: no user info and no port; a Windows drive
// letter is a path, "localhost" is no host.
Result<HostName> FileUrlHost(std::string_view rest) {
  size_t slashes = 0;
  while (slashes < rest.size() && slashes < 2 &&
         (rest[slashes] == '/' || rest[slashes] == '\\')) {
    ++slashes;
  }
  if (slashes < 2) return HostName{};
  rest.remove_prefix(2);
  const std::string_view host = rest.substr(0, rest.find_first_of("/\\?#"));
  if (host.empty()) return HostName{};
  if (host.size() == 2 && IsAsciiAlpha(host[0]) &&
      (host[1] == ':' || host[1] == '|')) {
    return HostName{};
  }
  auto h = ReadHost(host, HostRules::kBrowser);
  if (h.ok() && h->domain == "localhost") return HostName{};
  return h;
}

}  // namespace

std::string HostName::ToString() const {
  if (address) return address->ToString();
  return domain;
}

std::optional<uint32_t> ParseWhatwgIpv4(std::string_view text) {
  std::vector<std::string_view> parts = SplitOnDot(text);
  if (parts.back().empty() && parts.size() > 1) parts.pop_back();
  if (parts.size() > 4) return std::nullopt;
  std::vector<uint64_t> numbers;
  for (std::string_view part : parts) {
    auto n = ParseIpv4Number(part);
    if (!n) return std::nullopt;
    numbers.push_back(*n);
  }
  for (size_t i = 0; i + 1 < numbers.size(); ++i) {
    if (numbers[i] > 255) return std::nullopt;
  }
  const uint64_t limit = uint64_t{1} << (8 * (5 - numbers.size()));
  if (numbers.back() >= limit) return std::nullopt;
  uint64_t ipv4 = numbers.back();
  for (size_t i = 0; i + 1 < numbers.size(); ++i) {
    ipv4 += numbers[i] << (8 * (3 - i));
  }
  return static_cast<uint32_t>(ipv4);
}

Result<HostName> ReadHost(std::string_view host, HostRules rules) {
  if (host.empty()) return InvalidInput("has an empty host");
  if (host.front() == '[') return ReadIpv6Literal(host);
  const std::string decoded = PercentDecode(host);
  // The Standard decodes invalid UTF-8 to U+FFFD, which UTS #46 refuses.
  if (!IsValidUtf8(decoded)) {
    return Fail("has a host that is not UTF-8 once percent-decoded", host);
  }
  auto ascii = DomainToAscii(decoded);
  if (!ascii.ok()) return ascii.status();
  const std::string& name = *ascii;
  if (name.empty()) return Fail("has an empty host once decoded", host);
  if (rules == HostRules::kBrowser && HasForbiddenDomainCodePoint(name)) {
    return Fail("has a forbidden character in host", host);
  }
  // Even a resolver reading cannot name one host for these: a C resolver
  // stops at NUL ("gov.uz%00.evil.com" is gov.uz to getaddrinfo), and a
  // '%' left after decoding names another host to a tool that decodes
  // twice. Refused, so a check reading both ways withholds the value.
  if (HasControlOrPercent(name)) {
    return Fail("has a control character or '%' in host once decoded", host);
  }
  // No DNS name holds a bracket, and a host text starting with '[' is an
  // IPv6 literal: "%5bk" must not become a name that reads back as
  // something else (found by fuzz_url_host).
  if (name.find_first_of("[]") != std::string::npos) {
    return Fail("has a '[' or ']' in host once decoded", host);
  }
  if (EndsInANumber(name)) {
    if (auto v4 = ParseWhatwgIpv4(name)) {
      IpNetwork ip;
      ip.bytes[0] = static_cast<uint8_t>(*v4 >> 24);
      ip.bytes[1] = static_cast<uint8_t>(*v4 >> 16);
      ip.bytes[2] = static_cast<uint8_t>(*v4 >> 8);
      ip.bytes[3] = static_cast<uint8_t>(*v4);
      return HostName{ip, ""};
    }
    if (rules == HostRules::kBrowser) {
      return Fail("has a host ending in a number that is not an IPv4 address",
                  host);
    }
  }
  std::string_view domain = name;
  while (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  if (domain.empty()) return Fail("has no name in host", host);
  return HostName{std::nullopt, std::string(domain)};
}

Result<HostName> WhatwgUrlHost(std::string_view raw) {
  const std::string url = Preprocess(raw);
  std::string_view v = url;
  // Scheme: an ASCII letter, then letters, digits, '+', '-', '.', then ':'.
  size_t colon = 0;
  while (colon < v.size() &&
         (IsAsciiAlpha(v[colon]) ||
          (colon > 0 && (IsAsciiDigit(v[colon]) || v[colon] == '+' ||
                         v[colon] == '-' || v[colon] == '.')))) {
    ++colon;
  }
  if (colon == 0 || colon >= v.size() || v[colon] != ':') {
    return InvalidInput("has no scheme");
  }
  std::string scheme(v.substr(0, colon));
  for (char& c : scheme) c = AsciiLower(c);
  std::string_view rest = v.substr(colon + 1);
  const bool special = IsSpecial(scheme);
  if (scheme == "file") return FileUrlHost(rest);
  if (special) {
    // Special authority (ignore) slashes: any run of '/' and '\'.
    while (!rest.empty() && (rest.front() == '/' || rest.front() == '\\')) {
      rest.remove_prefix(1);
    }
  } else if (rest.substr(0, 2) == "//") {
    rest.remove_prefix(2);
  } else {
    return HostName{};  // a path only: no authority, no host
  }
  const std::string_view authority =
      rest.substr(0, rest.find_first_of(special ? "/\\?#" : "/?#"));
  std::string_view hostport = authority;
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    hostport = authority.substr(at + 1);
    if (hostport.empty()) return InvalidInput("has user info but no host");
  }
  // The host ends at the first ':' outside brackets.
  size_t end = 0;
  bool in_brackets = false;
  for (; end < hostport.size(); ++end) {
    const char c = hostport[end];
    if (c == ':' && !in_brackets) break;
    if (c == '[') in_brackets = true;
    if (c == ']') in_brackets = false;
  }
  const std::string_view host = hostport.substr(0, end);
  if (end < hostport.size()) {
    const std::string_view port = hostport.substr(end + 1);
    if (host.empty()) return InvalidInput("has a port but no host");
    if (!std::all_of(port.begin(), port.end(), IsAsciiDigit)) {
      return Fail("has a port that is not a number:", port);
    }
    uint32_t value = 0;
    for (char c : port) {
      value = value * 10 + static_cast<uint32_t>(c - '0');
      if (value > 65535) return Fail("has a port above 65535:", port);
    }
  }
  if (special) {
    if (host.empty()) return InvalidInput("has no host");
    return ReadHost(host, HostRules::kBrowser);
  }
  if (host.empty()) return HostName{};  // "tcp:///x": an empty host
  if (host.front() == '[') return ReadIpv6Literal(host);
  if (HasForbiddenHostCodePoint(host)) {
    return Fail("has a forbidden character in host", host);
  }
  return ReadHost(host, HostRules::kResolver);
}

std::string_view Rfc3986HostText(std::string_view url) {
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) return {};
  std::string_view rest = url.substr(sep + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    return close == std::string_view::npos ? authority
                                           : authority.substr(0, close + 1);
  }
  return authority.substr(0, authority.rfind(':'));
}

Result<HostName> Rfc3986UrlHost(std::string_view url) {
  const std::string_view host = Rfc3986HostText(url);
  if (host.empty()) return InvalidInput("has no host");
  return ReadHost(host, HostRules::kResolver);
}

}  // namespace caravan::protocol
