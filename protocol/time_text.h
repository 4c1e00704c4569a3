#pragma once
// Times as people and files write them: RFC 3339 timestamps, Unix seconds,
// and relative durations ("30s", "15m", "2h", "30d", "1w", also combined
// "1h30m"). All results are Unix seconds UTC.
//
// Pure functions, thread-safe. Failures are InvalidInput naming the text.

#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/status.h"

namespace caravan::protocol {

// "30s", "15m", "2h", "30d", "1w" or a concatenation ("1d12h"). Units: s m h
// d w. On success the number of seconds (> 0 unless the text is "0s");
// fails on anything else, on an empty text and on overflow.
Result<int64_t> ParseDuration(std::string_view text);

// An absolute time: RFC 3339 ("2026-01-02T03:04:05Z", "...05.123+02:00",
// 't'/' ' separator and 'z' accepted, fractional seconds truncated; a leap
// second :60 counts as :59), a bare date "2026-01-02" (midnight UTC), or
// decimal Unix seconds. Years 1970..9999. Fails on anything else.
Result<int64_t> ParseAbsoluteTime(std::string_view text);

// ParseAbsoluteTime, or a relative duration meaning that long before `now`
// ("--since 2h" = the last two hours). Fails when neither parses or the
// result would be before 1970.
Result<int64_t> ParseTime(std::string_view text, int64_t now);

// The UTC calendar fields of a Unix time (proleptic Gregorian; negative
// times are before 1970). Shared by FormatTime and the STIX writer's fast
// path so both print the same date for the same second.
struct CivilTime {
  int64_t year;
  unsigned month;   // 1..12
  unsigned day;     // 1..31
  unsigned hour;    // 0..23
  unsigned minute;  // 0..59
  unsigned second;  // 0..59
};
CivilTime ToCivilTime(int64_t unix_seconds);

// "2026-01-02T03:04:05Z" (RFC 3339, UTC, whole seconds). Negative times are
// written as before 1970; never fails.
std::string FormatTime(int64_t unix_seconds);

}  // namespace caravan::protocol
