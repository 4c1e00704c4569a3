#include "tools/human_units.h"

#include <cstdio>

#include "protocol/time_text.h"

namespace caravan::tools {

std::string HumanBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB",
                                           "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes) / 1024.0;
  size_t unit = 0;
  // 1023.95 KiB would print as "1024.0 KiB": move up a unit before that.
  while (value >= 1023.95 && unit + 1 < std::size(kUnits)) {
    value /= 1024.0;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f %s", value, kUnits[unit]);
  return text;
}

std::string HumanDuration(int64_t seconds) {
  if (seconds < 0) seconds = 0;
  struct Unit {
    int64_t seconds;
    const char* name;
  };
  static constexpr Unit kUnits[] = {
      {86400, "d"}, {3600, "h"}, {60, "min"}, {1, "s"}};
  for (size_t i = 0; i < std::size(kUnits); ++i) {
    const int64_t whole = seconds / kUnits[i].seconds;
    if (whole == 0 && i + 1 < std::size(kUnits)) continue;
    std::string text = std::to_string(whole) + " " + kUnits[i].name;
    if (i + 1 < std::size(kUnits)) {
      const int64_t rest =
          (seconds % kUnits[i].seconds) / kUnits[i + 1].seconds;
      if (rest != 0) {
        text += " " + std::to_string(rest) + " " + kUnits[i + 1].name;
      }
    }
    return text;
  }
  return "0 s";
}

std::string HumanAge(int64_t then, int64_t now) {
  if (then == now) return "just now";
  if (then > now) return "in " + HumanDuration(then - now);
  return HumanDuration(now - then) + " ago";
}

std::string HumanAgeOfText(std::string_view rfc3339, int64_t now) {
  if (rfc3339.empty()) return "-";
  auto t = protocol::ParseTime(std::string(rfc3339), now);
  if (!t.ok()) return std::string(rfc3339);
  return HumanAge(*t, now);
}

}  // namespace caravan::tools
