#include "daemon/policy/policy_sections.h"

#include <algorithm>
#include <vector>

#include "daemon/policy/country_codes.h"
#include "daemon/policy/policy_duration.h"

namespace caravan::policy::detail {
namespace {

using protocol::Tlp;

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

}  // namespace

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

}  // namespace caravan::policy::detail
