#include "protocol/config/node_config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <toml++/toml.h>
#include <utility>
#include <vector>

namespace caravan::protocol {

namespace fs = std::filesystem;

// ---- HostPort ---------------------------------------------------------------

std::string HostPort::ToString() const {
  std::string out;
  if (host.find(':') != std::string::npos) {
    out = "[" + host + "]";
  } else {
    out = host;
  }
  return out + ":" + std::to_string(port);
}

namespace {

constexpr size_t kMaxHostPortText = 300;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// RFC 1123 host names: dot-separated labels of letters, digits and hyphens,
// 1..63 bytes each, no hyphen at either end, 253 bytes in all. A trailing dot
// (fully qualified) is accepted.
bool IsHostname(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty() || host.size() > 253) return false;
  size_t start = 0;
  while (start <= host.size()) {
    size_t dot = host.find('.', start);
    if (dot == std::string_view::npos) dot = host.size();
    std::string_view label = host.substr(start, dot - start);
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!IsAlpha(c) && !IsDigit(c) && c != '-') return false;
    }
    start = dot + 1;
    if (dot == host.size()) break;
  }
  return true;
}

Result<uint16_t> ParsePort(std::string_view text, std::string_view whole) {
  if (text.empty()) {
    return InvalidInput("'" + std::string(whole) + "' has no port after ':'");
  }
  if (text.size() > 5 || !std::all_of(text.begin(), text.end(), IsDigit)) {
    return InvalidInput("port '" + std::string(text) +
                        "' is not a number in 1..65535");
  }
  unsigned value = 0;
  for (char c : text) value = value * 10 + static_cast<unsigned>(c - '0');
  if (value < 1 || value > 65535) {
    return InvalidInput("port " + std::string(text) +
                        " is out of range 1..65535");
  }
  return static_cast<uint16_t>(value);
}

}  // namespace

Result<HostPort> ParseHostPort(std::string_view text) {
  if (text.empty()) return InvalidInput("empty address, expected HOST:PORT");
  if (text.size() > kMaxHostPortText) {
    return InvalidInput("address is longer than " +
                        std::to_string(kMaxHostPortText) + " characters");
  }
  const std::string quoted = "'" + std::string(text) + "'";
  HostPort out;
  std::string_view port_text;
  if (text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return InvalidInput(quoted + " has '[' without ']'");
    }
    std::string host(text.substr(1, close - 1));
    in6_addr addr6{};
    if (inet_pton(AF_INET6, host.c_str(), &addr6) != 1) {
      return InvalidInput(quoted + ": '" + host + "' is not an IPv6 address");
    }
    if (close + 1 >= text.size() || text[close + 1] != ':') {
      return InvalidInput(quoted + " has no ':PORT' after ']'");
    }
    out.host = std::move(host);
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return InvalidInput(quoted + " has no port; expected HOST:PORT");
    }
    std::string_view host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos) {
      return InvalidInput(quoted +
                          ": an IPv6 address must be in brackets, "
                          "as in [2001:db8::1]:7420");
    }
    if (host.empty()) return InvalidInput(quoted + " has no host before ':'");
    bool dotted_numbers = std::all_of(host.begin(), host.end(), [](char c) {
      return IsDigit(c) || c == '.';
    });
    if (dotted_numbers) {
      in_addr addr4{};
      std::string h(host);
      if (inet_pton(AF_INET, h.c_str(), &addr4) != 1) {
        return InvalidInput(quoted + ": '" + h + "' is not an IPv4 address");
      }
    } else if (!IsHostname(host)) {
      return InvalidInput(quoted + ": '" + std::string(host) +
                          "' is not a valid host name");
    }
    out.host = std::string(host);
    port_text = text.substr(colon + 1);
  }
  Result<uint16_t> port = ParsePort(port_text, text);
  if (!port.ok()) return port.status();
  out.port = *port;
  return out;
}

// ---- durations, names, levels -------------------------------------------

Result<std::chrono::seconds> ParseConfigDuration(std::string_view text) {
  constexpr int64_t kMaxSeconds = int64_t{3650} * 86400;
  const std::string quoted = "'" + std::string(text) + "'";
  if (text.empty()) return InvalidInput("empty duration");
  if (text.size() > 32) return InvalidInput("duration " + quoted + " is too long");
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t digits_start = i;
    int64_t value = 0;
    while (i < text.size() && IsDigit(text[i])) {
      value = value * 10 + (text[i] - '0');
      if (value > kMaxSeconds) {
        return InvalidInput("duration " + quoted + " is longer than 3650d");
      }
      ++i;
    }
    if (i == digits_start) {
      return InvalidInput("duration " + quoted +
                          " is not like 30s, 5m, 1h30m or 7d");
    }
    if (i == text.size()) {
      return InvalidInput("duration " + quoted +
                          " lacks a unit (s, m, h or d) after its number");
    }
    int64_t unit = 0;
    switch (text[i]) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      default:
        return InvalidInput("duration " + quoted + " has unknown unit '" +
                            std::string(1, text[i]) + "' (use s, m, h or d)");
    }
    ++i;
    total += value * unit;
    if (total > kMaxSeconds) {
      return InvalidInput("duration " + quoted + " is longer than 3650d");
    }
  }
  if (total == 0) return InvalidInput("duration " + quoted + " must be positive");
  return std::chrono::seconds(total);
}

std::string FormatConfigDuration(std::chrono::seconds d) {
  int64_t s = d.count();
  if (s <= 0) return "0s";
  std::string out;
  for (auto [unit, name] : {std::pair<int64_t, char>{86400, 'd'},
                            {3600, 'h'}, {60, 'm'}, {1, 's'}}) {
    if (s >= unit) {
      out += std::to_string(s / unit);
      out += name;
      s %= unit;
    }
  }
  return out;
}

std::string NameError(std::string_view name) {
  if (name.empty()) return "is empty";
  if (name.size() > 64) return "is longer than 64 characters";
  for (char c : name) {
    if (c < 0x20 || c > 0x7e) {
      return "contains a character that is not printable ASCII";
    }
  }
  if (name.front() == ' ' || name.back() == ' ') {
    return "starts or ends with a space";
  }
  return "";
}

// The country of systemd/caravand.toml, which the operator must replace.
constexpr std::string_view kPlaceholderCountry = "XX";

bool IsCountryCode(std::string_view code) {
  return code.size() == 2 && code[0] >= 'A' && code[0] <= 'Z' &&
         code[1] >= 'A' && code[1] <= 'Z';
}

std::string_view LinkCompressionName(LinkCompression c) {
  return c == LinkCompression::kOff ? "off" : "zstd";
}

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kError: return "error";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kNotice: return "notice";
    case LogLevel::kInfo: return "info";
    case LogLevel::kDebug: return "debug";
  }
  return "info";
}

std::optional<LogLevel> ParseLogLevelName(std::string_view name) {
  for (LogLevel l : {LogLevel::kError, LogLevel::kWarning, LogLevel::kNotice,
                     LogLevel::kInfo, LogLevel::kDebug}) {
    if (name == LogLevelName(l)) return l;
  }
  return std::nullopt;
}

// ---- shared helpers -------------------------------------------------------

void LineErrors::Add(uint32_t line, std::string reason) {
  // Reasons quote the file's content. Its control characters are shown as
  // \xNN here so that ToStatus's '\n' is the only line break: one error per
  // line in the CLI's output and in the daemon's log, and no terminal escape
  // from a hostile file.
  std::string shown;
  shown.reserve(reason.size());
  for (char ch : reason) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      shown += "\\x";
      shown += kHex[c >> 4];
      shown += kHex[c & 0xf];
    } else {
      shown += ch;
    }
  }
  items_.emplace_back(line, std::move(shown));
}

Status LineErrors::ToStatus() const {
  std::vector<std::pair<uint32_t, std::string>> sorted = items_;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string message;
  for (const auto& [line, reason] : sorted) {
    if (!message.empty()) message += "\n";
    message += file_;
    if (line > 0) message += ":" + std::to_string(line);
    message += ": " + reason;
  }
  return InvalidInput(std::move(message));
}

Result<std::string> ReadBoundedFile(const fs::path& path, size_t max_bytes) {
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  // The error decides, not the status: a file in a directory we may not
  // search (an operator not yet in the caravan group, /etc/caravan 0750)
  // has an unknown status too, and must read "permission denied", not
  // "no such file" (issue 15).
  if (ec == std::errc::permission_denied) {
    return Denied(path.string() +
                  ": permission denied (is this user in the file's group?)");
  }
  if (ec && ec != std::errc::no_such_file_or_directory &&
      ec != std::errc::not_a_directory) {
    return Unavailable(path.string() + ": " + ec.message());
  }
  if (ec || !fs::exists(st)) {
    return NotFound(path.string() + ": no such file");
  }
  if (!fs::is_regular_file(st)) {
    return InvalidInput(path.string() + ": not a regular file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Unavailable(path.string() + ": cannot open: " +
                       std::strerror(errno));
  }
  std::string text;
  char buffer[16384];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(in.gcount()));
    if (text.size() > max_bytes) {
      return InvalidInput(path.string() + ": larger than " +
                          std::to_string(max_bytes) + " bytes");
    }
  }
  if (in.bad()) return Unavailable(path.string() + ": read error");
  return text;
}

std::string QuoteTomlString(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += ch;
        }
    }
  }
  out += "\"";
  return out;
}

// ---- loading ----------------------------------------------------------------

namespace {

std::string TomlTypeName(const toml::node& n) {
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

// Parses `text`; a syntax error (toml++ stops at the first) goes to `errors`.
std::optional<toml::table> ParseToml(std::string_view text,
                                     const std::string& source,
                                     LineErrors& errors) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    errors.Add(e.source().begin.line, std::string(e.description()));
    return std::nullopt;
  }
}

// Reads one [table] of the file, checking that only known keys appear and
// that each has the right type and value. Errors go to the shared collector.
class TableReader {
 public:
  TableReader(LineErrors& errors, const toml::table* table,
              std::string_view name, std::initializer_list<const char*> keys)
      : errors_(errors), table_(table), name_(name) {
    if (table_ == nullptr) return;
    for (auto&& [key, node] : *table_) {
      // Not captured as a structured binding: clang 14 (the fuzz build)
      // cannot capture one in a lambda.
      const std::string_view key_text = key.str();
      bool known = std::any_of(keys.begin(), keys.end(), [&](const char* k) {
        return key_text == k;
      });
      if (!known) {
        errors_.Add(key.source().begin.line, "unknown key '" + std::string(key.str()) +
                                      "' in [" + name_ + "]");
      }
    }
  }

  // The node for `key`, or nullptr when absent.
  const toml::node* Get(std::string_view key) const {
    return table_ == nullptr ? nullptr : table_->get(key);
  }

  void Error(std::string_view key, std::string reason) {
    const toml::node* n = Get(key);
    toml::source_region where = n != nullptr ? n->source()
                                : table_ != nullptr ? table_->source()
                                                    : toml::source_region{};
    errors_.Add(where.begin.line, "[" + name_ + "] " + std::string(key) + ": " + reason);
  }

  std::optional<std::string> String(std::string_view key) {
    const toml::node* n = Get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_string()) {
      Error(key, "must be a string, not " + TomlTypeName(*n));
      return std::nullopt;
    }
    return std::string(**n->as_string());
  }

  std::optional<int64_t> Integer(std::string_view key, int64_t min,
                                 int64_t max) {
    const toml::node* n = Get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_integer()) {
      Error(key, "must be an integer, not " + TomlTypeName(*n));
      return std::nullopt;
    }
    int64_t v = **n->as_integer();
    if (v < min || v > max) {
      Error(key, std::to_string(v) + " is out of range " +
                     std::to_string(min) + ".." + std::to_string(max));
      return std::nullopt;
    }
    return v;
  }

  // A path: relative ones are anchored at `base`.
  void Path(std::string_view key, const fs::path& base, fs::path& out) {
    std::optional<std::string> s = String(key);
    if (s.has_value()) {
      if (s->empty()) {
        Error(key, "must not be empty");
        return;
      }
      if (s->find('\0') != std::string::npos) {
        Error(key, "contains a NUL character");
        return;
      }
      out = *s;
    }
    if (!base.empty() && out.is_relative()) out = base / out;
    out = out.lexically_normal();
  }

  void Duration(std::string_view key, std::chrono::seconds& out) {
    std::optional<std::string> s = String(key);
    if (!s.has_value()) return;
    Result<std::chrono::seconds> d = ParseConfigDuration(*s);
    if (!d.ok()) {
      Error(key, d.status().message());
    } else {
      out = *d;
    }
  }

  // HOST:PORT or "" (meaning none).
  void Endpoint(std::string_view key, std::optional<HostPort>& out) {
    std::optional<std::string> s = String(key);
    if (!s.has_value()) return;
    if (s->empty()) {
      out.reset();
      return;
    }
    Result<HostPort> hp = ParseHostPort(*s);
    if (!hp.ok()) {
      Error(key, hp.status().message());
    } else {
      out = *hp;
    }
  }

 private:
  LineErrors& errors_;
  const toml::table* table_;
  std::string name_;
};

}  // namespace

Result<NodeConfig> ParseNodeConfig(std::string_view text,
                                   const fs::path& path) {
  NodeConfig config;
  const fs::path file = path.empty() ? fs::path() : fs::absolute(path);
  const fs::path base = file.empty() ? fs::path() : file.parent_path();
  config.source = file;
  LineErrors errors(path.string());

  std::optional<toml::table> root = ParseToml(text, path.string(), errors);
  if (!root.has_value()) return errors.ToStatus();

  // Top level: only the known tables.
  static constexpr const char* kTables[] = {
      "node", "keys", "store", "control", "peers", "links", "policy",
      "taxii", "spool", "defaults", "log", "retention", "hub",
      "warninglists",
      "metrics", "inbound"};
  for (auto&& [key, node] : *root) {
    const std::string_view key_text = key.str();  // clang 14: see TableReader
    bool known = std::any_of(std::begin(kTables), std::end(kTables),
                             [&](const char* t) { return key_text == t; });
    if (!known) {
      errors.Add(key.source().begin.line,
                 node.is_table()
                     ? "unknown table [" + std::string(key.str()) + "]"
                     : "unknown top-level key '" + std::string(key.str()) +
                           "' (keys belong in a table such as [node])");
    } else if (!node.is_table()) {
      errors.Add(node.source().begin.line, "'" + std::string(key.str()) +
                                    "' must be a table, not " +
                                    TomlTypeName(node));
    }
  }
  auto table = [&](const char* name) -> const toml::table* {
    const toml::node* n = root->get(name);
    return n != nullptr ? n->as_table() : nullptr;
  };

  // [node]
  {
    const toml::table* t = table("node");
    TableReader r(errors, t, "node", {"name", "country", "data_dir"});
    if (t == nullptr && root->get("node") == nullptr) {
      errors.Add(0,
                 "missing [node] table with name and country");
    }
    if (std::optional<std::string> name = r.String("name")) {
      std::string why = NameError(*name);
      if (!why.empty()) {
        r.Error("name", "'" + *name + "' " + why);
      } else {
        config.node.name = *name;
      }
    } else if (t != nullptr && r.Get("name") == nullptr) {
      r.Error("name", "is required");
    }
    if (std::optional<std::string> cc = r.String("country")) {
      if (!IsCountryCode(*cc)) {
        r.Error("country", "'" + *cc +
                               "' is not an ISO 3166-1 alpha-2 code (two "
                               "uppercase letters, such as UZ)");
      } else if (*cc == kPlaceholderCountry) {
        // The shipped example config says XX; a node started from it
        // unedited would announce itself as nowhere and get the default
        // policy everywhere, so refuse it rather than run.
        r.Error("country", "'XX' is the example config's placeholder: set "
                           "this node's own ISO 3166-1 alpha-2 code (such "
                           "as UZ)");
      } else {
        config.node.country = *cc;
      }
    } else if (t != nullptr && r.Get("country") == nullptr) {
      r.Error("country", "is required");
    }
    r.Path("data_dir", base, config.node.data_dir);
  }
  // [keys]
  {
    TableReader r(errors, table("keys"), "keys", {"identity", "link", "link_rotate"});
    r.Path("identity", base, config.keys.identity);
    r.Path("link", base, config.keys.link);
    if (std::optional<std::string> s = r.String("link_rotate")) {
      if (*s == "off") {
        config.keys.link_rotate = std::chrono::seconds(0);
      } else {
        Result<std::chrono::seconds> d = ParseConfigDuration(*s);
        if (!d.ok()) {
          r.Error("link_rotate", d.status().message() + " (or \"off\")");
        } else if (*d < std::chrono::hours(1) || *d > std::chrono::hours(365 * 24)) {
          r.Error("link_rotate", "'" + *s + "' is out of range 1h..365d (or \"off\")");
        } else {
          config.keys.link_rotate = *d;
        }
      }
    }
  }
  // [store]
  {
    TableReader r(errors, table("store"), "store",
                  {"database", "synchronous", "cache_mib", "mmap_mib",
                   "id_filter_mib"});
    r.Path("database", base, config.store.database);
    if (std::optional<std::string> s = r.String("synchronous")) {
      if (*s == "full") {
        config.store.synchronous = StoreSynchronous::kFull;
      } else if (*s == "normal") {
        config.store.synchronous = StoreSynchronous::kNormal;
      } else {
        r.Error("synchronous", "'" + *s + "' is not one of: full, normal");
      }
    }
    if (auto v = r.Integer("cache_mib", 2, 65536)) {
      config.store.cache_mib = static_cast<uint32_t>(*v);
    }
    // SQLite's own limit (SQLITE_MAX_MMAP_SIZE) is 0x7fff0000 bytes in
    // Debian's build: a larger value would be cut to it silently.
    if (auto v = r.Integer("mmap_mib", 0, 2047)) {
      config.store.mmap_mib = static_cast<uint32_t>(*v);
    }
    if (auto v = r.Integer("id_filter_mib", 0, 1024)) {
      config.store.id_filter_mib = static_cast<uint32_t>(*v);
    }
  }
  // [control]
  {
    TableReader r(errors, table("control"), "control",
                  {"socket", "group", "max_frame_bytes", "max_connections",
                   "max_buffered_bytes", "idle_timeout", "frame_timeout",
                   "write_timeout"});
    r.Path("socket", base, config.control.socket);
    if (config.control.socket.native().size() > kMaxSocketPathBytes) {
      r.Error("socket", "'" + config.control.socket.string() + "' is " +
                            std::to_string(config.control.socket.native().size()) +
                            " bytes; a Unix socket path holds at most " +
                            std::to_string(kMaxSocketPathBytes));
    }
    if (std::optional<std::string> g = r.String("group")) {
      bool good = g->size() <= 32 &&
                  std::all_of(g->begin(), g->end(), [](char c) {
                    return IsAlpha(c) || IsDigit(c) || c == '_' || c == '-' ||
                           c == '.';
                  });
      if (!good) {
        r.Error("group", "'" + *g + "' is not a group name");
      } else {
        config.control.group = *g;
      }
    }
    if (auto v = r.Integer("max_frame_bytes", kMinFrameBytes, kMaxFrameBytes)) {
      config.control.max_frame_bytes = static_cast<uint32_t>(*v);
    }
    if (auto v = r.Integer("max_connections", 1, 4096)) {
      config.control.max_connections = static_cast<uint32_t>(*v);
    }
    if (auto v = r.Integer("max_buffered_bytes", kMinFrameBytes,
                           static_cast<int64_t>(kMaxControlBufferedBytes))) {
      config.control.max_buffered_bytes = static_cast<uint64_t>(*v);
    }
    if (config.control.max_buffered_bytes < config.control.max_frame_bytes) {
      r.Error(r.Get("max_buffered_bytes") != nullptr ? "max_buffered_bytes"
                                                     : "max_frame_bytes",
              "max_buffered_bytes (" +
                  std::to_string(config.control.max_buffered_bytes) +
                  ") must be at least max_frame_bytes (" +
                  std::to_string(config.control.max_frame_bytes) +
                  "), or no frame of the largest size could be read");
    }
    r.Duration("idle_timeout", config.control.idle_timeout);
    r.Duration("frame_timeout", config.control.frame_timeout);
    r.Duration("write_timeout", config.control.write_timeout);
  }
  // [peers]
  {
    TableReader r(errors, table("peers"), "peers",
                  {"listen", "roster", "dial_backoff_max", "refused_backoff_max", "keepalive",
                   "handshake_timeout", "max_message_bytes", "max_handshakes",
                   "max_handshakes_per_source", "first_message_timeout",
                   "failure_report_interval"});
    r.Endpoint("listen", config.peers.listen);
    r.Path("roster", base, config.peers.roster);
    r.Duration("dial_backoff_max", config.peers.dial_backoff_max);
    r.Duration("refused_backoff_max", config.peers.refused_backoff_max);
    if (config.peers.refused_backoff_max < std::chrono::seconds(10) ||
        config.peers.refused_backoff_max > std::chrono::hours(1)) {
      r.Error("refused_backoff_max",
              FormatConfigDuration(config.peers.refused_backoff_max) +
                  " is outside 10s..1h");
    }
    r.Duration("keepalive", config.peers.keepalive);
    r.Duration("handshake_timeout", config.peers.handshake_timeout);
    if (auto v =
            r.Integer("max_message_bytes", kMinFrameBytes, kMaxFrameBytes)) {
      config.peers.max_message_bytes = static_cast<uint32_t>(*v);
    }
    if (auto v = r.Integer("max_handshakes", 1, 4096)) {
      config.peers.max_handshakes = static_cast<uint32_t>(*v);
    }
    if (auto v = r.Integer("max_handshakes_per_source", 1, 4096)) {
      if (*v > config.peers.max_handshakes) {
        r.Error("max_handshakes_per_source",
                std::to_string(*v) + " is more than max_handshakes (" +
                    std::to_string(config.peers.max_handshakes) + ")");
      } else {
        config.peers.max_handshakes_per_source = static_cast<uint32_t>(*v);
      }
    }
    r.Duration("first_message_timeout", config.peers.first_message_timeout);
    if (config.peers.first_message_timeout > config.peers.handshake_timeout) {
      r.Error("first_message_timeout",
              FormatConfigDuration(config.peers.first_message_timeout) +
                  " is longer than handshake_timeout (" +
                  FormatConfigDuration(config.peers.handshake_timeout) + ")");
    }
    r.Duration("failure_report_interval", config.peers.failure_report_interval);
    if (config.peers.failure_report_interval > std::chrono::hours(1)) {
      r.Error("failure_report_interval",
              FormatConfigDuration(config.peers.failure_report_interval) +
                  " is longer than 1h");
    }
  }
  // [policy]
  {
    TableReader r(errors, table("policy"), "policy", {"dir"});
    r.Path("dir", base, config.policy.dir);
  }
  // [inbound]
  {
    TableReader r(errors, table("inbound"), "inbound",
                  {"act_on_compromise_notices"});
    using On = NodeConfig::Inbound::OnCompromiseNotice;
    if (std::optional<std::string> s = r.String("act_on_compromise_notices")) {
      if (*s == "quarantine") {
        config.inbound.act_on_compromise_notices = On::kQuarantine;
      } else if (*s == "flag") {
        config.inbound.act_on_compromise_notices = On::kFlag;
      } else if (*s == "ignore") {
        config.inbound.act_on_compromise_notices = On::kIgnore;
      } else {
        r.Error("act_on_compromise_notices",
                "'" + *s + "' is not one of: quarantine, flag, ignore");
      }
    }
  }
  // [warninglists]
  {
    TableReader r(errors, table("warninglists"), "warninglists",
                  {"dir", "on_match", "match_subdomains"});
    if (r.Get("dir") != nullptr) r.Path("dir", base, config.warninglists.dir);
    if (std::optional<std::string> s = r.String("on_match")) {
      if (*s == "flag") {
        config.warninglists.on_match = NodeConfig::Warninglists::OnMatch::kFlag;
      } else if (*s == "refuse") {
        config.warninglists.on_match =
            NodeConfig::Warninglists::OnMatch::kRefuse;
      } else {
        r.Error("on_match", "'" + *s + "' is not one of: flag, refuse");
      }
    }
    if (const toml::node* n = r.Get("match_subdomains")) {
      if (!n->is_boolean()) {
        r.Error("match_subdomains",
                "must be true or false, not " + TomlTypeName(*n));
      } else {
        config.warninglists.subdomains = **n->as_boolean();
      }
    }
  }
  // [taxii]
  {
    TableReader r(errors, table("taxii"), "taxii",
                  {"listen", "accounts", "page_size_max",
                   "max_request_bytes", "max_header_bytes", "max_connections",
                   "max_connections_per_source", "header_timeout",
                   "idle_timeout", "request_timeout",
                   "login_failures_before_delay", "login_delay_max",
                   "max_pending_logins", "login_log_interval",
                   "include_removed"});
    r.Endpoint("listen", config.taxii.listen);
    if (r.Get("accounts") != nullptr) {
      r.Path("accounts", base, config.taxii.accounts);
    }
    if (auto v = r.Integer("page_size_max", 1, 10000)) {
      config.taxii.page_size_max = static_cast<uint32_t>(*v);
    }
    if (auto v = r.Integer("max_request_bytes", 1024, 64 * 1024 * 1024)) {
      config.taxii.max_request_bytes = static_cast<uint64_t>(*v);
    }
    auto& t = config.taxii;
    if (auto v = r.Integer("max_header_bytes", 1024, 1024 * 1024)) {
      t.max_header_bytes = static_cast<uint32_t>(*v);
    }
    if (auto v = r.Integer("max_connections", 1, 100000)) {
      t.max_connections = static_cast<uint32_t>(*v);
    }
    if (auto v = r.Integer("max_connections_per_source", 1, 100000)) {
      t.max_connections_per_source = static_cast<uint32_t>(*v);
    }
    if (auto v = r.Integer("login_failures_before_delay", 1, 1000)) {
      t.login_failures_before_delay = static_cast<uint32_t>(*v);
    }
    if (auto v = r.Integer("max_pending_logins", 1, 1024)) {
      t.max_pending_logins = static_cast<uint32_t>(*v);
    }
    // A duration with a range: out of range is an error naming the key.
    auto bounded = [&r](std::string_view key, std::chrono::seconds& out,
                        std::chrono::seconds lo, std::chrono::seconds hi) {
      std::chrono::seconds d = out;
      r.Duration(key, d);
      if (d < lo || d > hi) {
        r.Error(key, "must be between " + FormatConfigDuration(lo) +
                         " and " + FormatConfigDuration(hi));
      } else {
        out = d;
      }
    };
    using std::chrono::seconds;
    bounded("header_timeout", t.header_timeout, seconds(1), seconds(300));
    bounded("idle_timeout", t.idle_timeout, seconds(1), seconds(3600));
    bounded("request_timeout", t.request_timeout, seconds(1), seconds(3600));
    bounded("login_delay_max", t.login_delay_max, seconds(1), seconds(3600));
    bounded("login_log_interval", t.login_log_interval, seconds(1),
            seconds(3600));
    if (const toml::node* n = r.Get("include_removed")) {
      if (!n->is_boolean()) {
        r.Error("include_removed",
                "must be true or false, not " + TomlTypeName(*n));
      } else {
        t.include_removed = **n->as_boolean();
      }
    }
  }
  // [spool]
  {
    TableReader r(errors, table("spool"), "spool",
                  {"dir", "max_file_bytes", "poll_interval", "settle_time"});
    if (r.Get("dir") != nullptr) r.Path("dir", base, config.spool.dir);
    if (auto v = r.Integer("max_file_bytes", 1024, 4ll * 1024 * 1024 * 1024)) {
      config.spool.max_file_bytes = static_cast<uint64_t>(*v);
    }
    r.Duration("poll_interval", config.spool.poll_interval);
    if (std::optional<std::string> st = r.String("settle_time")) {
      // "0s" turns the wait off (every writer renames into place).
      Result<std::chrono::seconds> d =
          *st == "0s" ? Result<std::chrono::seconds>(std::chrono::seconds(0))
                      : ParseConfigDuration(*st);
      if (!d.ok()) {
        r.Error("settle_time", d.status().message());
      } else if (*d > std::chrono::hours(1)) {
        r.Error("settle_time", "'" + *st + "' is longer than 1h");
      } else {
        config.spool.settle_time = *d;
      }
    }
  }
  // [links]
  {
    TableReader r(errors, table("links"), "links",
                  {"compression", "compression_level"});
    if (std::optional<std::string> s = r.String("compression")) {
      if (*s == "zstd") {
        config.links.compression = LinkCompression::kZstd;
      } else if (*s == "off") {
        config.links.compression = LinkCompression::kOff;
      } else {
        r.Error("compression", "'" + *s + "' is not one of: zstd, off");
      }
    }
    if (auto v = r.Integer("compression_level", kMinLinkCompressionLevel,
                           kMaxLinkCompressionLevel)) {
      config.links.compression_level = static_cast<int>(*v);
    }
  }
  // [hub]
  {
    TableReader r(errors, table("hub"), "hub",
                  {"enabled", "max_envelope_bytes", "max_queued_per_sender",
                   "resend_after", "prekey_rotate", "prekey_grace",
                   "delay_alert"});
    if (const toml::node* n = r.Get("enabled")) {
      if (!n->is_boolean()) {
        r.Error("enabled", "must be true or false, not " + TomlTypeName(*n));
      } else {
        config.hub.enabled = **n->as_boolean();
      }
    }
    if (auto v = r.Integer("max_envelope_bytes", 1024, kMaxFrameBytes)) {
      config.hub.max_envelope_bytes = static_cast<uint32_t>(*v);
    }
    if (auto v = r.Integer("max_queued_per_sender", 1, 10000000)) {
      config.hub.max_queued_per_sender = static_cast<uint32_t>(*v);
    }
    std::chrono::seconds resend = config.hub.resend_after;
    r.Duration("resend_after", resend);
    if (resend < std::chrono::seconds(1) || resend > std::chrono::hours(24)) {
      r.Error("resend_after", "must be 1s..1d, not '" +
                                  FormatConfigDuration(resend) + "'");
    } else {
      config.hub.resend_after = resend;
    }
    constexpr auto kMaxPrekeyPeriod = std::chrono::hours(24 * 30);
    std::chrono::seconds rotate = config.hub.prekey_rotate;
    r.Duration("prekey_rotate", rotate);
    if (rotate < std::chrono::seconds(1) || rotate > kMaxPrekeyPeriod) {
      r.Error("prekey_rotate", "must be 1s..30d, not '" +
                                   FormatConfigDuration(rotate) + "'");
    } else {
      config.hub.prekey_rotate = rotate;
    }
    std::chrono::seconds grace = config.hub.prekey_grace;
    r.Duration("prekey_grace", grace);
    if (grace < std::chrono::seconds(1) || grace > kMaxPrekeyPeriod) {
      r.Error("prekey_grace", "must be 1s..30d, not '" +
                                  FormatConfigDuration(grace) + "'");
    } else if (grace < config.hub.resend_after) {
      r.Error("prekey_grace",
              "'" + FormatConfigDuration(grace) +
                  "' is shorter than resend_after ('" +
                  FormatConfigDuration(config.hub.resend_after) +
                  "'): a resent batch could meet an erased prekey");
    } else {
      config.hub.prekey_grace = grace;
    }
    std::chrono::seconds delay_alert = config.hub.delay_alert;
    r.Duration("delay_alert", delay_alert);
    if (delay_alert < std::chrono::seconds(1) ||
        delay_alert > std::chrono::hours(24 * 7)) {
      r.Error("delay_alert", "must be 1s..7d, not '" +
                                 FormatConfigDuration(delay_alert) + "'");
    } else {
      config.hub.delay_alert = delay_alert;
    }
  }
  // [metrics]
  {
    TableReader r(errors, table("metrics"), "metrics",
                  {"listen", "max_connections", "max_connections_per_source"});
    r.Endpoint("listen", config.metrics.listen);
    if (auto v = r.Integer("max_connections", 1, 1024)) {
      config.metrics.max_connections = static_cast<uint32_t>(*v);
    }
    if (auto v = r.Integer("max_connections_per_source", 1, 1024)) {
      config.metrics.max_connections_per_source = static_cast<uint32_t>(*v);
    }
  }
  // [defaults]
  {
    TableReader r(errors, table("defaults"), "defaults",
                  {"tlp", "confidence", "reshare"});
    if (std::optional<std::string> s = r.String("tlp")) {
      std::optional<Tlp> tlp = ParseTlpName(*s);
      if (!tlp.has_value()) {
        r.Error("tlp", "'" + *s +
                           "' is not a TLP (clear, green, amber, "
                           "amber+strict, red)");
      } else {
        config.defaults.tlp = *tlp;
      }
    }
    if (auto v = r.Integer("confidence", 0, 100)) {
      config.defaults.confidence = static_cast<uint8_t>(*v);
    }
    if (std::optional<std::string> s = r.String("reshare")) {
      std::optional<Reshare> reshare = ParseReshareName(*s);
      if (!reshare.has_value()) {
        r.Error("reshare",
                "'" + *s + "' is not one of: none, direct, federation");
      } else {
        config.defaults.reshare = *reshare;
      }
    }
  }
  // [log]
  {
    TableReader r(errors, table("log"), "log", {"level"});
    if (std::optional<std::string> s = r.String("level")) {
      std::optional<LogLevel> level = ParseLogLevelName(*s);
      if (!level.has_value()) {
        r.Error("level", "'" + *s +
                             "' is not one of: debug, info, notice, "
                             "warning, error");
      } else {
        config.log.level = *level;
      }
    }
  }
  // [retention]
  {
    TableReader r(errors, table("retention"), "retention", {"sweep_interval"});
    r.Duration("sweep_interval", config.retention.sweep_interval);
  }

  if (!errors.empty()) return errors.ToStatus();
  return config;
}

Result<NodeConfig> LoadNodeConfig(const fs::path& path) {
  Result<std::string> text = ReadBoundedFile(path, kMaxConfigFileBytes);
  if (!text.ok()) return text.status();
  return ParseNodeConfig(*text, path);
}

// ---- rendering --------------------------------------------------------------

namespace {

std::string SynchronousName(StoreSynchronous s) {
  return s == StoreSynchronous::kNormal ? "normal" : "full";
}

std::string EndpointText(const std::optional<HostPort>& hp) {
  return hp.has_value() ? hp->ToString() : "";
}

}  // namespace

std::string_view CompromiseNoticeActionName(
    NodeConfig::Inbound::OnCompromiseNotice a) {
  using On = NodeConfig::Inbound::OnCompromiseNotice;
  switch (a) {
    case On::kQuarantine: return "quarantine";
    case On::kFlag: return "flag";
    case On::kIgnore: return "ignore";
  }
  return "flag";
}

std::string RenderNodeConfig(const NodeConfig& c) {
  std::ostringstream o;
  auto q = [](std::string_view s) { return QuoteTomlString(s); };
  auto p = [](const fs::path& path) { return QuoteTomlString(path.string()); };
  o << "# caravand.toml: the configuration of one caravan node.\n"
       "# Every key is described in docs/config.md. Relative paths are\n"
       "# relative to the directory that holds this file.\n"
       "\n"
       "[node]\n"
       "# This node's name, as federation members know it (1..64 printable\n"
       "# ASCII characters).\n"
       "name = " << q(c.node.name) << "\n"
       "# ISO 3166-1 alpha-2 code of this node's country.\n"
       "country = " << q(c.node.country) << "\n"
       "# Directory for state the daemon creates on its own.\n"
       "data_dir = " << p(c.node.data_dir) << "\n"
       "\n"
       "[keys]\n"
       "# Ed25519 identity key (signs records, names this node). Mode 0600;\n"
       "# back it up: losing it means a new identity for the federation.\n"
       "identity = " << p(c.keys.identity) << "\n"
       "# X25519 link key for Noise, certified by the identity key. Mode 0600.\n"
       "# Made at start when missing; `caravan key rotate --link` replaces it.\n"
       "link = " << p(c.keys.link) << "\n"
       "# Rotate the link key when its certificate is this old (1h..365d), or\n"
       "# \"off\". Peers accept the new key with no roster change.\n"
       "link_rotate = " << q(c.keys.link_rotate.count() == 0
                                 ? std::string("off")
                                 : FormatConfigDuration(c.keys.link_rotate)) << "\n"
       "\n"
       "[store]\n"
       "# SQLite database (WAL mode): indicators, records, sync state, audit.\n"
       "database = " << p(c.store.database) << "\n"
       "# \"full\" syncs every commit to disk; \"normal\" may lose the last\n"
       "# commits on power loss (never on a daemon crash).\n"
       "synchronous = " << q(SynchronousName(c.store.synchronous)) << "\n"
       "# Page cache of the writer while it writes, MiB (given back after a\n"
       "# few idle seconds). More keeps bulk loads into a large store fast.\n"
       "cache_mib = " << c.store.cache_mib << "\n"
       "# Database file the writer maps while it writes, MiB (0: none; let\n"
       "# go after a few idle seconds): index pages read without a copy.\n"
       "mmap_mib = " << c.store.mmap_mib << "\n"
       "# Memory of the writer's filter of held ids, MiB (0: none): spares a\n"
       "# new indicator the search for its id. 8 suits up to about 10M.\n"
       "id_filter_mib = " << c.store.id_filter_mib << "\n"
       "\n"
       "[control]\n"
       "# Unix socket the caravan CLI talks to (at most 107 bytes).\n"
       "socket = " << p(c.control.socket) << "\n"
       "# Group given to the socket (mode 0660) if it exists; \"\": none.\n"
       "group = " << q(c.control.group) << "\n"
       "# Largest request or response frame on the socket, in bytes.\n"
       "max_frame_bytes = " << c.control.max_frame_bytes << "\n"
       "# Live CLI connections at most; more are refused (retry later).\n"
       "max_connections = " << c.control.max_connections << "\n"
       "# Request and reply bytes all connections may hold at once (beyond\n"
       "# 64 KiB each); a request that needs more waits for it.\n"
       "max_buffered_bytes = " << c.control.max_buffered_bytes << "\n"
       "# A connection with no request for this long is closed.\n"
       "idle_timeout = " << q(FormatConfigDuration(c.control.idle_timeout))
    << "\n"
       "# A request must arrive whole within this of its first byte.\n"
       "frame_timeout = " << q(FormatConfigDuration(c.control.frame_timeout))
    << "\n"
       "# A client that does not read its reply within this is dropped.\n"
       "write_timeout = " << q(FormatConfigDuration(c.control.write_timeout))
    << "\n"
       "\n"
       "[peers]\n"
       "# Where to accept peer links, HOST:PORT (0.0.0.0:7420, [::]:7420);\n"
       "# \"\": accept none and only dial out.\n"
       "listen = " << q(EndpointText(c.peers.listen)) << "\n"
       "# Federation members: names, countries, keys, endpoints.\n"
       "roster = " << p(c.peers.roster) << "\n"
       "# Longest wait between dial attempts to an unreachable peer.\n"
       "dial_backoff_max = "
    << q(FormatConfigDuration(c.peers.dial_backoff_max)) << "\n"
       "# Longest wait between dial attempts to a peer that told us we are\n"
       "# not on its roster (after authentication).\n"
       "refused_backoff_max = "
    << q(FormatConfigDuration(c.peers.refused_backoff_max)) << "\n"
       "# Idle time after which a link sends a keepalive.\n"
       "keepalive = " << q(FormatConfigDuration(c.peers.keepalive)) << "\n"
       "# Time allowed for the Noise handshake and Hello.\n"
       "handshake_timeout = "
    << q(FormatConfigDuration(c.peers.handshake_timeout)) << "\n"
       "# Largest application message accepted from a peer, in bytes.\n"
       "max_message_bytes = " << c.peers.max_message_bytes << "\n"
       "# Inbound handshakes in progress at once; a quarter are kept for\n"
       "# the addresses of roster members.\n"
       "max_handshakes = " << c.peers.max_handshakes << "\n"
       "# Inbound handshakes in progress from one address.\n"
       "max_handshakes_per_source = " << c.peers.max_handshakes_per_source
    << "\n"
       "# Time a new inbound connection has to send its first handshake\n"
       "# message (a silent connection is dropped after this).\n"
       "first_message_timeout = "
    << q(FormatConfigDuration(c.peers.first_message_timeout)) << "\n"
       "# Failed handshakes are logged and audited for the first from an\n"
       "# address at once, then summarised once per this interval.\n"
       "failure_report_interval = "
    << q(FormatConfigDuration(c.peers.failure_report_interval)) << "\n"
       "\n"
       "[links]\n"
       "# \"zstd\": compress messages to peers that offer it too (a catch-up\n"
       "# then takes 15-37 % of the bytes); \"off\": never compress.\n"
       "compression = " << q(LinkCompressionName(c.links.compression))
    << "\n"
       "# zstd level (1..19) of what this node sends: higher is smaller and\n"
       "# slower.\n"
       "compression_level = " << c.links.compression_level << "\n"
       "\n"
       "[policy]\n"
       "# Directory of policy files (default.toml, <CC>.toml, groups.toml,\n"
       "# protected.toml); re-read on SIGHUP or `caravan policy reload`.\n"
       "dir = " << p(c.policy.dir) << "\n"
       "\n"
       "[taxii]\n"
       "# TAXII 2.1 server for SIEMs, HOST:PORT; \"\": off.\n"
       "listen = " << q(EndpointText(c.taxii.listen)) << "\n"
       "# Accounts file ([[account]] tables, docs/taxii.md); unset: none.\n"
       << (c.taxii.accounts.empty() ? "# accounts = \"taxii-accounts.toml\"\n"
                                    : "accounts = " + p(c.taxii.accounts) +
                                          "\n")
       << "page_size_max = " << c.taxii.page_size_max << "\n"
       "max_request_bytes = " << c.taxii.max_request_bytes << "\n"
       "# Limits under hostile load (docs/taxii.md, Limits): request head\n"
       "# size (431 above), connections in all and per client address.\n"
       "max_header_bytes = " << c.taxii.max_header_bytes << "\n"
       "max_connections = " << c.taxii.max_connections << "\n"
       "max_connections_per_source = " << c.taxii.max_connections_per_source
    << "\n"
       "# Time for the request head, between keep-alive requests, and for\n"
       "# the body (and for the client to take the response).\n"
       "header_timeout = " << q(FormatConfigDuration(c.taxii.header_timeout))
    << "\n"
       "idle_timeout = " << q(FormatConfigDuration(c.taxii.idle_timeout))
    << "\n"
       "request_timeout = "
    << q(FormatConfigDuration(c.taxii.request_timeout)) << "\n"
       "# After this many failed logins from one address or for one name,\n"
       "# further attempts get 429 for a delay that doubles per failure up\n"
       "# to login_delay_max. Password checks queued at most: 503 above.\n"
       "login_failures_before_delay = " << c.taxii.login_failures_before_delay
    << "\n"
       "login_delay_max = " << q(FormatConfigDuration(c.taxii.login_delay_max))
    << "\n"
       "max_pending_logins = " << c.taxii.max_pending_logins << "\n"
       "# Failed logins: the first from an address is logged at once, the\n"
       "# rest summarised (log and audit, with counts) once per interval.\n"
       "login_log_interval = "
    << q(FormatConfigDuration(c.taxii.login_log_interval)) << "\n"
       "# Serve records of members removed from the roster (`caravan peers\n"
       "# remove`); false: left out, like `caravan export` without\n"
       "# --include-removed.\n"
       "include_removed = " << (c.taxii.include_removed ? "true" : "false")
    << "\n"
       "\n"
       "[inbound]\n"
       "# A peer's signed compromise notice (docs/federation.md,\n"
       "# Compromise): \"quarantine\" its records of that key since the\n"
       "# time, \"flag\" them (marked, never relayed), or \"ignore\" (audit\n"
       "# only). One member's word never silences another by default.\n"
       "act_on_compromise_notices = "
    << q(CompromiseNoticeActionName(c.inbound.act_on_compromise_notices))
    << "\n"
       "\n"
       "[warninglists]\n"
       "# MISP warninglists (docs/warninglists.md): every *.json in dir is\n"
       "# loaded at start and on reload; a matching submission is flagged\n"
       "# (never shared automatically) or, with on_match = \"refuse\",\n"
       "# refused unless submitted with --force. unset dir: off.\n"
       << (c.warninglists.dir.empty()
               ? "# dir = \"warninglists\"\n"
               : "dir = " + p(c.warninglists.dir) + "\n")
       << "on_match = "
       << q(c.warninglists.on_match ==
                    NodeConfig::Warninglists::OnMatch::kRefuse
                ? "refuse"
                : "flag")
       << "\n"
          "# true: hostname lists also match subdomains of their entries\n"
          "# (MISP's rule; flags phishing hosts on free hosting sites).\n"
          "match_subdomains = "
       << (c.warninglists.subdomains ? "true" : "false") << "\n"
       "\n"
       "[spool]\n"
       "# Directory SIEMs drop files into (docs/spool.md); unset: off.\n"
       << (c.spool.dir.empty() ? "# dir = \"spool\"\n"
                               : "dir = " + p(c.spool.dir) + "\n")
       << "# Files larger than this go to failed/ unread.\n"
          "max_file_bytes = " << c.spool.max_file_bytes << "\n"
          "# How often incoming/ is scanned for new files.\n"
          "poll_interval = "
       << q(FormatConfigDuration(c.spool.poll_interval)) << "\n"
       << "# A file is claimed once its size and mtime stayed unchanged this\n"
          "# long (0s: at once, when every writer renames into place).\n"
          "settle_time = "
       << q(FormatConfigDuration(c.spool.settle_time)) << "\n"
       << "\n"
       "[hub]\n"
       "# Relay hub: store and forward sealed batches between members that\n"
       "# do not link directly, without being able to read them\n"
       "# (docs/federation.md).\n"
       "enabled = " << (c.hub.enabled ? "true" : "false") << "\n"
       "max_envelope_bytes = " << c.hub.max_envelope_bytes << "\n"
       "max_queued_per_sender = " << c.hub.max_queued_per_sender << "\n"
       "# On every member: a sealed batch sent via a hub and not yet\n"
       "# acknowledged by its recipient's receipt is sent again this long\n"
       "# after it left (1s..1d).\n"
       "resend_after = " << q(FormatConfigDuration(c.hub.resend_after)) << "\n"
       "# Forward secrecy: a new signed X25519 prekey this often (1s..30d);\n"
       "# senders seal to it, and its secret is erased prekey_grace after\n"
       "# its statement expired (1s..30d, at least resend_after).\n"
       "prekey_rotate = " << q(FormatConfigDuration(c.hub.prekey_rotate)) << "\n"
       "prekey_grace = " << q(FormatConfigDuration(c.hub.prekey_grace)) << "\n"
       "# A sealed envelope that took longer than this from its sealing (the\n"
       "# sender's time, inside the envelope) to its opening here is audited\n"
       "# as hub_delay, at most once a minute per hub and sender (1s..7d).\n"
       "delay_alert = " << q(FormatConfigDuration(c.hub.delay_alert)) << "\n"
       "\n"
       "[metrics]\n"
       "# Prometheus metrics at http://HOST:PORT/metrics (docs/metrics.md);\n"
       "# \"\": off. No authentication: bind to loopback (127.0.0.1:9464)\n"
       "# or put it behind a proxy.\n"
       "listen = " << q(EndpointText(c.metrics.listen)) << "\n"
       "# Scrapes at once, in all and per client address.\n"
       "max_connections = " << c.metrics.max_connections << "\n"
       "max_connections_per_source = " << c.metrics.max_connections_per_source
    << "\n"
       "\n"
       "[defaults]\n"
       "# Given to submissions that do not say otherwise.\n"
       "tlp = " << q(TlpName(c.defaults.tlp)) << "\n"
       "confidence = " << static_cast<int>(c.defaults.confidence) << "\n"
       "reshare = " << q(ReshareName(c.defaults.reshare)) << "\n"
       "\n"
       "[log]\n"
       "# debug, info, notice, warning or error.\n"
       "level = " << q(LogLevelName(c.log.level)) << "\n"
       "\n"
       "[retention]\n"
       "# How often expired and past-retention indicators are swept.\n"
       "sweep_interval = "
    << q(FormatConfigDuration(c.retention.sweep_interval)) << "\n";
  return o.str();
}

std::string RenderInitialConfig(const InitialConfigOptions& options) {
  NodeConfig c;
  c.node.name = options.name;
  c.node.country = options.country;
  c.peers.listen = options.peer_listen;
  c.taxii.listen = options.taxii_listen;
  c.warninglists.dir = "warninglists";  // created empty by `caravan init`
  if (!options.control_socket.empty()) {
    c.control.socket = options.control_socket;
  }
  return RenderNodeConfig(c);
}

fs::path DefaultConfigPath() {
  const char* env = std::getenv("CARAVAN_CONFIG");
  if (env != nullptr && env[0] != '\0') return fs::path(env);
  return "/etc/caravan/caravand.toml";
}

}  // namespace caravan::protocol
