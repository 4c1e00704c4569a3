#pragma once
// MISP warninglists: lists of values that are almost always false positives
// (private networks, public resolvers, top sites, hashes of the empty file).
// A submission or received record that matches one is flagged and kept out
// of automatic sharing (docs/warninglists.md).
//
// This header has the parser for one MISP warninglist JSON file (strict,
// with hard limits: these files come from outside) and WarninglistSet, the
// matcher over many lists with an index per list type:
//   string     exact; case-insensitive for domains, e-mails, URLs' hosts and
//              hashes (everything we store in lower case anyway)
//   substring  the value contains the entry (case-insensitive)
//   hostname   the value's host (a domain, a URL's host, an e-mail's domain)
//              equals the entry, or "www." + the entry; with
//              HostnameMatch::kSubdomain also any subdomain of the entry
//   cidr       the value (IPv4/IPv6 address or network, or a URL's IP host)
//              overlaps the entry; hash probes per prefix length present
//              plus one binary search, so 60k entries cost ~40 lookups
//   regex      ECMAScript std::regex, compiled once, searched in the value;
//              "/.../i" delimiters as in MISP are understood
// matching_attributes limit a list to the caravan types they name (ip-src ->
// ipv4 and ipv6, domain, hostname, url, email-*, md5, sha1, sha256, ...); a
// list without them applies to every type.
//
// Values: Warninglist is a plain value. WarninglistSet is immutable after
// Build and safe to share between threads (const methods only); the daemon
// swaps whole sets on reload behind a shared_ptr.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/indicator.h"
#include "protocol/status.h"

namespace caravan::protocol {

// Limits on warninglist files (untrusted: downloaded from the internet).
// The largest lists MISP ships are a few MB; 62,745 entries is our biggest
// real test list.
inline constexpr size_t kMaxWarninglistFileBytes = 32 * 1024 * 1024;
inline constexpr size_t kMaxWarninglistEntries = 1'000'000;
inline constexpr size_t kMaxWarninglistEntryBytes = kMaxValueBytes;
inline constexpr size_t kMaxWarninglistTextBytes = 4096;  // name, description
inline constexpr size_t kMaxWarninglistAttributes = 64;
// std::regex compiles to an NFA interpreted by recursion: long patterns mean
// slow compiles and deep stacks. Real MISP regex entries are far shorter.
inline constexpr size_t kMaxWarninglistRegexBytes = 256;
inline constexpr size_t kMaxWarninglistRegexEntries = 1000;
// std::regex's matcher recurses per input character; values past this are
// not searched by regex lists (they are never hosts or hashes anyway).
inline constexpr size_t kMaxRegexSubjectBytes = 1024;
// At most this many *.json files in a warninglists directory.
inline constexpr size_t kMaxWarninglistFiles = 512;

enum class WarninglistType : uint8_t {
  kString,
  kSubstring,
  kHostname,
  kCidr,
  kRegex,
};
std::string_view WarninglistTypeName(WarninglistType type);  // "cidr", ...

// One parsed list, as published.
struct Warninglist {
  std::string file;  // where it came from (for messages); may be empty
  std::string name;
  std::string description;
  int64_t version = 0;
  WarninglistType type = WarninglistType::kString;
  std::vector<std::string> entries;              // as written
  std::vector<std::string> matching_attributes;  // as written
  // Bit (1 << IndicatorType) set for each caravan type the list applies to.
  uint32_t applies_to = 0;
};

// Parses one MISP warninglist JSON document. `file` names it in messages.
// On failure: InvalidInput "FILE: reason", naming the entry (index and
// text) when one is wrong: not JSON, larger than kMaxWarninglistFileBytes,
// a missing or mistyped name/type/list, an unknown type, an empty list or
// one above kMaxWarninglistEntries, an entry that is empty, too long or
// not text, a cidr entry that is not an address or network, a regex entry
// longer than kMaxWarninglistRegexBytes or that does not compile.
Result<Warninglist> ParseWarninglist(std::string_view json_text,
                                     std::string_view file);

// Reads and parses `path` (bounded read). NotFound / Unavailable when the
// file is missing or unreadable, else as ParseWarninglist.
Result<Warninglist> LoadWarninglistFile(const std::filesystem::path& path);

// How hostname lists treat subdomains. MISP itself matches subdomains; on
// real data that flags phishing hosts on free-hosting sites
// ("x.weebly.com" under a top-10k "weebly.com"), so exact is our default.
enum class HostnameMatch : uint8_t { kExact, kSubdomain };

// Which list matched and the entry (as written in the list) that did.
struct WarninglistMatch {
  std::string list;  // the list's name
  std::string entry;
  bool operator==(const WarninglistMatch&) const = default;
};

class WarninglistSet {
 public:
  WarninglistSet();  // empty: matches nothing
  ~WarninglistSet();
  WarninglistSet(WarninglistSet&&) noexcept;
  WarninglistSet& operator=(WarninglistSet&&) noexcept;

  // Indexes `lists` (kept in the given order: the first matching list is
  // reported first). Never fails: a list that cannot be indexed (a regex
  // the library refuses) is skipped and described in problems().
  static WarninglistSet Build(std::vector<Warninglist> lists,
                              HostnameMatch hostname = HostnameMatch::kExact);

  // Every list that matches `value` (normalized as protocol/indicator_parse.h
  // makes it) of `type`, one match each, in list order. Empty: no match.
  std::vector<WarninglistMatch> MatchAll(IndicatorType type,
                                         std::string_view value) const;
  // The first match, if any.
  std::optional<WarninglistMatch> Match(IndicatorType type,
                                        std::string_view value) const;

  size_t list_count() const;
  size_t entry_count() const;
  std::vector<std::string> list_names() const;
  // "FILE: list 'NAME' skipped: reason" for lists Build could not index.
  const std::vector<std::string>& problems() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Loads every *.json file of `dir` (sorted by file name, subdirectories
// ignored). On success the set (an absent or empty directory gives an empty
// set only when `dir` is empty; a configured directory that does not exist
// is NotFound). On failure InvalidInput listing every broken file, one per
// line, so the operator fixes them all at once; a regex a list carries that
// std::regex refuses counts as broken too.
Result<std::shared_ptr<const WarninglistSet>> LoadWarninglistDir(
    const std::filesystem::path& dir, HostnameMatch hostname);

}  // namespace caravan::protocol
