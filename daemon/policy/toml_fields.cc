#include "daemon/policy/toml_fields.h"

#include <algorithm>

namespace caravan::policy::detail {
namespace {

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

}  // namespace

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

std::string Quote(std::string_view s) {
  // Appends rather than `"'" + std::string(s)`: GCC 12 -O2 misreports the
  // latter as -Wrestrict.
  std::string q;
  q.reserve(s.size() + 2);
  q.append("'").append(s).append("'");
  return q;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

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

}  // namespace caravan::policy::detail
