#include "daemon/observe/log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>

namespace caravan::daemon {

namespace {

std::atomic<int> g_threshold{static_cast<int>(LogLevel::kInfo)};
std::atomic<LogSink> g_sink{nullptr};
std::mutex g_write_mutex;

void WriteStderr(std::string_view line) {
  while (!line.empty()) {
    ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    line.remove_prefix(static_cast<size_t>(n));
  }
}

constexpr char kHex[] = "0123456789abcdef";

void AppendEscapedByte(std::string& out, unsigned char c) {
  out += "\\x";
  out += kHex[c >> 4];
  out += kHex[c & 0xf];
}

// Length of the well-formed UTF-8 sequence at the start of `s` (RFC 3629:
// no overlongs, no surrogates, at most U+10FFFF), or 0.
size_t Utf8SequenceLength(std::string_view s, uint32_t& code_point) {
  auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char c = b(0);
  size_t len;
  uint32_t min;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2; min = 0x80; code_point = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3; min = 0x800; code_point = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4; min = 0x10000; code_point = c & 0x07;
  } else {
    return 0;
  }
  if (s.size() < len) return 0;
  for (size_t i = 1; i < len; ++i) {
    if ((b(i) & 0xc0) != 0x80) return 0;
    code_point = (code_point << 6) | (b(i) & 0x3f);
  }
  if (code_point < min || code_point > 0x10ffff ||
      (code_point >= 0xd800 && code_point <= 0xdfff)) {
    return 0;
  }
  return len;
}

}  // namespace

void LogInit(LogLevel min) {
  g_threshold.store(static_cast<int>(min), std::memory_order_relaxed);
}

void SetLogSink(LogSink sink) { g_sink.store(sink); }

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) <=
         g_threshold.load(std::memory_order_relaxed);
}

std::string EscapeLogText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) {
        AppendEscapedByte(out, c);
      } else if (c == '\\') {
        out += "\\\\";
      } else {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    uint32_t cp = 0;
    size_t len = Utf8SequenceLength(text.substr(i), cp);
    // C1 controls (U+0080..U+009F) include CSI, which terminals obey.
    if (len == 0 || (cp >= 0x80 && cp <= 0x9f)) {
      size_t n = len == 0 ? 1 : len;
      for (size_t k = 0; k < n; ++k) {
        AppendEscapedByte(out, static_cast<unsigned char>(text[i + k]));
      }
      i += n;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  return out;
}

std::string FormatLogLine(LogLevel level, std::string_view message) {
  bool truncated = message.size() > kMaxLogMessageBytes;
  if (truncated) message = message.substr(0, kMaxLogMessageBytes);
  std::string line = "<";
  line += static_cast<char>('0' + static_cast<int>(level));
  line += '>';
  // Cutting may split a UTF-8 sequence; the escaper then shows its bytes.
  line += EscapeLogText(message);
  if (truncated) line += " [truncated]";
  line += '\n';
  return line;
}

void Log(LogLevel level, std::string_view message) {
  if (!LogEnabled(level)) return;
  std::string line = FormatLogLine(level, message);
  LogSink sink = g_sink.load();
  std::lock_guard<std::mutex> lock(g_write_mutex);
  if (sink != nullptr) {
    sink(line);
  } else {
    WriteStderr(line);
  }
}

void LogEachLine(LogLevel level, std::string_view prefix,
                 std::string_view message) {
  size_t start = 0;
  do {
    size_t end = message.find('\n', start);
    if (end == std::string_view::npos) end = message.size();
    std::string line(prefix);
    line += message.substr(start, end - start);
    Log(level, line);
    start = end + 1;
  } while (start < message.size());
}

}  // namespace caravan::daemon
