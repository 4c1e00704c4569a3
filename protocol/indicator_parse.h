#pragma once
// Parsing of indicator values as people and feeds write them: refanging of
// defanged text ("hxxp://evil[.]example"), type detection, normalization to
// the one canonical spelling stored and hashed into ids, and validation of
// an indicator's context fields.
//
// Canonical forms (DESIGN.md "Data model"):
//   ipv4/ipv6  canonical IP text (RFC 5952 for IPv6), CIDR masked to its
//              network, no "/32" or "/128" on a single address. IPv6 zone ids
//              ("fe80::1%eth0") are refused: they mean nothing off-host.
//   domain     lowercase A-labels (IDN via libidn2, UTS #46 nontransitional),
//              no trailing dot, >= 2 labels, labels 1..63 bytes of
//              [a-z0-9-_] not starting or ending with '-', total <= 253, TLD
//              not all digits. '_' is allowed: real feeds carry such hosts.
//   url        scheme://[userinfo@]host[:port][path?query#fragment]; scheme
//              and host lowercased, host a domain (as above) or an IP (IPv6
//              in brackets); schemes allowed: http https ftp ftps sftp smb
//              tcp udp ws wss (malware C2 uses smb:// and tcp://, seen in real
//              reports). Port 1..65535, written without leading zeros. The
//              rest is kept byte for byte, except that spaces are written as
//              %20 (a URL cannot contain a space; reports copy them from
//              file names). Default ports and empty paths are NOT changed:
//              "http://a.example" and "http://a.example/" stay distinct.
//   email      local@domain: the local part is kept as written (case
//              matters to some mail systems) and must be a dot-atom of
//              printable ASCII or UTF-8 (1..64 bytes); the domain is
//              normalized as a domain.
//   md5/sha1/sha256  lowercase hex of exactly 32/40/64 digits.
//   cve        "CVE-YYYY-NNNN" upper case, year 1999..9999, 4..19 digits.
//   asn        "AS" + decimal 1..4294967295 without leading zeros.
//
// All functions are pure and thread-safe. Failures are InvalidInput statuses
// whose message starts with the type name and says what was wrong, e.g.
// "ipv4: '1.2.3.256' is not an IPv4 address (octet 256 > 255)".

#include <string>
#include <string_view>

#include "protocol/indicator.h"
#include "protocol/status.h"

namespace caravan::protocol {

// Undoes the usual defanging and strips what reports wrap values in:
// surrounding whitespace, quotes, backticks and <...>; trailing ".,;:" and
// an unbalanced trailing ')' or ']'; "hxxp"/"hXXp"/"hxxps"/"fxp" schemes;
// "[.]" "(.)" "{.}" "[dot]" "(dot)" "{dot}" "\." -> "."; "[:]" -> ":";
// "[://]" -> "://"; "[/]" -> "/"; "[at]" "(at)" "{at}" "[@]" -> "@" (word
// forms case-insensitive, spaces around a bracketed token dropped). A bare
// " . " or " at " is NOT rewritten: in free text it is prose, not a host.
// Never fails; the result may still be invalid for every type.
std::string Refang(std::string_view raw);

// Refangs `raw`, then normalizes and validates it as `type` (see the
// canonical forms above). On success the canonical value; on failure
// InvalidInput naming the type and the problem. Refuses NUL bytes, invalid
// UTF-8, control characters and values longer than kMaxValueBytes.
Result<std::string> NormalizeValue(IndicatorType type, std::string_view raw);

struct ParsedValue {
  IndicatorType type = IndicatorType::kIpv4;
  std::string value;  // canonical

  bool operator==(const ParsedValue&) const = default;
};

// Detects the type of `raw` and normalizes it. Order: IP address or CIDR;
// URL (has "scheme://"); e-mail (has '@'); hash by hex length (32 md5,
// 40 sha1, 64 sha256); CVE ("CVE-" prefix); ASN ("AS" + digits); a
// scheme-less "host:port" or "host/path" becomes an http:// URL (MISP url
// attributes are often written that way); anything else must be a domain.
// When the text clearly aims at one type (all digits and dots -> ipv4,
// "CVE-" prefix -> cve, ...) the error is that type's error.
Result<ParsedValue> DetectAndNormalize(std::string_view raw);

// Normalizes the value (NormalizeValue with the indicator's type) and checks
// the context: enums in range, confidence 0..100, tags trimmed, non-empty,
// <= kMaxTagBytes, valid UTF-8 without control characters, at most kMaxTags
// after sorting and removing duplicates; description <= kMaxDescriptionBytes
// and revoke_reason <= kMaxRevokeReasonBytes, valid UTF-8, no control
// characters other than tab and newline; times >= 0 and last_seen >=
// first_seen when both are set; a revoke reason only on a revoked
// indicator. On success the indicator in canonical form.
Result<Indicator> ValidateIndicator(Indicator indicator);

// True when `text` is well-formed UTF-8 (no overlongs, no surrogates, max
// U+10FFFF). Exposed for other validators of free text.
bool IsValidUtf8(std::string_view text);

}  // namespace caravan::protocol
