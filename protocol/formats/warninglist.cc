#include "protocol/formats/warninglist.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <unordered_map>

#include "protocol/ip_network.h"

namespace caravan::protocol {
namespace {

namespace fs = std::filesystem;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Entries echoed in messages are cut: they may be 2 KB of junk.
std::string Shown(std::string_view entry) {
  constexpr size_t kShown = 80;
  if (entry.size() <= kShown) return std::string(entry);
  return std::string(entry.substr(0, kShown)) + "...";
}

uint32_t Bit(IndicatorType t) { return 1u << static_cast<uint32_t>(t); }

constexpr uint32_t kAllTypes = (1u << kIndicatorTypeCount) - 1;

// MISP attribute types -> the caravan types they cover. Types we do not
// store (sha224, ssdeep, filename, ...) map to nothing.
uint32_t TypesForAttribute(std::string_view a) {
  const uint32_t ip = Bit(IndicatorType::kIpv4) | Bit(IndicatorType::kIpv6);
  if (a == "ip-src" || a == "ip-dst" || a == "ip-src|port" ||
      a == "ip-dst|port" || a == "ip") {
    return ip;
  }
  if (a == "domain|ip") return ip | Bit(IndicatorType::kDomain);
  if (a == "domain" || a == "hostname" || a == "hostname|port") {
    return Bit(IndicatorType::kDomain);
  }
  if (a == "url" || a == "uri" || a == "link") return Bit(IndicatorType::kUrl);
  if (a.starts_with("email") || a == "target-email" ||
      a == "whois-registrant-email") {
    return Bit(IndicatorType::kEmail);
  }
  if (a == "md5" || a == "filename|md5") return Bit(IndicatorType::kMd5);
  if (a == "sha1" || a == "filename|sha1") return Bit(IndicatorType::kSha1);
  if (a == "sha256" || a == "filename|sha256") {
    return Bit(IndicatorType::kSha256);
  }
  if (a == "vulnerability") return Bit(IndicatorType::kCve);
  if (a == "AS") return Bit(IndicatorType::kAsn);
  return 0;
}

std::optional<WarninglistType> ParseType(std::string_view s) {
  if (s == "string") return WarninglistType::kString;
  if (s == "substring") return WarninglistType::kSubstring;
  if (s == "hostname") return WarninglistType::kHostname;
  if (s == "cidr") return WarninglistType::kCidr;
  if (s == "regex") return WarninglistType::kRegex;
  return std::nullopt;
}

// A hostname entry or value in the form we index: lower case, no leading
// "*." / "." and no trailing dot.
std::string HostKey(std::string_view s) {
  if (s.starts_with("*.")) s.remove_prefix(2);
  while (!s.empty() && s.front() == '.') s.remove_prefix(1);
  while (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return Lower(s);
}

// The host of a normalized URL ("scheme://[userinfo@]host[:port]..."),
// brackets of an IPv6 host removed. Empty if there is none.
std::string_view UrlHost(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) {
    rest.remove_prefix(at + 1);
  }
  if (rest.starts_with('[')) {
    const size_t close = rest.find(']');
    return close == std::string_view::npos ? std::string_view()
                                           : rest.substr(1, close - 1);
  }
  return rest.substr(0, rest.find(':'));
}

// The host name a hostname list is matched against, if the type has one.
std::optional<std::string_view> HostOf(IndicatorType type,
                                       std::string_view value) {
  switch (type) {
    case IndicatorType::kDomain:
      return value;
    case IndicatorType::kUrl: {
      std::string_view host = UrlHost(value);
      if (host.empty()) return std::nullopt;
      return host;
    }
    case IndicatorType::kEmail: {
      const size_t at = value.rfind('@');
      if (at == std::string_view::npos) return std::nullopt;
      return value.substr(at + 1);
    }
    default:
      return std::nullopt;
  }
}

// The network a cidr list is matched against, if the value has one.
std::optional<IpNetwork> NetworkOf(IndicatorType type,
                                   std::string_view value) {
  if (type == IndicatorType::kIpv4 || type == IndicatorType::kIpv6) {
    return ParseIpNetwork(value);
  }
  if (type == IndicatorType::kUrl) {
    std::string_view host = UrlHost(value);
    if (!host.empty()) return ParseIpNetwork(host);
  }
  return std::nullopt;
}

// "/pattern/flags" (MISP, as for PHP's preg_match) or a bare pattern.
struct RegexSource {
  std::string pattern;
  bool icase = false;
};

Result<RegexSource> SplitRegex(std::string_view entry) {
  RegexSource src;
  const size_t last = entry.rfind('/');
  if (entry.size() >= 2 && entry.front() == '/' && last > 0) {
    for (char f : entry.substr(last + 1)) {
      if (f == 'i') {
        src.icase = true;
      } else if (f != 'u') {
        return InvalidInput(std::string("regex flag '") + f +
                            "' is not supported (only i and u)");
      }
    }
    src.pattern = std::string(entry.substr(1, last - 1));
  } else {
    src.pattern = std::string(entry);
  }
  return src;
}

// libstdc++'s regex compiler reads a back-reference number ("\\12") or a
// repetition count ("{3,7}") into a long with no overflow check, so a digit
// run of 19 or more is undefined behaviour before any regex_error can be
// thrown. Such numbers are refused here, before std::regex sees them; nine
// digits is far past any count the compiler's state limit would let through.
constexpr size_t kMaxRegexNumberDigits = 9;

size_t DigitRunAt(std::string_view p, size_t i) {
  size_t n = 0;
  while (i + n < p.size() && p[i + n] >= '0' && p[i + n] <= '9') ++n;
  return n;
}

// Every place the scanner could read such a number is checked, whatever
// the context: after any backslash or brace, and after "{digits,". Tracking
// bracket classes and escapes as the scanner does would refuse less, but a
// slip there would let an overflow through; a 10-digit run right after a
// literal brace is not worth that risk.
Status CheckRegexNumbers(std::string_view p) {
  const auto too_long = [](size_t at) {
    return InvalidInput("regex number at offset " + std::to_string(at) +
                        " is longer than " +
                        std::to_string(kMaxRegexNumberDigits) + " digits");
  };
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] != '\\' && p[i] != '{') continue;
    const size_t run = DigitRunAt(p, i + 1);
    if (run > kMaxRegexNumberDigits) return too_long(i + 1);
    const size_t comma = i + 1 + run;
    if (p[i] == '{' && run > 0 && comma < p.size() && p[comma] == ',' &&
        DigitRunAt(p, comma + 1) > kMaxRegexNumberDigits) {
      return too_long(comma + 1);
    }
  }
  return Status::Ok();
}

// Compiles for a whole-value match in polynomial (Thompson) mode: no
// backtracking, so a hostile pattern cannot take exponential time, and the
// surrounding [\s\S]* makes one pass do what regex_search would do from
// every start position. Back-references are refused in this mode.
Result<std::regex> CompileRegex(std::string_view entry) {
  if (entry.size() > kMaxWarninglistRegexBytes) {
    return InvalidInput("regex longer than " +
                        std::to_string(kMaxWarninglistRegexBytes) + " bytes");
  }
  auto src = SplitRegex(entry);
  if (!src.ok()) return src.status();
  if (Status numbers = CheckRegexNumbers(src->pattern); !numbers.ok()) {
    return numbers;
  }
  auto flags = std::regex::ECMAScript | std::regex::nosubs |
               std::regex_constants::__polynomial;
  if (src->icase) flags |= std::regex::icase;
  try {
    // Compiled alone first: only a pattern that stands on its own (no
    // stray ")(" that would break out of the wrapper) is wrapped.
    (void)std::regex(src->pattern, flags);
    return std::regex("[\\s\\S]*(?:" + src->pattern + ")[\\s\\S]*", flags);
  } catch (const std::regex_error& e) {
    // std::regex reports bad patterns only by throwing; this is the one
    // place that turns that into a value.
    return InvalidInput(std::string("regex does not compile: ") + e.what());
  }
}

Status EntryError(std::string_view file, size_t index, std::string_view entry,
                  std::string_view reason) {
  return InvalidInput(std::string(file) + ": entry " + std::to_string(index) +
                      " '" + Shown(entry) + "': " + std::string(reason));
}

Result<std::string> ReadBounded(const fs::path& path) {
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) {
    if (ec && ec != std::errc::no_such_file_or_directory) {
      return Unavailable(path.string() + ": " + ec.message());
    }
    return NotFound(path.string() + ": no such file");
  }
  if (!fs::is_regular_file(st)) {
    return InvalidInput(path.string() + ": not a regular file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Unavailable(path.string() + ": cannot be opened");
  std::string text;
  text.resize(kMaxWarninglistFileBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return Unavailable(path.string() + ": read failed");
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxWarninglistFileBytes) {
    return InvalidInput(path.string() + ": larger than " +
                        std::to_string(kMaxWarninglistFileBytes) + " bytes");
  }
  return text;
}

// IP index of one address family of a cidr list.
struct CidrFamily {
  // Prefix lengths present, ascending.
  std::vector<uint8_t> prefixes;
  // (prefix, masked bytes) -> entry index: "an entry contains the value"
  // is one probe per prefix length present.
  std::unordered_map<std::string, uint32_t> by_network;
  // (First(), entry index) sorted: "the value contains an entry" is one
  // binary search (CIDR blocks overlap only by containment).
  std::vector<std::pair<std::array<uint8_t, 16>, uint32_t>> by_first;
};

std::string NetworkKey(const std::array<uint8_t, 16>& bytes, uint8_t prefix) {
  std::string key(17, '\0');
  key[0] = static_cast<char>(prefix);
  for (int i = 0; i < 16; ++i) {
    const int bits = std::clamp(static_cast<int>(prefix) - i * 8, 0, 8);
    const uint8_t mask = static_cast<uint8_t>(0xff00 >> bits);
    key[1 + i] = static_cast<char>(bytes[i] & mask);
  }
  return key;
}

struct CompiledList {
  std::string name;
  WarninglistType type = WarninglistType::kString;
  uint32_t applies_to = 0;
  std::vector<std::string> entries;  // as written, for reporting
  // string: exact text and lower-cased text -> entry
  std::unordered_map<std::string, uint32_t> exact, folded;
  // substring: lower-cased entries
  std::vector<std::pair<std::string, uint32_t>> substrings;
  // hostname: HostKey(entry) -> entry
  std::unordered_map<std::string, uint32_t> hosts;
  CidrFamily v4, v6;
  std::vector<std::pair<std::regex, uint32_t>> regexes;
};

std::optional<uint32_t> MatchCidr(const CidrFamily& fam, const IpNetwork& v) {
  for (uint8_t p : fam.prefixes) {
    if (p > v.prefix) break;
    auto it = fam.by_network.find(NetworkKey(v.bytes, p));
    if (it != fam.by_network.end()) return it->second;
  }
  const auto first = v.First();
  const auto last = v.Last();
  auto it = std::lower_bound(
      fam.by_first.begin(), fam.by_first.end(), first,
      [](const auto& e, const std::array<uint8_t, 16>& k) {
        return e.first < k;
      });
  if (it != fam.by_first.end() && it->first <= last) return it->second;
  return std::nullopt;
}

std::optional<uint32_t> MatchHost(const CompiledList& l, std::string_view host,
                                  HostnameMatch mode) {
  std::string key = HostKey(host);
  if (auto it = l.hosts.find(key); it != l.hosts.end()) return it->second;
  std::string_view rest = key;
  if (mode == HostnameMatch::kExact) {
    // "www.example.com" is the same site as "example.com".
    if (!rest.starts_with("www.")) return std::nullopt;
    rest.remove_prefix(4);
    auto it = l.hosts.find(std::string(rest));
    if (it == l.hosts.end()) return std::nullopt;
    return it->second;
  }
  for (size_t dot = rest.find('.'); dot != std::string_view::npos;
       dot = rest.find('.')) {
    rest.remove_prefix(dot + 1);
    auto it = l.hosts.find(std::string(rest));
    if (it != l.hosts.end()) return it->second;
  }
  return std::nullopt;
}

std::optional<uint32_t> MatchList(const CompiledList& l, IndicatorType type,
                                  std::string_view value,
                                  HostnameMatch mode) {
  switch (l.type) {
    case WarninglistType::kString: {
      if (auto it = l.exact.find(std::string(value)); it != l.exact.end()) {
        return it->second;
      }
      // URLs keep path case; everything else we store is case-insensitive.
      if (type == IndicatorType::kUrl) return std::nullopt;
      auto it = l.folded.find(Lower(value));
      if (it == l.folded.end()) return std::nullopt;
      return it->second;
    }
    case WarninglistType::kSubstring: {
      const std::string lowered = Lower(value);
      for (const auto& [entry, index] : l.substrings) {
        if (lowered.find(entry) != std::string::npos) return index;
      }
      return std::nullopt;
    }
    case WarninglistType::kHostname: {
      auto host = HostOf(type, value);
      if (!host) return std::nullopt;
      return MatchHost(l, *host, mode);
    }
    case WarninglistType::kCidr: {
      auto net = NetworkOf(type, value);
      if (!net) return std::nullopt;
      return MatchCidr(net->is_v6 ? l.v6 : l.v4, *net);
    }
    case WarninglistType::kRegex: {
      if (value.size() > kMaxRegexSubjectBytes) return std::nullopt;
      for (const auto& [re, index] : l.regexes) {
        try {
          if (std::regex_match(value.begin(), value.end(), re)) return index;
        } catch (const std::regex_error&) {
          // error_complexity / error_stack at match time: treat as no
          // match rather than take the daemon down.
        }
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

// Indexes one parsed list. On failure the reason (the list is skipped).
Result<CompiledList> Compile(Warninglist list) {
  CompiledList c;
  c.name = std::move(list.name);
  c.type = list.type;
  c.applies_to = list.applies_to;
  c.entries = std::move(list.entries);
  std::vector<IpNetwork> nets;
  for (uint32_t i = 0; i < c.entries.size(); ++i) {
    const std::string& e = c.entries[i];
    switch (c.type) {
      case WarninglistType::kString:
        c.exact.emplace(e, i);
        c.folded.emplace(Lower(e), i);
        break;
      case WarninglistType::kSubstring:
        c.substrings.emplace_back(Lower(e), i);
        break;
      case WarninglistType::kHostname: {
        std::string key = HostKey(e);
        if (!key.empty()) c.hosts.emplace(std::move(key), i);
        break;
      }
      case WarninglistType::kCidr: {
        auto net = ParseIpNetwork(e);
        if (!net) {
          return InvalidInput("entry " + std::to_string(i) + " '" + Shown(e) +
                              "' is not an IP address or network");
        }
        CidrFamily& fam = net->is_v6 ? c.v6 : c.v4;
        fam.by_network.emplace(NetworkKey(net->bytes, net->prefix), i);
        fam.by_first.emplace_back(net->First(), i);
        fam.prefixes.push_back(net->prefix);
        break;
      }
      case WarninglistType::kRegex: {
        auto re = CompileRegex(e);
        if (!re.ok()) {
          return InvalidInput("entry " + std::to_string(i) + " '" + Shown(e) +
                              "': " + re.status().message());
        }
        c.regexes.emplace_back(std::move(*re), i);
        break;
      }
    }
  }
  for (CidrFamily* fam : {&c.v4, &c.v6}) {
    std::sort(fam->prefixes.begin(), fam->prefixes.end());
    fam->prefixes.erase(std::unique(fam->prefixes.begin(), fam->prefixes.end()),
                        fam->prefixes.end());
    std::sort(fam->by_first.begin(), fam->by_first.end());
  }
  return c;
}

}  // namespace

std::string_view WarninglistTypeName(WarninglistType type) {
  switch (type) {
    case WarninglistType::kString:
      return "string";
    case WarninglistType::kSubstring:
      return "substring";
    case WarninglistType::kHostname:
      return "hostname";
    case WarninglistType::kCidr:
      return "cidr";
    case WarninglistType::kRegex:
      return "regex";
  }
  return "?";
}

Result<Warninglist> ParseWarninglist(std::string_view text,
                                     std::string_view file) {
  const std::string f(file.empty() ? "warninglist" : file);
  if (text.size() > kMaxWarninglistFileBytes) {
    return InvalidInput(f + ": larger than " +
                        std::to_string(kMaxWarninglistFileBytes) + " bytes");
  }
  nlohmann::json doc = nlohmann::json::parse(text, nullptr,
                                             /*allow_exceptions=*/false);
  if (doc.is_discarded()) return InvalidInput(f + ": not valid JSON");
  if (!doc.is_object()) return InvalidInput(f + ": not a JSON object");

  Warninglist list;
  list.file = f;
  auto text_field = [&](const char* key, bool required,
                        std::string* out) -> Status {
    auto it = doc.find(key);
    if (it == doc.end()) {
      return required ? InvalidInput(f + ": missing \"" + key + "\"")
                      : Status::Ok();
    }
    if (!it->is_string()) {
      return InvalidInput(f + ": \"" + key + "\" is not a string");
    }
    const auto& s = it->get_ref<const std::string&>();
    if (s.size() > kMaxWarninglistTextBytes) {
      return InvalidInput(f + ": \"" + key + "\" is longer than " +
                          std::to_string(kMaxWarninglistTextBytes) +
                          " bytes");
    }
    *out = s;
    return Status::Ok();
  };
  CARAVAN_RETURN_IF_ERROR(text_field("name", true, &list.name));
  if (list.name.empty()) return InvalidInput(f + ": \"name\" is empty");
  CARAVAN_RETURN_IF_ERROR(text_field("description", false, &list.description));
  std::string type_text;
  CARAVAN_RETURN_IF_ERROR(text_field("type", true, &type_text));
  auto type = ParseType(type_text);
  if (!type) {
    return InvalidInput(f + ": type '" + Shown(type_text) +
                        "' is not one of string, substring, hostname, cidr, "
                        "regex");
  }
  list.type = *type;
  if (auto it = doc.find("version"); it != doc.end()) {
    if (!it->is_number_integer()) {
      return InvalidInput(f + ": \"version\" is not an integer");
    }
    list.version = it->get<int64_t>();
  }

  auto entries = doc.find("list");
  if (entries == doc.end()) return InvalidInput(f + ": missing \"list\"");
  if (!entries->is_array()) {
    return InvalidInput(f + ": \"list\" is not an array");
  }
  if (entries->empty()) return InvalidInput(f + ": \"list\" is empty");
  if (entries->size() > kMaxWarninglistEntries) {
    return InvalidInput(f + ": \"list\" has " +
                        std::to_string(entries->size()) +
                        " entries, more than the limit of " +
                        std::to_string(kMaxWarninglistEntries));
  }
  if (list.type == WarninglistType::kRegex &&
      entries->size() > kMaxWarninglistRegexEntries) {
    return InvalidInput(f + ": a regex list may have at most " +
                        std::to_string(kMaxWarninglistRegexEntries) +
                        " entries");
  }
  list.entries.reserve(entries->size());
  for (size_t i = 0; i < entries->size(); ++i) {
    const auto& e = (*entries)[i];
    if (!e.is_string()) {
      return InvalidInput(f + ": entry " + std::to_string(i) +
                          " is not a string");
    }
    const auto& s = e.get_ref<const std::string&>();
    if (s.empty()) return EntryError(f, i, s, "empty");
    if (s.size() > kMaxWarninglistEntryBytes) {
      return EntryError(f, i, s,
                        "longer than " +
                            std::to_string(kMaxWarninglistEntryBytes) +
                            " bytes");
    }
    if (list.type == WarninglistType::kCidr && !ParseIpNetwork(s)) {
      return EntryError(f, i, s, "not an IP address or CIDR network");
    }
    if (list.type == WarninglistType::kRegex) {
      auto re = CompileRegex(s);
      if (!re.ok()) return EntryError(f, i, s, re.status().message());
    }
    list.entries.push_back(s);
  }

  list.applies_to = kAllTypes;
  if (auto it = doc.find("matching_attributes"); it != doc.end()) {
    if (!it->is_array()) {
      return InvalidInput(f + ": \"matching_attributes\" is not an array");
    }
    if (it->size() > kMaxWarninglistAttributes) {
      return InvalidInput(f + ": more than " +
                          std::to_string(kMaxWarninglistAttributes) +
                          " matching_attributes");
    }
    if (!it->empty()) list.applies_to = 0;
    for (const auto& a : *it) {
      if (!a.is_string() || a.get_ref<const std::string&>().size() > 128) {
        return InvalidInput(f +
                            ": \"matching_attributes\" holds a non-string or "
                            "over-long item");
      }
      const auto& name = a.get_ref<const std::string&>();
      list.matching_attributes.push_back(name);
      list.applies_to |= TypesForAttribute(name);
    }
  }
  return list;
}

Result<Warninglist> LoadWarninglistFile(const fs::path& path) {
  auto text = ReadBounded(path);
  if (!text.ok()) return text.status();
  return ParseWarninglist(*text, path.string());
}

struct WarninglistSet::Impl {
  HostnameMatch hostname = HostnameMatch::kExact;
  std::vector<CompiledList> lists;
  std::vector<std::string> problems;
  size_t entries = 0;
};

WarninglistSet::WarninglistSet() : impl_(std::make_unique<Impl>()) {}
WarninglistSet::~WarninglistSet() = default;
WarninglistSet::WarninglistSet(WarninglistSet&&) noexcept = default;
WarninglistSet& WarninglistSet::operator=(WarninglistSet&&) noexcept = default;

WarninglistSet WarninglistSet::Build(std::vector<Warninglist> lists,
                                     HostnameMatch hostname) {
  WarninglistSet set;
  set.impl_->hostname = hostname;
  for (auto& list : lists) {
    const std::string file = list.file;
    const std::string name = list.name;
    auto compiled = Compile(std::move(list));
    if (!compiled.ok()) {
      set.impl_->problems.push_back(file + ": list '" + name +
                                    "' skipped: " +
                                    compiled.status().message());
      continue;
    }
    set.impl_->entries += compiled->entries.size();
    set.impl_->lists.push_back(std::move(*compiled));
  }
  return set;
}

std::vector<WarninglistMatch> WarninglistSet::MatchAll(
    IndicatorType type, std::string_view value) const {
  std::vector<WarninglistMatch> out;
  for (const CompiledList& l : impl_->lists) {
    if ((l.applies_to & Bit(type)) == 0) continue;
    if (auto index = MatchList(l, type, value, impl_->hostname)) {
      out.push_back({l.name, l.entries[*index]});
    }
  }
  return out;
}

std::optional<WarninglistMatch> WarninglistSet::Match(
    IndicatorType type, std::string_view value) const {
  for (const CompiledList& l : impl_->lists) {
    if ((l.applies_to & Bit(type)) == 0) continue;
    if (auto index = MatchList(l, type, value, impl_->hostname)) {
      return WarninglistMatch{l.name, l.entries[*index]};
    }
  }
  return std::nullopt;
}

size_t WarninglistSet::list_count() const { return impl_->lists.size(); }
size_t WarninglistSet::entry_count() const { return impl_->entries; }
std::vector<std::string> WarninglistSet::list_names() const {
  std::vector<std::string> names;
  for (const auto& l : impl_->lists) names.push_back(l.name);
  return names;
}
const std::vector<std::string>& WarninglistSet::problems() const {
  return impl_->problems;
}

Result<std::shared_ptr<const WarninglistSet>> LoadWarninglistDir(
    const fs::path& dir, HostnameMatch hostname) {
  if (dir.empty()) return std::make_shared<const WarninglistSet>();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return NotFound("warninglists directory " + dir.string() +
                    " does not exist or is not a directory");
  }
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->path().extension() != ".json") continue;
    if (!it->is_regular_file(ec)) continue;
    files.push_back(it->path());
    if (files.size() > kMaxWarninglistFiles) {
      return InvalidInput("warninglists directory " + dir.string() +
                          " holds more than " +
                          std::to_string(kMaxWarninglistFiles) +
                          " *.json files");
    }
  }
  if (ec) {
    return Unavailable("warninglists directory " + dir.string() + ": " +
                       ec.message());
  }
  std::sort(files.begin(), files.end());
  std::vector<Warninglist> lists;
  std::string errors;
  for (const auto& path : files) {
    auto list = LoadWarninglistFile(path);
    if (!list.ok()) {
      errors += (errors.empty() ? "" : "\n") + list.status().message();
      continue;
    }
    lists.push_back(std::move(*list));
  }
  if (!errors.empty()) return InvalidInput(errors);
  auto set = WarninglistSet::Build(std::move(lists), hostname);
  if (!set.problems().empty()) {
    std::string all;
    for (const auto& p : set.problems()) all += (all.empty() ? "" : "\n") + p;
    return InvalidInput(all);
  }
  return std::make_shared<const WarninglistSet>(std::move(set));
}

}  // namespace caravan::protocol
