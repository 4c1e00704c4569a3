#pragma once
// Sizes, ages and durations for people reading tables ("12.3 MiB",
// "3 min ago"). `--json` never uses these: scripts get exact numbers and
// RFC 3339 times.
//
// Pure functions; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace caravan::tools {

// "0 B", "999 B", "1.0 KiB", "12.3 MiB", ... up to EiB (binary units).
std::string HumanBytes(uint64_t bytes);

// "45 s", "3 min", "2 h 5 min", "3 d 4 h": the two largest units, rounded
// down; negative durations are shown as 0 s.
std::string HumanDuration(int64_t seconds);

// How long before `now` the time `then` was: "just now" (under 1 s),
// "12 s ago", "3 min ago", "2 h 5 min ago"; a time after `now` is
// "in 3 min".
std::string HumanAge(int64_t then, int64_t now);

// The same from an RFC 3339 text as the daemon writes it; "-" for a null
// or empty time, the text itself if it does not parse.
std::string HumanAgeOfText(std::string_view rfc3339, int64_t now);

}  // namespace caravan::tools
