#pragma once
// The node config file (caravand.toml): its in-memory form, a strict loader
// and a renderer. The format is a contract between caravand (which runs from
// it) and the caravan CLI (which writes it in `caravan init` and reads it to
// find the control socket); docs/config.md documents every key.
//
// Loading is strict: an unknown table or key, a wrong type or a bad value is
// an error, and every error in the file is reported at once, one per line, as
// `path/to/caravand.toml:LINE: reason`. Relative paths in the file are
// resolved against the directory that holds the file, so a loaded NodeConfig
// holds only absolute paths.
//
// Everything here is a plain value or a pure function (LoadNodeConfig reads
// one file); safe to call from any thread.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/indicator.h"
#include "protocol/status.h"

namespace caravan::protocol {

// A TCP endpoint as written in a config or roster: `192.0.2.1:7420`,
// `[2001:db8::1]:7420` or `node.example.org:7420`.
struct HostPort {
  std::string host;   // IPv4 text, IPv6 text without brackets, or hostname
  uint16_t port = 0;  // 1..65535 once parsed

  // Back to the written form (IPv6 in brackets).
  std::string ToString() const;
  bool operator==(const HostPort&) const = default;
};

// Parses HOST:PORT. On failure: kInvalidInput naming what is wrong (missing
// port, port out of 1..65535, unbracketed IPv6, malformed host).
Result<HostPort> ParseHostPort(std::string_view text);

// Durations in config files: one or more <digits><unit> groups, unit one of
// s, m, h, d (`30s`, `5m`, `1h30m`, `7d`). On failure: kInvalidInput. Must
// be positive and at most 3650 days.
Result<std::chrono::seconds> ParseConfigDuration(std::string_view text);
// The shortest text ParseConfigDuration reads back as `d` (`90s` -> "1m30s").
std::string FormatConfigDuration(std::chrono::seconds d);

// A node or member name: 1..64 printable ASCII characters, no leading or
// trailing space. Returns an empty string when valid, else the reason.
std::string NameError(std::string_view name);
// ISO 3166-1 alpha-2 shape: exactly two uppercase ASCII letters.
bool IsCountryCode(std::string_view code);

// Numeric values are the syslog priorities (sd-daemon(3) prefixes).
enum class LogLevel : uint8_t {
  kError = 3,
  kWarning = 4,
  kNotice = 5,
  kInfo = 6,
  kDebug = 7,
};
std::string_view LogLevelName(LogLevel level);  // "info", ...
std::optional<LogLevel> ParseLogLevelName(std::string_view name);

enum class StoreSynchronous : uint8_t { kFull, kNormal };  // SQLite PRAGMA

// [links] compression: what a node offers in Hello (docs/wire.md 4.3).
enum class LinkCompression : uint8_t { kZstd, kOff };
std::string_view LinkCompressionName(LinkCompression c);  // "zstd", "off"
inline constexpr int kMinLinkCompressionLevel = 1;
inline constexpr int kMaxLinkCompressionLevel = 19;

inline constexpr uint32_t kMinFrameBytes = 64 * 1024;
inline constexpr uint32_t kMaxFrameBytes = 256 * 1024 * 1024;
// The largest [control] max_buffered_bytes.
inline constexpr uint64_t kMaxControlBufferedBytes = 4ull << 30;
// The config file itself is bounded: anything larger is not a config.
inline constexpr size_t kMaxConfigFileBytes = 1024 * 1024;
// sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
inline constexpr size_t kMaxSocketPathBytes = 107;

// One field per key of caravand.toml, grouped by table. Defaults here are the
// defaults of the file format (docs/config.md).
struct NodeConfig {
  // The file this came from (absolute); empty for a config built in memory.
  std::filesystem::path source;

  struct Node {
    std::string name;     // NameError(name) is empty
    std::string country;  // IsCountryCode(country)
    // Directory for state the daemon creates on its own (spool, lock file).
    std::filesystem::path data_dir = ".";
    bool operator==(const Node&) const = default;
  } node;

  struct Keys {
    std::filesystem::path identity = "identity.key";  // Ed25519, mode 0600
    std::filesystem::path link = "link.key";          // X25519, mode 0600
    // Scheduled link key rotation: a new link key once its certificate is
    // this old ("off" in the file: 0, never). 1h..365d.
    std::chrono::seconds link_rotate{30 * 24 * 3600};
    bool operator==(const Keys&) const = default;
  } keys;

  struct Store {
    std::filesystem::path database = "caravan.db";
    StoreSynchronous synchronous = StoreSynchronous::kFull;
    // Page cache of the writer's connection while it writes (released
    // after a few idle seconds), MiB.
    uint32_t cache_mib = 64;
    // Bytes of the database file the writer maps while it writes, MiB
    // (0: none; unmapped after a few idle seconds).
    uint32_t mmap_mib = 2047;
    // The writer's filter of held ids (daemon/store/id_key_filter.h), MiB;
    // 0: none.
    uint32_t id_filter_mib = 8;
    bool operator==(const Store&) const = default;
  } store;

  struct Control {
    std::filesystem::path socket = "caravand.sock";  // <= 107 bytes resolved
    // Group given to the socket (mode 0660) when it exists; empty: leave the
    // daemon's own group.
    std::string group = "caravan";
    uint32_t max_frame_bytes = 16 * 1024 * 1024;  // kMin..kMaxFrameBytes
    // Live CLI connections at most (1..4096).
    uint32_t max_connections = 64;
    // Request and reply bytes all connections may hold together, beyond
    // 64 KiB free per connection. max_frame_bytes..kMaxControlBufferedBytes.
    uint64_t max_buffered_bytes = 64ull * 1024 * 1024;
    // A connection with no request for this long is closed.
    std::chrono::seconds idle_timeout{120};
    // A request frame must arrive whole within this of its first byte.
    std::chrono::seconds frame_timeout{30};
    // A reply must be read within this, or the connection is closed.
    std::chrono::seconds write_timeout{30};
    bool operator==(const Control&) const = default;
  } control;

  struct Peers {
    std::optional<HostPort> listen;  // unset: no listener (dial out only)
    std::filesystem::path roster = "roster.toml";
    std::chrono::seconds dial_backoff_max{300};
    // A member that told us (authenticated) we are not on its roster is
    // redialed from 1s doubling up to this; 10s..1h.
    std::chrono::seconds refused_backoff_max{300};
    std::chrono::seconds keepalive{30};
    std::chrono::seconds handshake_timeout{10};
    uint32_t max_message_bytes = 16 * 1024 * 1024;  // kMin..kMaxFrameBytes
    // Inbound handshakes in progress at once (1..4096) and from one source
    // address (1..max_handshakes); a quarter are kept for known addresses.
    uint32_t max_handshakes = 64;
    uint32_t max_handshakes_per_source = 4;
    // For an inbound connection's first handshake message; 1s..
    // handshake_timeout.
    std::chrono::seconds first_message_timeout{2};
    // Failed handshakes: the first per source at once, then one summary per
    // source and interval (log and audit); 1s..1h.
    std::chrono::seconds failure_report_interval{60};
    bool operator==(const Peers&) const = default;
  } peers;

  // Compression of application messages on links (docs/wire.md 4.3).
  struct Links {
    // "zstd": offered in Hello and used towards peers that offer it too;
    // "off": neither offered nor accepted.
    LinkCompression compression = LinkCompression::kZstd;
    // zstd level for what this node sends, kMin..kMaxLinkCompressionLevel.
    int compression_level = 1;
    bool operator==(const Links&) const = default;
  } links;

  struct Policy {
    std::filesystem::path dir = "policies";
    bool operator==(const Policy&) const = default;
  } policy;

  // MISP warninglists (docs/warninglists.md): every *.json in `dir` is
  // loaded at start and on policy reload; empty dir: none.
  struct Warninglists {
    std::filesystem::path dir;
    enum class OnMatch : uint8_t { kFlag, kRefuse };
    OnMatch on_match = OnMatch::kFlag;  // refuse: submissions are refused
    bool subdomains = false;  // hostname lists also match subdomains
    bool operator==(const Warninglists&) const = default;
  } warninglists;

  // [inbound]: what this node does with what peers tell it (issue 16).
  struct Inbound {
    // A peer's signed compromise notice (docs/federation.md,
    // "Compromise"): quarantine the named key's records since its time,
    // flag them (audit, a mark in show/query, never relayed), or only
    // audit the notice.
    enum class OnCompromiseNotice { kQuarantine, kFlag, kIgnore };
    OnCompromiseNotice act_on_compromise_notices = OnCompromiseNotice::kFlag;
    bool operator==(const Inbound&) const = default;
  } inbound;

  struct Taxii {
    std::optional<HostPort> listen;  // unset: no TAXII server
    // TOML file of [[account]] tables (docs/taxii.md); empty: no accounts,
    // every request is refused with 401.
    std::filesystem::path accounts;
    uint32_t page_size_max = 1000;  // largest `limit` served, 1..10000
    uint64_t max_request_bytes = 8 * 1024 * 1024;  // POST bodies; 413 above
    // Hostile-load limits (docs/config.md [taxii], docs/taxii.md "Limits").
    uint32_t max_header_bytes = 16 * 1024;       // request head; 431 above
    uint32_t max_connections = 256;              // 1..100000
    uint32_t max_connections_per_source = 32;    // per address, 1..100000
    std::chrono::seconds header_timeout{10};     // whole head, 1 s..5 min
    std::chrono::seconds idle_timeout{30};       // keep-alive, 1 s..1 h
    std::chrono::seconds request_timeout{60};    // body; response, 1 s..1 h
    uint32_t login_failures_before_delay = 5;    // then 429, 1..1000
    std::chrono::seconds login_delay_max{60};    // longest delay, 1 s..1 h
    uint32_t max_pending_logins = 16;            // queued Argon2, 1..1024
    // One summary (log line + audit entry) per source and interval.
    std::chrono::seconds login_log_interval{60};  // 1 s..1 h
    // Serve records of members removed from the roster (issue 16); off:
    // TAXII and the feeds leave them out, like `caravan export`.
    bool include_removed = false;
    bool operator==(const Taxii&) const = default;
  } taxii;

  // Spool directory for SIEM/SOAR drops (docs/spool.md); empty: off.
  struct Spool {
    std::filesystem::path dir;
    // Files larger than this go to failed/ unread (1 KiB..4 GiB).
    uint64_t max_file_bytes = 256ull * 1024 * 1024;
    // How often incoming/ is scanned for new files.
    std::chrono::seconds poll_interval{2};
    // A file is claimed only after its size and mtime stayed unchanged this
    // long (writers that do not rename into place); 0..1h, 0: at once.
    std::chrono::seconds settle_time{2};
    bool operator==(const Spool&) const = default;
  } spool;

  // Context given to submissions that do not say otherwise.
  struct Defaults {
    Tlp tlp = Tlp::kAmber;
    uint8_t confidence = 50;  // 0..100
    Reshare reshare = Reshare::kDirect;
    bool operator==(const Defaults&) const = default;
  } defaults;

  struct Log {
    LogLevel level = LogLevel::kInfo;
    bool operator==(const Log&) const = default;
  } log;

  // Hub mode (docs/federation.md): store and forward sealed batches between
  // members that do not link directly. Off: sealed batches addressed to
  // others are refused.
  struct Hub {
    bool enabled = false;
    // Largest sealed envelope accepted, bytes (<= peers.max_message_bytes
    // in practice: a bigger one cannot arrive).
    uint32_t max_envelope_bytes = 16 * 1024 * 1024;  // 1 KiB..256 MiB
    // Envelopes queued from one sender (all its recipients) before further
    // ones are refused until recipients drain the queue.
    uint32_t max_queued_per_sender = 10000;  // 1..10000000
    // Sender side (any member reaching others via a hub): a sealed batch
    // the recipient has not acknowledged with its own receipt this long
    // after we sent it is sent again (the hub may have lost or held it).
    std::chrono::seconds resend_after{60};  // 1s..1d
    // Forward secrecy (docs/federation.md, "Prekeys"): every member makes a
    // new X25519 prekey this often and publishes it signed; senders seal
    // to it. A statement is valid for two periods (so one fetched just
    // before a rotation still serves an offline sender).
    std::chrono::seconds prekey_rotate{86400};  // 1s..30d
    // How long a prekey secret is kept after its statement expired, so
    // envelopes sealed to it late (resent, or held in a hub's queue) still
    // open; then it is erased. At least resend_after.
    std::chrono::seconds prekey_grace{2 * 86400};  // 1s..30d
    // Hub accountability (docs/federation.md "Delay"): a sealed envelope
    // that took longer than this from its sealing to its opening here is
    // audited as hub_delay (at most once a minute per hub and sender).
    std::chrono::seconds delay_alert{300};  // 1s..7d
    bool operator==(const Hub&) const = default;
  } hub;

  // Prometheus metrics over HTTP (docs/metrics.md). No authentication:
  // bind to loopback or put it behind a proxy.
  struct Metrics {
    std::optional<HostPort> listen;  // unset: no metrics listener
    uint32_t max_connections = 16;            // 1..1024
    uint32_t max_connections_per_source = 4;  // per address, 1..1024
    bool operator==(const Metrics&) const = default;
  } metrics;

  struct Retention {
    std::chrono::seconds sweep_interval{3600};
    bool operator==(const Retention&) const = default;
  } retention;

  bool operator==(const NodeConfig&) const = default;
};

// Reads and validates `path`. On success every path in the result is
// absolute and `source` is the absolute path of the file. On failure:
// kNotFound if the file does not exist, kUnavailable if it cannot be read,
// kInvalidInput listing every problem, one `path:LINE: reason` per line.
Result<NodeConfig> LoadNodeConfig(const std::filesystem::path& path);

// Same, for text already in memory; `path` names the file in messages and
// anchors relative paths (its parent directory).
Result<NodeConfig> ParseNodeConfig(std::string_view text,
                                   const std::filesystem::path& path);

// A complete caravand.toml for `config`, every key present with a comment
// saying what it does. Paths are written as stored (relative stays
// relative). LoadNodeConfig of the result yields `config` with paths
// resolved.
std::string RenderNodeConfig(const NodeConfig& config);

// "quarantine", "flag", "ignore" ([inbound] act_on_compromise_notices).
std::string_view CompromiseNoticeActionName(
    NodeConfig::Inbound::OnCompromiseNotice a);

// What `caravan init` asks for; everything else takes its default.
struct InitialConfigOptions {
  std::string name;
  std::string country;
  std::optional<HostPort> peer_listen;
  std::optional<HostPort> taxii_listen;
  std::filesystem::path control_socket;  // empty: the default (relative)
};
// The commented caravand.toml `caravan init` writes, with paths relative to
// the directory it goes in. Does not validate; LoadNodeConfig will.
std::string RenderInitialConfig(const InitialConfigOptions& options);

// ---- helpers shared by the file loaders of protocol/ ------------------------

// Collects `file:LINE: reason` errors, so that a loader reports every problem
// in a file at once. Not thread-safe (one loader owns it).
class LineErrors {
 public:
  explicit LineErrors(std::string file) : file_(std::move(file)) {}
  // `line` 0 means the error has no line (a missing table, say).
  void Add(uint32_t line, std::string reason);
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  // kInvalidInput whose message holds the errors sorted by line, one per
  // line of text. Only call when !empty().
  Status ToStatus() const;

 private:
  std::string file_;
  std::vector<std::pair<uint32_t, std::string>> items_;
};

// Reads a whole file. On failure: kNotFound when it does not exist,
// kUnavailable when it cannot be read, kInvalidInput when it is larger than
// `max_bytes` or not a regular file.
Result<std::string> ReadBoundedFile(const std::filesystem::path& path,
                                    size_t max_bytes);

// `s` as a TOML basic string, quotes included, control characters escaped.
std::string QuoteTomlString(std::string_view s);

// The config file the CLI uses when --config is not given:
// $CARAVAN_CONFIG when set and non-empty, else /etc/caravan/caravand.toml.
std::filesystem::path DefaultConfigPath();

}  // namespace caravan::protocol
