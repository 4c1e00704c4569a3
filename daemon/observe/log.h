#pragma once
// caravand's log: one line per event on stderr, each prefixed with its syslog
// priority in the sd-daemon(3) form (`<3>` error, `<4>` warning, `<5>` notice,
// `<6>` info, `<7>` debug), which journald turns into the entry's priority.
//
// Rules for callers:
// - Never log key material, passwords or other secrets. This API takes text
//   only; it deliberately has no overload for byte spans or arrays, and the
//   Log* helpers refuse byte containers at compile time. Log fingerprints,
//   never keys.
// - Text from peers, files or clients may be logged as is: control
//   characters, backslashes, invalid UTF-8 and C1 controls are escaped as
//   \xNN (and `\` as `\\`), so a crafted string cannot forge a log line or
//   drive a terminal. Each message is cut at kMaxLogMessageBytes.
//
// The threshold and the sink are process-wide state (logging is the one
// thing every part of the daemon reaches without being handed it). All
// functions are thread-safe: a line is written whole, by one write() under a
// mutex, so lines from different threads never interleave.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "protocol/config/node_config.h"

namespace caravan::daemon {

using LogLevel = protocol::LogLevel;

inline constexpr size_t kMaxLogMessageBytes = 8192;

// Where formatted lines go (each ends in '\n'). The default writes to fd 2.
using LogSink = void (*)(std::string_view line);

// Sets the threshold: messages less severe than `min` are dropped. Before
// LogInit the threshold is kInfo.
void LogInit(LogLevel min);

// Replaces the sink (tests); nullptr restores stderr.
void SetLogSink(LogSink sink);

// Whether a message at `level` would be written.
bool LogEnabled(LogLevel level);

// Writes `message` at `level` if enabled. Never fails (a sink error is
// ignored: there is nowhere left to report it).
void Log(LogLevel level, std::string_view message);

// Logs `prefix` + each line of `message` as a line of its own: for
// statuses that list several errors, one `file:line: reason` per line
// (joined by '\n', which Log would otherwise show as a literal \x0a).
void LogEachLine(LogLevel level, std::string_view prefix,
                 std::string_view message);

// The exact line Log would write: "<N>" + escaped, truncated message + "\n".
std::string FormatLogLine(LogLevel level, std::string_view message);

// `text` with control characters, `\`, C1 controls and invalid UTF-8 escaped.
std::string EscapeLogText(std::string_view text);

namespace log_internal {

template <typename T>
struct IsByteContainer : std::false_type {};
template <size_t N>
struct IsByteContainer<std::array<uint8_t, N>> : std::true_type {};
template <size_t N>
struct IsByteContainer<std::array<std::byte, N>> : std::true_type {};
template <>
struct IsByteContainer<std::vector<uint8_t>> : std::true_type {};
template <>
struct IsByteContainer<std::vector<std::byte>> : std::true_type {};
template <size_t N>
struct IsByteContainer<std::span<const uint8_t, N>> : std::true_type {};
template <size_t N>
struct IsByteContainer<std::span<uint8_t, N>> : std::true_type {};
template <size_t N>
struct IsByteContainer<std::span<const std::byte, N>> : std::true_type {};
template <size_t N>
struct IsByteContainer<std::span<std::byte, N>> : std::true_type {};

template <typename... Args>
void Write(LogLevel level, const Args&... args) {
  static_assert(
      (!IsByteContainer<std::remove_cvref_t<Args>>::value && ...),
      "do not log byte buffers: they may hold key material; log a "
      "fingerprint or a length instead");
  if (!LogEnabled(level)) return;
  std::ostringstream out;
  (out << ... << args);
  Log(level, out.str());
}

}  // namespace log_internal

// Each argument is streamed in turn: LogInfo("peer ", name, " connected").
template <typename... Args>
void LogDebug(const Args&... args) {
  log_internal::Write(LogLevel::kDebug, args...);
}
template <typename... Args>
void LogInfo(const Args&... args) {
  log_internal::Write(LogLevel::kInfo, args...);
}
template <typename... Args>
void LogNotice(const Args&... args) {
  log_internal::Write(LogLevel::kNotice, args...);
}
template <typename... Args>
void LogWarning(const Args&... args) {
  log_internal::Write(LogLevel::kWarning, args...);
}
template <typename... Args>
void LogError(const Args&... args) {
  log_internal::Write(LogLevel::kError, args...);
}

}  // namespace caravan::daemon
