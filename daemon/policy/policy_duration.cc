#include "daemon/policy/policy_duration.h"

#include <array>
#include <utility>

#include "daemon/policy/policy.h"

namespace caravan::policy {
namespace {

constexpr std::array<std::pair<char, int64_t>, 5> kUnits = {{
    {'w', 7 * 86400}, {'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}}};

}  // namespace

std::optional<int64_t> ParsePolicyDuration(std::string_view text) {
  if (text == "0") return 0;
  // At most 12 digits: enough for 100 years in seconds, and no overflow.
  if (text.size() < 2 || text.size() > 13) return std::nullopt;
  const char unit = text.back();
  int64_t scale = 0;
  for (const auto& [u, s] : kUnits) {
    if (u == unit) scale = s;
  }
  if (scale == 0) return std::nullopt;
  int64_t n = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n > kMaxPolicyDurationSeconds / scale) return std::nullopt;
  return n * scale;
}

std::string FormatPolicyDuration(int64_t seconds) {
  if (seconds <= 0) return "0";
  for (const auto& [u, s] : kUnits) {
    if (seconds % s == 0) return std::to_string(seconds / s) + u;
  }
  return std::to_string(seconds) + "s";  // unreachable: s == 1 divides all
}

}  // namespace caravan::policy
