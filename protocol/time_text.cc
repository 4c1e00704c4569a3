#include "protocol/time_text.h"

#include <algorithm>
#include <cstdio>
#include <limits>

namespace caravan::protocol {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Howard Hinnant's days_from_civil: days since 1970-01-01 of a proleptic
// Gregorian date, without going through the C library's time zone state.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30,
                                       31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at `pos`.
bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!IsDigit(s[pos + i])) return false;
    v = v * 10 + (s[pos + i] - '0');
  }
  *out = v;
  return true;
}

Status BadTime(std::string_view text, std::string_view why) {
  std::string shown(text.substr(0, 64));
  for (char& c : shown) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return InvalidInput("time '" + shown + "' " + std::string(why));
}

Result<int64_t> ParseRfc3339(std::string_view s) {
  int year, month, day;
  if (!Digits(s, 0, 4, &year) || s.size() < 10 || s[4] != '-' ||
      !Digits(s, 5, 2, &month) || s[7] != '-' || !Digits(s, 8, 2, &day)) {
    return BadTime(s, "is not RFC 3339 (expected YYYY-MM-DDTHH:MM:SSZ)");
  }
  if (year < 1970 || month < 1 || month > 12 || day < 1 ||
      static_cast<unsigned>(day) > DaysInMonth(year, month)) {
    return BadTime(s, "has an invalid date");
  }
  const int64_t days = DaysFromCivil(year, month, day);
  if (s.size() == 10) return days * 86400;
  const char sep = s[10];
  if (sep != 'T' && sep != 't' && sep != ' ') {
    return BadTime(s, "has no 'T' between date and time");
  }
  int hour, minute, second;
  if (!Digits(s, 11, 2, &hour) || s.size() < 19 || s[13] != ':' ||
      !Digits(s, 14, 2, &minute) || s[16] != ':' || !Digits(s, 17, 2, &second)) {
    return BadTime(s, "has an invalid time of day (expected HH:MM:SS)");
  }
  if (hour > 23 || minute > 59 || second > 60) {
    return BadTime(s, "has an out of range time of day");
  }
  if (second == 60) second = 59;  // leap second
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const size_t start = pos;
    while (pos < s.size() && IsDigit(s[pos])) ++pos;
    if (pos == start || pos - start > 9) {
      return BadTime(s, "has invalid fractional seconds");
    }
  }
  if (pos >= s.size()) {
    return BadTime(s, "has no time zone (add 'Z' or an offset like +02:00)");
  }
  int64_t offset = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh, om;
    if (!Digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() ||
        s[pos + 3] != ':' || !Digits(s, pos + 4, 2, &om) || oh > 23 ||
        om > 59) {
      return BadTime(s, "has an invalid UTC offset");
    }
    offset = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return BadTime(s, "has an invalid time zone");
  }
  if (pos != s.size()) return BadTime(s, "has trailing characters");
  const int64_t t = days * 86400 + hour * 3600 + minute * 60 + second - offset;
  if (t < 0) return BadTime(s, "is before 1970");
  return t;
}

}  // namespace

Result<int64_t> ParseDuration(std::string_view text) {
  if (text.empty()) return BadTime(text, "is empty");
  if (text.size() > 64) return BadTime(text, "is too long");
  int64_t total = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t start = pos;
    int64_t n = 0;
    while (pos < text.size() && IsDigit(text[pos])) {
      if (n > (std::numeric_limits<int64_t>::max() - 9) / 10) {
        return BadTime(text, "is too large");
      }
      n = n * 10 + (text[pos] - '0');
      ++pos;
    }
    if (pos == start || pos == text.size()) {
      return BadTime(text,
                     "is not a duration (expected a number and a unit "
                     "s, m, h, d or w, e.g. 30d)");
    }
    int64_t unit;
    switch (text[pos]) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      case 'w': unit = 7 * 86400; break;
      default:
        return BadTime(text, std::string("has an unknown unit '") +
                                 text[pos] + "' (use s, m, h, d or w)");
    }
    ++pos;
    if (n > (std::numeric_limits<int64_t>::max() - total) / unit) {
      return BadTime(text, "is too large");
    }
    total += n * unit;
  }
  return total;
}

Result<int64_t> ParseAbsoluteTime(std::string_view text) {
  if (text.empty()) return BadTime(text, "is empty");
  if (text.size() > 64) return BadTime(text, "is too long");
  if (text.size() <= 12 &&
      std::all_of(text.begin(), text.end(), IsDigit)) {
    int64_t v = 0;
    for (char c : text) v = v * 10 + (c - '0');
    return v;  // Unix seconds; 12 digits reach year 33658, no overflow
  }
  return ParseRfc3339(text);
}

Result<int64_t> ParseTime(std::string_view text, int64_t now) {
  if (!text.empty() && IsDigit(text.front()) && text.size() <= 64 &&
      !IsDigit(text.back())) {
    auto d = ParseDuration(text);
    if (d.ok()) {
      if (*d > now) return BadTime(text, "reaches back before 1970");
      return now - *d;
    }
    if (text.find('-') == std::string_view::npos) return d.status();
  }
  return ParseAbsoluteTime(text);
}

CivilTime ToCivilTime(int64_t t) {
  int64_t days = t / 86400;
  int64_t secs = t % 86400;
  if (secs < 0) {
    secs += 86400;
    --days;
  }
  CivilTime c{};
  CivilFromDays(days, &c.year, &c.month, &c.day);
  const auto s = static_cast<unsigned>(secs);
  c.hour = s / 3600;
  c.minute = s / 60 % 60;
  c.second = s % 60;
  return c;
}

std::string FormatTime(int64_t t) {
  const CivilTime c = ToCivilTime(t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02u:%02u:%02uZ",
                static_cast<long long>(c.year), c.month, c.day, c.hour,
                c.minute, c.second);
  return buf;
}

}  // namespace caravan::protocol
