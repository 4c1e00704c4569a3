#include "daemon/policy/policy_loader.h"

#include <algorithm>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "daemon/policy/country_codes.h"
#include "daemon/policy/policy_duration.h"

namespace caravan::policy {
namespace {

using protocol::IndicatorType;
using protocol::Reshare;
using protocol::Tlp;

// All errors of one load. Reported sorted by file, then line, so that an
// operator reads them in the order of the files.
class Errors {
 public:
  void Add(std::string_view file, int line, std::string_view reason) {
    entries_.push_back({std::string(file), line < 1 ? 1 : line,
                        std::string(reason)});
  }
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  std::string Join() const {
    std::vector<Entry> sorted = entries_;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const Entry& a, const Entry& b) {
                       return std::tie(a.file, a.line) <
                              std::tie(b.file, b.line);
                     });
    std::string out;
    for (const auto& e : sorted) {
      if (!out.empty()) out += '\n';
      out += e.file + ":" + std::to_string(e.line) + ": " + e.reason;
    }
    return out;
  }

 private:
  struct Entry {
    std::string file;
    int line;
    std::string reason;
  };
  std::vector<Entry> entries_;
};

int LineOf(const toml::node& n) {
  return static_cast<int>(n.source().begin.line);
}

std::string_view KindName(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1,
                         prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

// Reports keys of `table` outside `allowed`, suggesting a near miss.
void CheckKeys(const toml::table& table,
               std::initializer_list<std::string_view> allowed,
               std::string_view where, std::string_view file, Errors& errors) {
  for (auto&& [key, value] : table) {
    const std::string_view k = key.str();
    if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
    std::string msg = "unknown key " + Quote(k) + " " + std::string(where);
    std::string_view best;
    size_t best_distance = 3;
    for (std::string_view a : allowed) {
      const size_t d = EditDistance(k, a);
      if (d < best_distance) {
        best_distance = d;
        best = a;
      }
    }
    if (!best.empty()) msg += "; did you mean " + Quote(best) + "?";
    const int line = key.source().begin.line > 0
                         ? static_cast<int>(key.source().begin.line)
                         : LineOf(value);
    errors.Add(file, line, msg);
  }
}

struct LineString {
  std::string value;
  int line = 0;
};

// Typed access to the keys of one table, recording the line of each key
// present into the file's key_lines and reporting wrong types.
class TableReader {
 public:
  // `section` is "outbound", "inbound" or "" for the top level.
  TableReader(const toml::table& table, std::string section,
              std::string_view file, Errors& errors, PolicyFile* record)
      : table_(table), section_(std::move(section)), file_(file),
        errors_(errors), record_(record) {}

  std::string_view file() const { return file_; }
  Errors& errors() { return errors_; }

  // "'share' in [outbound]" / "'applies_to'".
  std::string Name(std::string_view key) const {
    std::string n = Quote(key);
    if (!section_.empty()) n += " in [" + section_ + "]";
    return n;
  }

  void Error(int line, std::string_view reason) {
    errors_.Add(file_, line, reason);
  }

  const toml::node* Get(std::string_view key) {
    const toml::node* n = table_.get(key);
    if (n != nullptr && record_ != nullptr) {
      const std::string full =
          section_.empty() ? std::string(key) : section_ + "." + std::string(key);
      record_->key_lines[full] = LineOf(*n);
    }
    return n;
  }

  void TypeError(std::string_view key, const toml::node& n,
                 std::string_view expected) {
    Error(LineOf(n), Name(key) + " must be " + std::string(expected) +
                         ", not " + std::string(KindName(n)));
  }

  std::optional<bool> Bool(std::string_view key) {
    const toml::node* n = Get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_boolean()) {
      TypeError(key, *n, "true or false");
      return std::nullopt;
    }
    return n->as_boolean()->get();
  }

  // An integer in [lo, hi].
  std::optional<int64_t> Int(std::string_view key, int64_t lo, int64_t hi) {
    const toml::node* n = Get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_integer()) {
      TypeError(key, *n, "an integer");
      return std::nullopt;
    }
    const int64_t v = n->as_integer()->get();
    if (v < lo || v > hi) {
      Error(LineOf(*n), Name(key) + " is " + std::to_string(v) +
                            ", out of range " + std::to_string(lo) + ".." +
                            std::to_string(hi));
      return std::nullopt;
    }
    return v;
  }

  std::optional<LineString> String(std::string_view key) {
    const toml::node* n = Get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_string()) {
      TypeError(key, *n, "a string");
      return std::nullopt;
    }
    return LineString{n->as_string()->get(), LineOf(*n)};
  }

  // An array of strings; nullopt (with errors reported) on any non-string.
  std::optional<std::vector<LineString>> StringArray(std::string_view key) {
    const toml::node* n = Get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_array()) {
      TypeError(key, *n, "an array of strings");
      return std::nullopt;
    }
    std::vector<LineString> out;
    bool ok = true;
    for (const toml::node& e : *n->as_array()) {
      if (!e.is_string()) {
        Error(LineOf(e), "every entry of " + Name(key) +
                             " must be a string, not " +
                             std::string(KindName(e)));
        ok = false;
        continue;
      }
      out.push_back({e.as_string()->get(), LineOf(e)});
    }
    if (!ok) return std::nullopt;
    return out;
  }

  // The table's own line, for errors about the table as a whole.
  int line() const { return LineOf(table_); }

 private:
  const toml::table& table_;
  std::string section_;
  std::string_view file_;
  Errors& errors_;
  PolicyFile* record_;
};

std::optional<Tlp> ReadTlp(TableReader& r, std::string_view key,
                           bool allow_red) {
  auto s = r.String(key);
  if (!s) return std::nullopt;
  auto tlp = protocol::ParseTlpName(s->value);
  if (!tlp) {
    r.Error(s->line, "unknown TLP " + Quote(s->value) + " for " + r.Name(key) +
                         " (one of clear, green, amber, amber+strict" +
                         (allow_red ? ", red)" : ")"));
    return std::nullopt;
  }
  if (*tlp == Tlp::kRed && !allow_red) {
    r.Error(s->line, r.Name(key) +
                         " cannot be 'red': TLP:RED never leaves "
                         "automatically; the highest is 'amber+strict'");
    return std::nullopt;
  }
  return tlp;
}

std::optional<TypeSet> ReadTypes(TableReader& r, std::string_view key) {
  auto list = r.StringArray(key);
  if (!list) return std::nullopt;
  TypeSet set{};
  bool ok = true;
  for (const auto& s : *list) {
    auto t = protocol::ParseTypeName(s.value);
    if (!t) {
      r.Error(s.line, "unknown indicator type " + Quote(s.value) + " in " +
                          r.Name(key) +
                          " (one of ipv4, ipv6, domain, url, email, md5, "
                          "sha1, sha256, cve, asn)");
      ok = false;
      continue;
    }
    const size_t i = static_cast<size_t>(*t);
    if (set[i]) {
      r.Error(s.line, Quote(s.value) + " is listed twice in " + r.Name(key));
      ok = false;
    }
    set[i] = true;
  }
  if (!ok) return std::nullopt;
  if (list->empty()) {
    const toml::node* n = r.Get(key);
    r.Error(n ? LineOf(*n) : r.line(),
            r.Name(key) +
                " is empty, which would let nothing through; remove it to "
                "allow every type, or switch the direction off");
    return std::nullopt;
  }
  return set;
}

std::optional<std::vector<std::string>> ReadTags(TableReader& r,
                                                 std::string_view key) {
  auto list = r.StringArray(key);
  if (!list) return std::nullopt;
  std::vector<std::string> out;
  bool ok = true;
  for (const auto& s : *list) {
    if (s.value.empty() || s.value.size() > protocol::kMaxTagBytes) {
      r.Error(s.line, "a tag in " + r.Name(key) + " must be 1.." +
                          std::to_string(protocol::kMaxTagBytes) + " bytes");
      ok = false;
      continue;
    }
    std::string lower = s.value;
    for (char& c : lower) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    if (std::find(out.begin(), out.end(), lower) != out.end()) {
      r.Error(s.line, Quote(s.value) + " is listed twice in " + r.Name(key));
      ok = false;
      continue;
    }
    out.push_back(std::move(lower));
  }
  if (!ok) return std::nullopt;
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<int64_t> ReadDuration(TableReader& r, std::string_view key,
                                    bool allow_zero) {
  const toml::node* n = r.Get(key);
  if (n == nullptr) return std::nullopt;
  std::optional<int64_t> seconds;
  std::string shown;
  if (n->is_integer() && n->as_integer()->get() == 0) {
    seconds = 0;
    shown = "0";
  } else if (n->is_string()) {
    shown = n->as_string()->get();
    seconds = ParsePolicyDuration(shown);
    if (!seconds) {
      r.Error(LineOf(*n),
              "bad duration " + Quote(shown) + " for " + r.Name(key) +
                  ": write a whole number and a unit s, m, h, d or w "
                  "(\"2h\", \"30d\"), or \"0\"; at most 100 years");
      return std::nullopt;
    }
  } else {
    r.TypeError(key, *n, "a duration string such as \"2h\" or \"30d\"");
    return std::nullopt;
  }
  if (*seconds == 0 && !allow_zero) {
    r.Error(LineOf(*n), r.Name(key) +
                            " must be longer than 0; remove it to keep "
                            "indicators without a time limit");
    return std::nullopt;
  }
  return seconds;
}

OutboundRules ReadOutbound(TableReader& r) {
  OutboundRules o;
  if (auto v = r.Bool("share")) o.share = *v;
  if (auto v = ReadTlp(r, "max_tlp", /*allow_red=*/false)) o.max_tlp = *v;
  if (auto v = ReadTypes(r, "types")) o.types = *v;
  if (auto v = r.Int("min_confidence", 0, 100)) {
    o.min_confidence = static_cast<uint8_t>(*v);
  }
  if (auto v = ReadTags(r, "exclude_tags")) o.exclude_tags = std::move(*v);
  if (auto v = ReadTags(r, "require_tags")) o.require_tags = std::move(*v);
  for (const auto& t : o.require_tags) {
    if (std::binary_search(o.exclude_tags.begin(), o.exclude_tags.end(), t)) {
      r.Error(r.Get("require_tags") ? LineOf(*r.Get("require_tags")) : r.line(),
              "tag " + Quote(t) +
                  " is both required and excluded in [outbound], so nothing "
                  "could be shared");
    }
  }
  if (auto list = r.StringArray("redact")) {
    for (const auto& s : *list) {
      auto f = ParseRedactField(s.value);
      if (!f) {
        r.Error(s.line, "unknown field " + Quote(s.value) + " in " +
                            r.Name("redact") +
                            " (one of description, tags, first_seen, "
                            "last_seen, valid_until)");
        continue;
      }
      if (std::find(o.redact.begin(), o.redact.end(), *f) != o.redact.end()) {
        r.Error(s.line, Quote(s.value) + " is listed twice in " +
                            r.Name("redact"));
        continue;
      }
      o.redact.push_back(*f);
    }
    std::sort(o.redact.begin(), o.redact.end());
  }
  if (auto v = ReadDuration(r, "embargo", /*allow_zero=*/true)) o.embargo = *v;
  if (auto s = r.String("reshare")) {
    auto v = protocol::ParseReshareName(s->value);
    if (!v) {
      r.Error(s->line, r.Name("reshare") + " is " + Quote(s->value) +
                           "; it must be none, direct or federation");
    } else {
      o.reshare = *v;
    }
  }
  if (const toml::node* n = r.Get("max_per_day")) {
    if (n->is_integer() && n->as_integer()->get() < 1) {
      r.Error(LineOf(*n),
              r.Name("max_per_day") + " is " +
                  std::to_string(n->as_integer()->get()) +
                  "; a daily quota must be at least 1 (use share = false "
                  "to send nothing)");
    } else if (auto v = r.Int("max_per_day", 1, INT64_MAX)) {
      o.max_per_day = static_cast<uint64_t>(*v);
    }
  }
  return o;
}

InboundRules ReadInbound(TableReader& r) {
  InboundRules in;
  if (auto v = r.Bool("accept")) in.accept = *v;
  if (auto v = ReadTlp(r, "max_tlp", /*allow_red=*/true)) in.max_tlp = *v;
  if (auto v = ReadTypes(r, "types")) in.types = *v;
  if (auto v = r.Int("min_confidence", 0, 100)) {
    in.min_confidence = static_cast<uint8_t>(*v);
  }
  if (auto v = ReadDuration(r, "retention", /*allow_zero=*/false)) {
    in.retention = *v;
  }
  if (auto v = r.Bool("quarantine")) in.quarantine = *v;
  if (auto v = r.Bool("accept_relayed")) in.accept_relayed = *v;
  return in;
}

// Reads [outbound] and [inbound] of a default or scope file.
void ReadDirections(const toml::table& root, std::string_view file,
                    Errors& errors, PolicyFile& out) {
  if (const toml::node* n = root.get("outbound")) {
    out.key_lines["outbound"] = LineOf(*n);
    if (!n->is_table()) {
      errors.Add(file, LineOf(*n), "'outbound' must be a table ([outbound]), not " +
                                       std::string(KindName(*n)));
    } else {
      const toml::table& t = *n->as_table();
      CheckKeys(t,
                {"share", "max_tlp", "types", "min_confidence", "exclude_tags",
                 "require_tags", "redact", "embargo", "reshare", "max_per_day"},
                "in [outbound]", file, errors);
      TableReader r(t, "outbound", file, errors, &out);
      out.outbound = ReadOutbound(r);
    }
  }
  if (const toml::node* n = root.get("inbound")) {
    out.key_lines["inbound"] = LineOf(*n);
    if (!n->is_table()) {
      errors.Add(file, LineOf(*n), "'inbound' must be a table ([inbound]), not " +
                                       std::string(KindName(*n)));
    } else {
      const toml::table& t = *n->as_table();
      CheckKeys(t,
                {"accept", "max_tlp", "types", "min_confidence", "retention",
                 "quarantine", "accept_relayed"},
                "in [inbound]", file, errors);
      TableReader r(t, "inbound", file, errors, &out);
      out.inbound = ReadInbound(r);
    }
  }
}

bool IsGroupName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  if (!(name[0] >= 'a' && name[0] <= 'z')) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// A country code in a list: the reason it is not acceptable, or "".
std::string CountryError(std::string_view code) {
  if (IsAssignedCountryCode(code)) return "";
  bool two_letters = code.size() == 2;
  for (char c : code) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) {
      two_letters = false;
    }
  }
  if (two_letters) {
    const std::string upper = Upper(code);
    if (upper != code && IsAssignedCountryCode(upper)) {
      return "country codes are upper case: write " + Quote(upper);
    }
  }
  return Quote(code) + " is not an assigned ISO 3166-1 alpha-2 country code";
}

void ReadGroups(const toml::table& root, std::string_view file, Errors& errors,
                PolicySet& set) {
  CheckKeys(root, {"groups"}, "at the top level of groups.toml", file, errors);
  const toml::node* n = root.get("groups");
  if (n == nullptr) return;
  if (!n->is_table()) {
    errors.Add(file, LineOf(*n),
               "'groups' must be a table ([groups]), not " +
                   std::string(KindName(*n)));
    return;
  }
  for (auto&& [key, value] : *n->as_table()) {
    const std::string name(key.str());
    const int key_line = key.source().begin.line > 0
                             ? static_cast<int>(key.source().begin.line)
                             : LineOf(value);
    if (!IsGroupName(name)) {
      errors.Add(file, key_line,
                 "group name " + Quote(name) +
                     " must be 1..64 of a-z, 0-9, '-', '_' starting with a "
                     "letter (lower case keeps it apart from country codes)");
      continue;
    }
    if (!value.is_array()) {
      errors.Add(file, LineOf(value),
                 "group " + Quote(name) + " must be an array of country codes, not " +
                     std::string(KindName(value)));
      continue;
    }
    std::vector<std::string> members;
    for (const toml::node& e : *value.as_array()) {
      if (!e.is_string()) {
        errors.Add(file, LineOf(e),
                   "every member of group " + Quote(name) +
                       " must be a country code string, not " +
                       std::string(KindName(e)));
        continue;
      }
      const std::string code = e.as_string()->get();
      if (std::string why = CountryError(code); !why.empty()) {
        errors.Add(file, LineOf(e), "in group " + Quote(name) + ": " + why);
        continue;
      }
      if (std::find(members.begin(), members.end(), code) != members.end()) {
        errors.Add(file, LineOf(e),
                   Quote(code) + " is listed twice in group " + Quote(name));
        continue;
      }
      members.push_back(code);
    }
    std::sort(members.begin(), members.end());
    set.groups[name] = std::move(members);
  }
}

std::optional<std::string> ReadDomainSuffix(std::string_view text,
                                            std::string* why) {
  std::string s(text);
  for (char& c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      *why = "write internationalized suffixes as A-labels (xn--...)";
      return std::nullopt;
    }
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (s.empty() || s.size() > 253) {
    *why = "must be 1..253 characters";
    return std::nullopt;
  }
  if (s.front() == '.' || s.back() == '.') {
    *why = "write it without a leading or trailing dot ('gov.uz' already "
           "covers every name under it)";
    return std::nullopt;
  }
  size_t label = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '.') {
      if (label == 0 || label > 63) {
        *why = "every label must be 1..63 characters";
        return std::nullopt;
      }
      if (s[i - 1] == '-' || s[i - label] == '-') {
        *why = "a label cannot start or end with '-'";
        return std::nullopt;
      }
      label = 0;
      continue;
    }
    const char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_')) {
      *why = "may hold only letters, digits, '-', '_' and dots";
      return std::nullopt;
    }
    ++label;
  }
  return s;
}

void ReadProtected(const toml::table& root, std::string_view file,
                   Errors& errors, ProtectedAssets& out) {
  CheckKeys(root, {"cidrs", "domain_suffixes", "asns"},
            "in protected.toml (expected cidrs, domain_suffixes, asns)", file,
            errors);
  TableReader r(root, "", file, errors, nullptr);
  if (auto list = r.StringArray("cidrs")) {
    for (const auto& s : *list) {
      auto net = protocol::ParseIpNetwork(s.value);
      if (!net) {
        errors.Add(file, s.line,
                   "bad CIDR " + Quote(s.value) +
                       " in 'cidrs' (an IPv4 or IPv6 address or network, "
                       "e.g. \"195.158.0.0/16\")");
        continue;
      }
      out.cidrs.push_back({*net, s.line});
    }
  }
  if (auto list = r.StringArray("domain_suffixes")) {
    for (const auto& s : *list) {
      std::string why;
      auto suffix = ReadDomainSuffix(s.value, &why);
      if (!suffix) {
        errors.Add(file, s.line,
                   "bad domain suffix " + Quote(s.value) + ": " + why);
        continue;
      }
      out.domain_suffixes.push_back({*suffix, s.line});
    }
  }
  if (const toml::node* n = root.get("asns")) {
    if (!n->is_array()) {
      r.TypeError("asns", *n, "an array of AS numbers");
    } else {
      for (const toml::node& e : *n->as_array()) {
        if (!e.is_integer() || e.as_integer()->get() < 1 ||
            e.as_integer()->get() > 4294967295LL) {
          errors.Add(file, LineOf(e),
                     "every entry of 'asns' must be an AS number 1..4294967295 "
                     "written as an integer (8193, not \"AS8193\")");
          continue;
        }
        out.asns.push_back(
            {static_cast<uint32_t>(e.as_integer()->get()), LineOf(e)});
      }
    }
  }
}

struct Claim {
  size_t file = 0;  // index into PolicySet::scopes
  int line = 0;
};

// applies_to of scope file `index`: validated, recorded in the claim maps.
void ReadAppliesTo(const toml::table& root, size_t index, bool groups_known,
                   Errors& errors, PolicySet& set,
                   std::map<std::string, Claim>& countries,
                   std::map<std::string, Claim>& groups) {
  PolicyFile& pf = set.scopes[index];
  const std::string_view file = pf.name;
  TableReader r(root, "", file, errors, &pf);
  const toml::node* n = root.get("applies_to");
  if (n == nullptr) {
    errors.Add(file, 1,
               "missing 'applies_to': a scope file names the countries "
               "(\"KZ\") or groups it applies to; settings for everyone else "
               "belong in default.toml");
    return;
  }
  auto list = r.StringArray("applies_to");
  if (!list) return;
  if (list->empty()) {
    errors.Add(file, LineOf(*n), "'applies_to' is empty: the file would apply to nobody");
    return;
  }
  for (const auto& s : *list) {
    if (std::find(pf.applies_to.begin(), pf.applies_to.end(), s.value) !=
        pf.applies_to.end()) {
      errors.Add(file, s.line, Quote(s.value) + " is listed twice in 'applies_to'");
      continue;
    }
    const bool looks_like_country =
        s.value.size() == 2 && s.value[0] >= 'A' && s.value[0] <= 'Z';
    if (looks_like_country || !IsGroupName(s.value)) {
      if (std::string why = CountryError(s.value); !why.empty()) {
        errors.Add(file, s.line, "in 'applies_to': " + why);
        continue;
      }
      auto [it, fresh] = countries.try_emplace(s.value, Claim{index, s.line});
      if (!fresh) {
        errors.Add(file, s.line,
                   s.value + " already has a country file, " +
                       set.scopes[it->second.file].name + " (line " +
                       std::to_string(it->second.line) +
                       "); a country may be named by only one file");
        continue;
      }
    } else {
      if (groups_known && set.groups.find(s.value) == set.groups.end()) {
        std::vector<std::string> known;
        for (const auto& [g, members] : set.groups) known.push_back(g);
        std::string msg = "'applies_to' names unknown group " + Quote(s.value);
        msg += known.empty() ? " (groups.toml defines no groups)"
                             : " (groups.toml defines: " + JoinNames(known) + ")";
        if (IsAssignedCountryCode(Upper(s.value))) {
          msg += "; country codes are upper case: " + Quote(Upper(s.value));
        }
        errors.Add(file, s.line, msg);
        continue;
      }
      auto [it, fresh] = groups.try_emplace(s.value, Claim{index, s.line});
      if (!fresh) {
        errors.Add(file, s.line,
                   "group " + Quote(s.value) + " is already applied by " +
                       set.scopes[it->second.file].name + " (line " +
                       std::to_string(it->second.line) +
                       "); a group may be named by only one file");
        continue;
      }
    }
    pf.applies_to.push_back(s.value);
  }
}

// Builds country_files and group_files. A country that two group files
// claim is ambiguous unless its own file settles it, i.e. has both tables
// (a direction missing from a country file falls through to the group).
void Resolve(const std::map<std::string, Claim>& countries,
             const std::map<std::string, Claim>& groups, Errors& errors,
             PolicySet& set) {
  for (const auto& [country, claim] : countries) {
    set.country_files[country] = claim.file;
  }
  struct GroupClaim {
    size_t file;
    std::string group;
    int line;
  };
  std::map<std::string, std::vector<GroupClaim>> via_groups;
  for (const auto& [group, claim] : groups) {
    auto g = set.groups.find(group);
    if (g == set.groups.end()) continue;
    for (const auto& country : g->second) {
      via_groups[country].push_back({claim.file, group, claim.line});
    }
  }
  for (auto& [country, claims] : via_groups) {
    std::sort(claims.begin(), claims.end(),
              [](const GroupClaim& a, const GroupClaim& b) {
                return std::tie(a.file, a.group) < std::tie(b.file, b.group);
              });
    const GroupClaim& first = claims.front();
    const PolicyFile* own = nullptr;
    if (auto it = set.country_files.find(country); it != set.country_files.end()) {
      own = &set.scopes[it->second];
    }
    bool conflict = false;
    for (const auto& c : claims) {
      if (c.file == first.file) continue;
      conflict = true;
      const std::string both = set.scopes[first.file].name + " (group " +
                               first.group + ") and " + set.scopes[c.file].name +
                               " (group " + c.group + ")";
      if (own == nullptr) {
        errors.Add(set.scopes[c.file].name, c.line,
                   country + " is claimed by two group files: " + both +
                       "; add a country file for " + country +
                       " or take it out of one group");
      } else if (!own->outbound || !own->inbound) {
        errors.Add(own->name, 1,
                   own->name + " has no [" +
                       std::string(own->outbound ? "inbound" : "outbound") +
                       "] table, so for " + country +
                       " it would fall through to a group file, but two "
                       "claim it: " + both + "; add the table");
      }
    }
    if (!conflict) set.group_files[country] = {first.file, first.group};
  }
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.substr(s.size() - suffix.size()) == suffix;
}

// The whole load. `errors` may already hold errors of files that could not
// be read; `unreadable` names them, so they are not also reported missing.
Result<PolicySet> Load(const std::map<std::string, std::string>& files,
                       Errors errors, const std::set<std::string>& unreadable) {
  std::map<std::string, toml::table, std::less<>> parsed;
  size_t count = 0;
  for (const auto& [name, content] : files) {
    if (!EndsWith(name, ".toml")) continue;
    if (++count > kMaxPolicyFiles) {
      errors.Add(name, 1, "too many policy files (at most " +
                              std::to_string(kMaxPolicyFiles) + ")");
      break;
    }
    if (content.size() > kMaxPolicyFileBytes) {
      errors.Add(name, 1, "file is larger than 1 MiB");
      continue;
    }
    try {
      parsed.emplace(name, toml::parse(content, name));
    } catch (const toml::parse_error& e) {
      // toml++ reports syntax errors by exception; this is the one place
      // they become errors of the set.
      errors.Add(name, static_cast<int>(e.source().begin.line),
                 "TOML syntax error: " + std::string(e.description()));
    }
  }

  PolicySet set;
  set.default_file.name = std::string(kDefaultFile);

  // Until groups.toml reads cleanly, "unknown group" would only repeat its
  // errors, so scope files are not checked against the group names.
  bool groups_known = files.count(std::string(kGroupsFile)) == 0;
  if (auto it = parsed.find(kGroupsFile); it != parsed.end()) {
    const size_t before = errors.size();
    ReadGroups(it->second, it->first, errors, set);
    groups_known = errors.size() == before;
  }
  if (auto it = parsed.find(kProtectedFile); it != parsed.end()) {
    ReadProtected(it->second, it->first, errors, set.protected_assets);
  }
  if (auto it = parsed.find(kDefaultFile); it != parsed.end()) {
    const toml::table& root = it->second;
    if (const toml::node* a = root.get("applies_to")) {
      errors.Add(kDefaultFile, LineOf(*a),
                 "default.toml cannot have 'applies_to': it applies to every "
                 "country no other file names");
    }
    CheckKeys(root, {"outbound", "inbound", "applies_to"},
              "at the top level (expected [outbound] and [inbound])",
              kDefaultFile, errors);
    ReadDirections(root, kDefaultFile, errors, set.default_file);
  } else if (files.count(std::string(kDefaultFile)) == 0 &&
             unreadable.count(std::string(kDefaultFile)) == 0) {
    errors.Add(kDefaultFile, 1,
               "missing: every policy directory needs a default.toml (the "
               "policy for countries no other file names; `caravan init` "
               "writes one)");
  }
  if (!set.default_file.outbound) set.default_file.outbound = OutboundRules{};
  if (!set.default_file.inbound) set.default_file.inbound = InboundRules{};

  std::map<std::string, Claim> country_claims;
  std::map<std::string, Claim> group_claims;
  for (const auto& [name, root] : parsed) {
    if (name == kDefaultFile || name == kProtectedFile || name == kGroupsFile) {
      continue;
    }
    const size_t index = set.scopes.size();
    set.scopes.push_back(PolicyFile{});
    set.scopes.back().name = name;
    CheckKeys(root, {"applies_to", "outbound", "inbound"}, "at the top level",
              name, errors);
    ReadAppliesTo(root, index, groups_known, errors, set, country_claims,
                  group_claims);
    ReadDirections(root, name, errors, set.scopes[index]);
  }
  Resolve(country_claims, group_claims, errors, set);

  if (!errors.empty()) return InvalidInput(errors.Join());
  return set;
}

}  // namespace

Result<PolicySet> LoadPolicyText(
    const std::map<std::string, std::string>& files) {
  return Load(files, Errors(), {});
}

Result<PolicySet> LoadPolicyDir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) {
    return Unavailable("policy directory " + dir.string() + ": " + ec.message());
  }
  std::map<std::string, std::string> files;
  std::set<std::string> unreadable;
  Errors errors;
  size_t count = 0;
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    if (!EndsWith(name, ".toml") || !entry.is_regular_file(ec)) continue;
    if (++count > kMaxPolicyFiles) {
      return InvalidInput(dir.string() + ": more than " +
                          std::to_string(kMaxPolicyFiles) + " *.toml files");
    }
    const auto size = entry.file_size(ec);
    if (ec) {
      errors.Add(name, 1, "cannot read: " + ec.message());
      unreadable.insert(name);
      continue;
    }
    if (size > kMaxPolicyFileBytes) {
      errors.Add(name, 1, "file is larger than 1 MiB");
      unreadable.insert(name);
      continue;
    }
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    if (!in) {
      errors.Add(name, 1, "cannot read the file");
      unreadable.insert(name);
      continue;
    }
    files.emplace(name, content.str());
  }
  return Load(files, std::move(errors), unreadable);
}

}  // namespace caravan::policy
