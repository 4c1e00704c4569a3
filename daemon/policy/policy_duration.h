#pragma once
// Durations as policy files write them: "0", or a whole number and one
// unit: "90s", "15m", "2h", "30d", "1w". Kept separate from the config
// file's duration syntax because policy accepts "0" (no embargo) and
// nothing compound, which keeps the files easy to read at a glance.
//
// Pure functions; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace caravan::policy {

// Seconds for `text`; nullopt when it is not of the form above or exceeds
// kMaxPolicyDurationSeconds (100 years).
std::optional<int64_t> ParsePolicyDuration(std::string_view text);

// The largest single unit that divides `seconds` exactly: 7200 -> "2h",
// 0 -> "0". ParsePolicyDuration reads it back.
std::string FormatPolicyDuration(int64_t seconds);

}  // namespace caravan::policy
