#pragma once
// The host of a URL as the programs that open it read it. Browsers follow
// the WHATWG URL Standard; most other tools split the URL by RFC 3986 and
// hand the name to the system resolver. The two can name different hosts
// for the same text, and that difference is how a protected host slips past
// a check that reads only one way:
//
//   http://gov.uz\@evil.com/   RFC 3986: host evil.com ("gov.uz\" is user
//                              info); WHATWG: host gov.uz ('\' ends the
//                              authority of an http URL, "@evil.com/" is
//                              path).
//
// So a check that must not let a host through reads both (protected_match).
// Stored values are never rewritten here: this only reads them.
//
// Both readings turn the host text into a HostName the same way: a
// bracketed IPv6 literal is an address (inet_pton); otherwise the text is
// percent-decoded, mapped to ASCII (ASCII is lowercased; anything else goes
// through UTS #46 nontransitional via libidn2, as indicator_parse.h does for
// stored names), and a name whose last label is a number is read by the
// WHATWG IPv4 parser, which accepts what inet_aton accepts: "3281912066",
// "0xC39E0102", "0303.0236.1.2", "195.158.258" are all 195.158.1.2.
//
// Pure functions; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/ip_network.h"
#include "protocol/status.h"

namespace caravan::protocol {

// What a host names. At most one of the two is set; neither for a URL that
// has no host at all ("tcp:/x", "file:///etc/passwd").
struct HostName {
  std::optional<IpNetwork> address;  // IPv4 or IPv6, full-length prefix
  // Otherwise the name: lowercase ASCII (A-labels), trailing dots removed
  // (DNS reads "gov.uz." as "gov.uz").
  std::string domain;

  bool empty() const { return !address && domain.empty(); }
  std::string ToString() const;  // "195.158.1.2", "2001:db8::1", "gov.uz"
  bool operator==(const HostName&) const = default;
};

enum class HostRules {
  // The WHATWG host parser for special schemes: fails where the Standard
  // fails (a forbidden domain code point such as '%', '^', '|', ' ' after
  // decoding; a last label that is a number but the whole is not an IPv4
  // address, like "foo.0x10"; an IDNA error).
  kBrowser,
  // A name handed to a resolver: only control characters and a '%' left
  // after decoding are refused (a C resolver stops at NUL; a tool that
  // decodes twice reads another host), and a name ending in a number that
  // is not an IPv4 address stays a name.
  kResolver,
};

// Reads host text ("GOV.uz.", "%67ov.uz", "[::ffff:c39e:102]", "0xC39E0102")
// by `rules`. On success the HostName; on failure InvalidInput saying why
// (empty host, unclosed '[', invalid IPv6, invalid UTF-8, IDNA error, ...).
Result<HostName> ReadHost(std::string_view host, HostRules rules);

// The WHATWG IPv4 parser: one to four parts separated by '.', each decimal,
// "0x" hex or "0"-prefixed octal, the last part filling the remaining
// bytes, one trailing '.' allowed. The address in host order, or nullopt
// where the Standard returns failure.
std::optional<uint32_t> ParseWhatwgIpv4(std::string_view text);

// The WHATWG URL Standard's reading of `url`'s host (basic URL parser, no
// base URL). Tabs and newlines are dropped and surrounding spaces trimmed.
// Special schemes (http https ftp ws wss file): any run of '/' and '\'
// after "scheme:", the authority ends at '/', '\', '?' or '#', user info
// ends at its last '@', the port at the first ':' outside brackets, the
// host is read with HostRules::kBrowser. Other schemes: an authority only
// after "scheme://", ending at '/', '?' or '#'; the host is read with
// HostRules::kResolver (what a tool behind "smb://" or "tcp://" does with
// it) after the Standard's opaque-host check. On failure InvalidInput
// saying what was wrong ("has a port that is not a number: 'x'", ...),
// without repeating the URL.
Result<HostName> WhatwgUrlHost(std::string_view url);

// The RFC 3986 reading: the authority is what follows "://" up to the
// first '/', '?' or '#'; user info ends at its last '@'; the port follows
// the last ':' (after ']' for a bracketed literal). This is the split
// indicator_parse.h normalizes URLs by. The host text, not yet read; empty
// when there is none.
std::string_view Rfc3986HostText(std::string_view url);

// Rfc3986HostText read with HostRules::kResolver. InvalidInput when there
// is no host or it cannot be read.
Result<HostName> Rfc3986UrlHost(std::string_view url);

}  // namespace caravan::protocol
