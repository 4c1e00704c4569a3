// Tests of the node config format (protocol/config/node_config.h).

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "protocol/config/node_config.h"
#include "tests/unit/protocol/config/config_test_util.h"

namespace caravan {
namespace {

namespace fs = std::filesystem;
using config_test::ErrorOf;
using config_test::TempDir;
using protocol::HostPort;
using protocol::NodeConfig;

constexpr const char* kMinimal = R"([node]
name = "CERT-UZ"
country = "UZ"
)";

// ---- HostPort -----------------------------------------------------------------

TEST(HostPortTest, ParsesIpv4Ipv6AndHostnames) {
  Result<HostPort> v4 = protocol::ParseHostPort("192.0.2.1:7420");
  ASSERT_TRUE(v4.ok()) << ErrorOf(v4);
  EXPECT_EQ(v4->host, "192.0.2.1");
  EXPECT_EQ(v4->port, 7420);

  Result<HostPort> v6 = protocol::ParseHostPort("[2001:db8::1]:443");
  ASSERT_TRUE(v6.ok()) << ErrorOf(v6);
  EXPECT_EQ(v6->host, "2001:db8::1");
  EXPECT_EQ(v6->port, 443);
  EXPECT_EQ(v6->ToString(), "[2001:db8::1]:443");

  Result<HostPort> any6 = protocol::ParseHostPort("[::]:1");
  ASSERT_TRUE(any6.ok()) << ErrorOf(any6);
  EXPECT_EQ(any6->host, "::");

  Result<HostPort> name = protocol::ParseHostPort("cert.example.org:65535");
  ASSERT_TRUE(name.ok()) << ErrorOf(name);
  EXPECT_EQ(name->host, "cert.example.org");
  EXPECT_EQ(name->port, 65535);
  EXPECT_EQ(name->ToString(), "cert.example.org:65535");

  EXPECT_TRUE(protocol::ParseHostPort("localhost:1").ok());
  EXPECT_TRUE(protocol::ParseHostPort("fqdn.example.:1").ok());
}

TEST(HostPortTest, RejectsBadPortsAndHosts) {
  struct Case {
    const char* text;
    const char* reason_part;
  };
  const Case cases[] = {
      {"", "empty"},
      {"192.0.2.1", "no port"},
      {"192.0.2.1:", "no port"},
      {"192.0.2.1:0", "out of range 1..65535"},
      {"192.0.2.1:65536", "out of range 1..65535"},
      {"192.0.2.1:123456", "not a number"},
      {"192.0.2.1:80a", "not a number"},
      {"192.0.2.1:-1", "not a number"},
      {"2001:db8::1:7420", "must be in brackets"},
      {"[2001:db8::1]", "no ':PORT'"},
      {"[2001:db8::1]7420", "no ':PORT'"},
      {"[2001:db8::1:7420", "without ']'"},
      {"[192.0.2.1]:80", "not an IPv6 address"},
      {"[fe80::1%eth0]:80", "not an IPv6 address"},
      {"256.0.0.1:80", "not an IPv4 address"},
      {"1.2.3:80", "not an IPv4 address"},
      {":80", "no host"},
      {"-bad.example:80", "not a valid host name"},
      {"bad_host:80", "not a valid host name"},
      {"a..b:80", "not a valid host name"},
  };
  for (const Case& c : cases) {
    Result<HostPort> r = protocol::ParseHostPort(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput);
    EXPECT_NE(r.status().message().find(c.reason_part), std::string::npos)
        << c.text << " -> " << r.status().message();
  }
  EXPECT_FALSE(protocol::ParseHostPort(std::string(400, 'a') + ":1").ok());
}

// ---- durations ---------------------------------------------------------------

TEST(ConfigDurationTest, ParsesAndFormats) {
  using std::chrono::seconds;
  EXPECT_EQ(*protocol::ParseConfigDuration("30s"), seconds(30));
  EXPECT_EQ(*protocol::ParseConfigDuration("5m"), seconds(300));
  EXPECT_EQ(*protocol::ParseConfigDuration("1h30m"), seconds(5400));
  EXPECT_EQ(*protocol::ParseConfigDuration("7d"), seconds(7 * 86400));
  EXPECT_EQ(protocol::FormatConfigDuration(seconds(90)), "1m30s");
  EXPECT_EQ(protocol::FormatConfigDuration(seconds(86400 + 3600)), "1d1h");
  for (const char* bad : {"", "5", "5x", "0s", "m", "1h 30m", "3651d",
                          "99999999999999999999s", "-5s"}) {
    EXPECT_FALSE(protocol::ParseConfigDuration(bad).ok()) << bad;
  }
}

TEST(NodeConfigTest, LinkRotateTakesADurationOrOff) {
  auto on = protocol::ParseNodeConfig(std::string(kMinimal) + "[keys]\nlink_rotate = \"7d\"\n",
                                      "/c/caravand.toml");
  ASSERT_TRUE(on.ok()) << on.status().message();
  EXPECT_EQ(on->keys.link_rotate, std::chrono::hours(7 * 24));
  auto off = protocol::ParseNodeConfig(std::string(kMinimal) + "[keys]\nlink_rotate = \"off\"\n",
                                       "/c/caravand.toml");
  ASSERT_TRUE(off.ok()) << off.status().message();
  EXPECT_EQ(off->keys.link_rotate.count(), 0);
  // Rendered as read back.
  auto again = protocol::ParseNodeConfig(protocol::RenderNodeConfig(*off), "/c/caravand.toml");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->keys.link_rotate.count(), 0);
  auto bad = protocol::ParseNodeConfig(std::string(kMinimal) + "[keys]\nlink_rotate = \"soon\"\n",
                                       "/c/caravand.toml");
  EXPECT_FALSE(bad.ok());
}

TEST(NodeConfigTest, RefusedBackoffMaxDefaultsToFiveMinutesWithinTenSecondsToAnHour) {
  auto def = protocol::ParseNodeConfig(std::string(kMinimal), "/c/caravand.toml");
  ASSERT_TRUE(def.ok()) << def.status().message();
  EXPECT_EQ(def->peers.refused_backoff_max, std::chrono::minutes(5));
  auto set = protocol::ParseNodeConfig(
      std::string(kMinimal) + "[peers]\nrefused_backoff_max = \"20m\"\n", "/c/caravand.toml");
  ASSERT_TRUE(set.ok()) << set.status().message();
  EXPECT_EQ(set->peers.refused_backoff_max, std::chrono::minutes(20));
  // Rendered (caravan init, showconf) and read back.
  auto again = protocol::ParseNodeConfig(protocol::RenderNodeConfig(*set), "/c/caravand.toml");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->peers.refused_backoff_max, std::chrono::minutes(20));
  for (const char* bad : {"5s", "2h"}) {
    auto r = protocol::ParseNodeConfig(std::string(kMinimal) +
                                           "[peers]\nrefused_backoff_max = \"" + bad + "\"\n",
                                       "/c/caravand.toml");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("refused_backoff_max"), std::string::npos)
        << r.status().message();
    EXPECT_NE(r.status().message().find("10s..1h"), std::string::npos) << r.status().message();
  }
}

// ---- LoadNodeConfig: good files ---------------------------------------------

TEST(NodeConfigTest, MinimalFileTakesDefaultsResolvedAgainstItsDirectory) {
  TempDir dir;
  fs::path file = dir.Write("caravand.toml", kMinimal);
  Result<NodeConfig> c = protocol::LoadNodeConfig(file);
  ASSERT_TRUE(c.ok()) << ErrorOf(c);
  const fs::path d = dir.path();
  EXPECT_EQ(c->source, file);
  EXPECT_EQ(c->node.name, "CERT-UZ");
  EXPECT_EQ(c->node.country, "UZ");
  EXPECT_EQ(c->node.data_dir, d / "");
  EXPECT_EQ(c->keys.identity, d / "identity.key");
  EXPECT_EQ(c->keys.link, d / "link.key");
  EXPECT_EQ(c->keys.link_rotate, std::chrono::hours(30 * 24));
  EXPECT_EQ(c->store.database, d / "caravan.db");
  EXPECT_EQ(c->store.synchronous, protocol::StoreSynchronous::kFull);
  EXPECT_EQ(c->store.cache_mib, 64u);
  EXPECT_EQ(c->store.mmap_mib, 2047u);
  EXPECT_EQ(c->store.id_filter_mib, 8u);
  EXPECT_EQ(c->control.socket, d / "caravand.sock");
  EXPECT_EQ(c->control.group, "caravan");
  EXPECT_EQ(c->control.max_frame_bytes, 16u * 1024 * 1024);
  EXPECT_FALSE(c->peers.listen.has_value());
  EXPECT_EQ(c->peers.roster, d / "roster.toml");
  EXPECT_EQ(c->peers.dial_backoff_max, std::chrono::minutes(5));
  EXPECT_EQ(c->peers.keepalive, std::chrono::seconds(30));
  EXPECT_EQ(c->peers.handshake_timeout, std::chrono::seconds(10));
  EXPECT_EQ(c->policy.dir, d / "policies");
  EXPECT_FALSE(c->taxii.listen.has_value());
  EXPECT_EQ(c->defaults.tlp, protocol::Tlp::kAmber);
  EXPECT_EQ(c->defaults.confidence, 50);
  EXPECT_EQ(c->defaults.reshare, protocol::Reshare::kDirect);
  EXPECT_EQ(c->log.level, protocol::LogLevel::kInfo);
  EXPECT_EQ(c->retention.sweep_interval, std::chrono::hours(1));
}

constexpr const char* kFull = R"(# every key
[node]
name = "CERT KZ"
country = "KZ"
data_dir = "/var/lib/caravan"

[keys]
identity = "/var/lib/caravan/id.key"
link = "keys/link.key"

[store]
database = "/var/lib/caravan/caravan.db"
synchronous = "normal"
cache_mib = 512
mmap_mib = 0
id_filter_mib = 0

[control]
socket = "/run/caravan/caravand.sock"
group = ""
max_frame_bytes = 1048576

[peers]
listen = "[::]:7420"
roster = "/var/lib/caravan/roster.toml"
dial_backoff_max = "10m"
keepalive = "15s"
handshake_timeout = "5s"
max_message_bytes = 8388608

[policy]
dir = "/etc/caravan/policies"

[taxii]
listen = "127.0.0.1:9470"

[defaults]
tlp = "green"
confidence = 75
reshare = "federation"

[log]
level = "debug"

[retention]
sweep_interval = "30m"
)";

TEST(NodeConfigTest, FullFileSetsEveryKey) {
  TempDir dir;
  Result<NodeConfig> c =
      protocol::LoadNodeConfig(dir.Write("caravand.toml", kFull));
  ASSERT_TRUE(c.ok()) << ErrorOf(c);
  EXPECT_EQ(c->node.name, "CERT KZ");
  EXPECT_EQ(c->node.data_dir, "/var/lib/caravan");
  EXPECT_EQ(c->keys.identity, "/var/lib/caravan/id.key");
  EXPECT_EQ(c->keys.link, dir.path() / "keys/link.key");
  EXPECT_EQ(c->store.synchronous, protocol::StoreSynchronous::kNormal);
  EXPECT_EQ(c->store.cache_mib, 512u);
  EXPECT_EQ(c->store.mmap_mib, 0u);
  EXPECT_EQ(c->store.id_filter_mib, 0u);
  EXPECT_EQ(c->control.socket, "/run/caravan/caravand.sock");
  EXPECT_EQ(c->control.group, "");
  EXPECT_EQ(c->control.max_frame_bytes, 1048576u);
  ASSERT_TRUE(c->peers.listen.has_value());
  EXPECT_EQ(*c->peers.listen, (HostPort{"::", 7420}));
  EXPECT_EQ(c->peers.dial_backoff_max, std::chrono::minutes(10));
  EXPECT_EQ(c->peers.keepalive, std::chrono::seconds(15));
  EXPECT_EQ(c->peers.handshake_timeout, std::chrono::seconds(5));
  EXPECT_EQ(c->peers.max_message_bytes, 8388608u);
  EXPECT_EQ(c->policy.dir, "/etc/caravan/policies");
  ASSERT_TRUE(c->taxii.listen.has_value());
  EXPECT_EQ(*c->taxii.listen, (HostPort{"127.0.0.1", 9470}));
  EXPECT_EQ(c->defaults.tlp, protocol::Tlp::kGreen);
  EXPECT_EQ(c->defaults.confidence, 75);
  EXPECT_EQ(c->defaults.reshare, protocol::Reshare::kFederation);
  EXPECT_EQ(c->log.level, protocol::LogLevel::kDebug);
  EXPECT_EQ(c->retention.sweep_interval, std::chrono::minutes(30));
}

TEST(NodeConfigTest, TaxiiAndMetricsLimitsHaveSafeDefaultsAndAreSet) {
  TempDir dir;
  Result<NodeConfig> d =
      protocol::LoadNodeConfig(dir.Write("d.toml", kMinimal));
  ASSERT_TRUE(d.ok()) << ErrorOf(d);
  EXPECT_EQ(d->taxii.max_connections, 256u);
  EXPECT_EQ(d->taxii.max_connections_per_source, 32u);
  EXPECT_EQ(d->taxii.max_header_bytes, 16u * 1024);
  EXPECT_EQ(d->taxii.header_timeout, std::chrono::seconds(10));
  EXPECT_EQ(d->taxii.login_failures_before_delay, 5u);
  EXPECT_EQ(d->metrics.max_connections, 16u);
  EXPECT_EQ(d->metrics.max_connections_per_source, 4u);
  Result<NodeConfig> c = protocol::LoadNodeConfig(dir.Write(
      "c.toml",
      std::string(kMinimal) +
          "[taxii]\nmax_connections = 10\nmax_connections_per_source = 2\n"
          "max_header_bytes = 4096\nheader_timeout = \"3s\"\n"
          "idle_timeout = \"1m\"\nrequest_timeout = \"2m\"\n"
          "login_failures_before_delay = 7\nlogin_delay_max = \"5m\"\n"
          "max_pending_logins = 3\nlogin_log_interval = \"10s\"\n"
          "[metrics]\nmax_connections = 8\nmax_connections_per_source = 1\n"));
  ASSERT_TRUE(c.ok()) << ErrorOf(c);
  EXPECT_EQ(c->taxii.max_connections, 10u);
  EXPECT_EQ(c->taxii.max_connections_per_source, 2u);
  EXPECT_EQ(c->taxii.max_header_bytes, 4096u);
  EXPECT_EQ(c->taxii.header_timeout, std::chrono::seconds(3));
  EXPECT_EQ(c->taxii.idle_timeout, std::chrono::seconds(60));
  EXPECT_EQ(c->taxii.request_timeout, std::chrono::seconds(120));
  EXPECT_EQ(c->taxii.login_failures_before_delay, 7u);
  EXPECT_EQ(c->taxii.login_delay_max, std::chrono::seconds(300));
  EXPECT_EQ(c->taxii.max_pending_logins, 3u);
  EXPECT_EQ(c->taxii.login_log_interval, std::chrono::seconds(10));
  EXPECT_EQ(c->metrics.max_connections, 8u);
  EXPECT_EQ(c->metrics.max_connections_per_source, 1u);
}

TEST(NodeConfigTest, RelativePathsAreRelativeToTheConfigFileNotTheCwd) {
  TempDir dir;
  fs::create_directories(dir.path() / "etc");
  fs::path file = dir.Write("etc/caravand.toml", std::string(kMinimal) +
                                                     "[store]\n"
                                                     "database = \"../var/db.sqlite\"\n"
                                                     "[policy]\n"
                                                     "dir = \"./pol/../policies\"\n");
  // A relative path to the file itself is made absolute as well.
  fs::path old_cwd = fs::current_path();
  fs::current_path(dir.path());
  Result<NodeConfig> c = protocol::LoadNodeConfig("etc/caravand.toml");
  fs::current_path(old_cwd);
  ASSERT_TRUE(c.ok()) << ErrorOf(c);
  EXPECT_EQ(c->source, file);
  EXPECT_EQ(c->store.database, dir.path() / "var/db.sqlite");
  EXPECT_EQ(c->policy.dir, dir.path() / "etc/policies");
  EXPECT_EQ(c->keys.identity, dir.path() / "etc/identity.key");
  EXPECT_TRUE(c->control.socket.is_absolute());
}

TEST(NodeConfigTest, EmptyListenMeansNoListener) {
  Result<NodeConfig> c = protocol::ParseNodeConfig(
      std::string(kMinimal) + "[peers]\nlisten = \"\"\n[taxii]\nlisten = \"\"\n",
      "/etc/caravan/caravand.toml");
  ASSERT_TRUE(c.ok()) << ErrorOf(c);
  EXPECT_FALSE(c->peers.listen.has_value());
  EXPECT_FALSE(c->taxii.listen.has_value());
}

// ---- LoadNodeConfig: errors, each with its line -----------------------------

struct ErrorCase {
  const char* name;
  std::string tail;     // appended to kMinimal (3 lines), so line 4 is first
  std::string expect;   // the whole message after "/c/caravand.toml:"
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

class NodeConfigErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(NodeConfigErrorTest, ReportsFileLineAndReason) {
  const ErrorCase& c = GetParam();
  Result<NodeConfig> r = protocol::ParseNodeConfig(std::string(kMinimal) + c.tail,
                                                   "/c/caravand.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(r.status().message(), "/c/caravand.toml:" + c.expect);
}

INSTANTIATE_TEST_SUITE_P(
    EachKind, NodeConfigErrorTest,
    ::testing::Values(
        ErrorCase{"UnknownTable", "[nodes]\nx = 1\n",
                  "4: unknown table [nodes]"},
        ErrorCase{"UnknownKey", "[store]\npath = \"x\"\n",
                  "5: unknown key 'path' in [store]"},
        ErrorCase{"TopLevelKeyAfterTables", "[log]\n[log.extra]\n",
                  "5: unknown key 'extra' in [log]"},
        ErrorCase{"KeyOfAnotherTable", "keys = 5\n",
                  "4: unknown key 'keys' in [node]"},
        ErrorCase{"LinkRotateTooShort", "[keys]\nlink_rotate = \"30m\"\n",
                  "5: [keys] link_rotate: '30m' is out of range 1h..365d (or "
                  "\"off\")"},
        ErrorCase{"LinkRotateTooLong", "[keys]\nlink_rotate = \"366d\"\n",
                  "5: [keys] link_rotate: '366d' is out of range 1h..365d (or "
                  "\"off\")"},
        ErrorCase{"WrongTypeString", "[defaults]\nconfidence = \"50\"\n",
                  "5: [defaults] confidence: must be an integer, not a "
                  "string"},
        ErrorCase{"WrongTypeInteger", "[store]\ndatabase = 7\n",
                  "5: [store] database: must be a string, not an integer"},
        ErrorCase{"OutOfRange", "[defaults]\n\nconfidence = 101\n",
                  "6: [defaults] confidence: 101 is out of range 0..100"},
        ErrorCase{"FrameTooSmall", "[control]\nmax_frame_bytes = 10\n",
                  "5: [control] max_frame_bytes: 10 is out of range "
                  "65536..268435456"},
        ErrorCase{"BadHostPort", "[peers]\nlisten = \"0.0.0.0:99999\"\n",
                  "5: [peers] listen: port 99999 is out of range 1..65535"},
        ErrorCase{"UnbracketedIpv6", "[taxii]\nlisten = \"::1:80\"\n",
                  "5: [taxii] listen: '::1:80': an IPv6 address must be in "
                  "brackets, as in [2001:db8::1]:7420"},
        ErrorCase{"TaxiiTimeoutOutOfRange",
                  "[taxii]\nheader_timeout = \"10m\"\n",
                  "5: [taxii] header_timeout: must be between 1s and 5m"},
        ErrorCase{"TaxiiCapOutOfRange", "[taxii]\nmax_connections = 0\n",
                  "5: [taxii] max_connections: 0 is out of range 1..100000"},
        ErrorCase{"MetricsCapOutOfRange",
                  "[metrics]\nmax_connections_per_source = 5000\n",
                  "5: [metrics] max_connections_per_source: 5000 is out of "
                  "range 1..1024"},
        ErrorCase{"BadDuration", "[peers]\nkeepalive = \"30\"\n",
                  "5: [peers] keepalive: duration '30' lacks a unit (s, m, "
                  "h or d) after its number"},
        ErrorCase{"BadTlp", "[defaults]\ntlp = \"amber-strict\"\n",
                  "5: [defaults] tlp: 'amber-strict' is not a TLP (clear, "
                  "green, amber, amber+strict, red)"},
        ErrorCase{"BadReshare", "[defaults]\nreshare = \"all\"\n",
                  "5: [defaults] reshare: 'all' is not one of: none, "
                  "direct, federation"},
        ErrorCase{"BadLevel", "[log]\nlevel = \"verbose\"\n",
                  "5: [log] level: 'verbose' is not one of: debug, info, "
                  "notice, warning, error"},
        ErrorCase{"BadSynchronous", "[store]\nsynchronous = \"off\"\n",
                  "5: [store] synchronous: 'off' is not one of: full, normal"},
        ErrorCase{"TinyCache", "[store]\ncache_mib = 1\n",
                  "5: [store] cache_mib: 1 is out of range 2..65536"},
        ErrorCase{"MmapBeyondSqlite", "[store]\nmmap_mib = 2048\n",
                  "5: [store] mmap_mib: 2048 is out of range 0..2047"},
        ErrorCase{"HugeIdFilter", "[store]\nid_filter_mib = 1025\n",
                  "5: [store] id_filter_mib: 1025 is out of range 0..1024"},
        ErrorCase{"EmptyPath", "[policy]\ndir = \"\"\n",
                  "5: [policy] dir: must not be empty"},
        ErrorCase{"BadGroup", "[control]\ngroup = \"a b\"\n",
                  "5: [control] group: 'a b' is not a group name"},
        ErrorCase{"SocketPathTooLong",
                  "[control]\nsocket = \"/" + std::string(110, 's') + "\"\n",
                  "5: [control] socket: '/" + std::string(110, 's') +
                      "' is 111 bytes; a Unix socket path holds at most 107"},
        ErrorCase{"SyntaxError", "[log]\nlevel = info\n",
                  "5: Error while parsing floating-point: expected "
                  "value-terminator, saw 'o'"},
        ErrorCase{"DuplicateKey",
                  "[log]\nlevel = \"info\"\nlevel = \"debug\"\n",
                  "6: Error while parsing key-value pair: cannot redefine "
                  "existing string 'level'"}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) {
      return std::string(info.param.name);
    });

TEST(NodeConfigTest, BadNodeValuesNameTheirLines) {
  Result<NodeConfig> r = protocol::ParseNodeConfig(
      "[node]\nname = \"\"\ncountry = \"uz\"\n", "/c/caravand.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "/c/caravand.toml:2: [node] name: '' is empty\n"
            "/c/caravand.toml:3: [node] country: 'uz' is not an ISO 3166-1 "
            "alpha-2 code (two uppercase letters, such as UZ)");
  r = protocol::ParseNodeConfig(
      "[node]\nname = \"" + std::string(65, 'n') + "\"\ncountry = \"UZB\"\n",
      "c.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("c.toml:2: [node] name: "),
            std::string::npos);
  EXPECT_NE(r.status().message().find("longer than 64"), std::string::npos);
  EXPECT_NE(r.status().message().find("c.toml:3: [node] country: 'UZB'"),
            std::string::npos);
  r = protocol::ParseNodeConfig("[node]\nname = \"tab\\there\"\ncountry = \"UZ\"\n",
                                "c.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not printable ASCII"), std::string::npos);
}

TEST(NodeConfigTest, TopLevelKeysAndNonTablesAreRejected) {
  Result<NodeConfig> r = protocol::ParseNodeConfig(
      std::string("keys = 5\nlevel = \"info\"\n") + kMinimal, "/c/n.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "/c/n.toml:1: 'keys' must be a table, not an integer\n"
            "/c/n.toml:2: unknown top-level key 'level' (keys belong in a "
            "table such as [node])");
}

TEST(NodeConfigTest, MissingRequiredKeysAndTable) {
  Result<NodeConfig> r =
      protocol::ParseNodeConfig("[node]\ndata_dir = \"x\"\n", "/c/n.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "/c/n.toml:1: [node] name: is required\n"
            "/c/n.toml:1: [node] country: is required");
  r = protocol::ParseNodeConfig("[log]\nlevel = \"info\"\n", "/c/n.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "/c/n.toml: missing [node] table with name and country");
}

TEST(NodeConfigTest, ReportsEveryErrorSortedByLine) {
  const std::string text = R"([retention]
sweep_interval = "forever"
[node]
name = "CERT-UZ"
country = "Uzbekistan"
colour = "blue"
[defaults]
tlp = "purple"
confidence = -1
[peers]
listen = "nowhere"
)";
  Result<NodeConfig> r = protocol::ParseNodeConfig(text, "/etc/c.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "/etc/c.toml:2: [retention] sweep_interval: duration 'forever' is "
            "not like 30s, 5m, 1h30m or 7d\n"
            "/etc/c.toml:5: [node] country: 'Uzbekistan' is not an ISO 3166-1 "
            "alpha-2 code (two uppercase letters, such as UZ)\n"
            "/etc/c.toml:6: unknown key 'colour' in [node]\n"
            "/etc/c.toml:8: [defaults] tlp: 'purple' is not a TLP (clear, "
            "green, amber, amber+strict, red)\n"
            "/etc/c.toml:9: [defaults] confidence: -1 is out of range 0..100\n"
            "/etc/c.toml:11: [peers] listen: 'nowhere' has no port; expected "
            "HOST:PORT");
}

TEST(NodeConfigTest, MissingUnreadableAndHugeFiles) {
  TempDir dir;
  Result<NodeConfig> r = protocol::LoadNodeConfig(dir.path() / "absent.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("absent.toml"), std::string::npos);

  r = protocol::LoadNodeConfig(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(r.status().message().find("not a regular file"), std::string::npos);

  std::string huge = std::string(kMinimal) + "# " +
                     std::string(protocol::kMaxConfigFileBytes, 'x') + "\n";
  r = protocol::LoadNodeConfig(dir.Write("huge.toml", huge));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(r.status().message().find("larger than"), std::string::npos);
}

// ---- rendering ---------------------------------------------------------------

TEST(NodeConfigTest, RenderThenLoadGivesTheSameConfig) {
  TempDir dir;
  Result<NodeConfig> full =
      protocol::LoadNodeConfig(dir.Write("full.toml", kFull));
  ASSERT_TRUE(full.ok()) << ErrorOf(full);
  fs::path again_path =
      dir.Write("again.toml", protocol::RenderNodeConfig(*full));
  Result<NodeConfig> again = protocol::LoadNodeConfig(again_path);
  ASSERT_TRUE(again.ok()) << ErrorOf(again);
  NodeConfig expected = *full;
  expected.source = again_path;
  EXPECT_EQ(*again, expected);
}

TEST(NodeConfigTest, RenderQuotesAwkwardStrings) {
  NodeConfig c;
  c.node.name = "CERT \"quoted\" \\ back";
  c.node.country = "UZ";
  c.policy.dir = "/etc/odd\tdir/\"p\"";
  Result<NodeConfig> back =
      protocol::ParseNodeConfig(protocol::RenderNodeConfig(c), "/x/c.toml");
  ASSERT_TRUE(back.ok()) << ErrorOf(back);
  EXPECT_EQ(back->node.name, c.node.name);
  EXPECT_EQ(back->policy.dir, c.policy.dir);
}

TEST(NodeConfigTest, InitialConfigLoadsWithPathsInsideTheNodeDirectory) {
  TempDir dir;
  protocol::InitialConfigOptions options;
  options.name = "CERT-UZ";
  options.country = "UZ";
  options.peer_listen = HostPort{"0.0.0.0", 7420};
  options.taxii_listen = HostPort{"::1", 9470};
  const std::string text = protocol::RenderInitialConfig(options);
  // It explains itself: every table has comments.
  EXPECT_NE(text.find("# "), std::string::npos);
  EXPECT_NE(text.find("docs/config.md"), std::string::npos);
  Result<NodeConfig> c =
      protocol::LoadNodeConfig(dir.Write("caravand.toml", text));
  ASSERT_TRUE(c.ok()) << ErrorOf(c);
  EXPECT_EQ(c->node.name, "CERT-UZ");
  EXPECT_EQ(c->node.country, "UZ");
  EXPECT_EQ(*c->peers.listen, (HostPort{"0.0.0.0", 7420}));
  EXPECT_EQ(*c->taxii.listen, (HostPort{"::1", 9470}));
  EXPECT_EQ(c->keys.identity, dir.path() / "identity.key");
  EXPECT_EQ(c->peers.roster, dir.path() / "roster.toml");
  EXPECT_EQ(c->control.socket, dir.path() / "caravand.sock");

  options.peer_listen.reset();
  options.taxii_listen.reset();
  options.control_socket = "/run/caravan-test/c.sock";
  c = protocol::ParseNodeConfig(protocol::RenderInitialConfig(options),
                                dir.path() / "caravand.toml");
  ASSERT_TRUE(c.ok()) << ErrorOf(c);
  EXPECT_FALSE(c->peers.listen.has_value());
  EXPECT_FALSE(c->taxii.listen.has_value());
  EXPECT_EQ(c->control.socket, "/run/caravan-test/c.sock");
}

// The repository root, from this file's path
// (tests/unit/protocol/config/...).
fs::path RepoRoot() {
  return fs::path(__FILE__).parent_path().parent_path().parent_path()
      .parent_path().parent_path();
}

// docs/deploy.md: the shipped example names the placeholder country XX,
// which must stop the daemon until the operator sets a real one (issue 15:
// it used to start as "CERT-EXAMPLE (XX)"). With a country set, everything
// else in it loads as is.
TEST(NodeConfigTest, ShippedExampleConfigRefusesItsPlaceholderCountry) {
  fs::path example = RepoRoot() / "systemd/caravand.toml";
  ASSERT_TRUE(fs::exists(example)) << example;
  Result<NodeConfig> placeholder = protocol::LoadNodeConfig(example);
  ASSERT_FALSE(placeholder.ok());
  const std::string& message = placeholder.status().message();
  EXPECT_EQ(message.find(example.string() + ":"), 0u) << message;
  EXPECT_NE(message.find(": [node] country: 'XX' is the example config's "
                         "placeholder: set this node's own ISO 3166-1 "
                         "alpha-2 code (such as UZ)"),
            std::string::npos)
      << message;
  // The only error: nothing else in the example needs editing to start.
  EXPECT_EQ(placeholder.status().message().find('\n'), std::string::npos)
      << placeholder.status().message();
}

TEST(NodeConfigTest, ShippedExampleConfigLoadsOnceTheCountryIsSet) {
  fs::path example = RepoRoot() / "systemd/caravand.toml";
  ASSERT_TRUE(fs::exists(example)) << example;
  std::ifstream in(example);
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  const std::string placeholder = "country = \"XX\"";
  const size_t at = text.find(placeholder);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, placeholder.size(), "country = \"UZ\"");
  Result<NodeConfig> c = protocol::ParseNodeConfig(text, example);
  ASSERT_TRUE(c.ok()) << ErrorOf(c);
  EXPECT_EQ(c->node.country, "UZ");
  EXPECT_EQ(c->keys.identity, "/var/lib/caravan/identity.key");
  EXPECT_EQ(c->store.database, "/var/lib/caravan/caravan.db");
  EXPECT_EQ(c->peers.roster, "/var/lib/caravan/roster.toml");
  EXPECT_EQ(c->control.socket, "/run/caravan/caravand.sock");
  EXPECT_EQ(c->policy.dir, "/etc/caravan/policies");
  EXPECT_EQ(*c->peers.listen, (HostPort{"::", 7420}));
  // Everything else is at its default.
  NodeConfig defaults;
  EXPECT_EQ(c->defaults, defaults.defaults);
  EXPECT_EQ(c->log, defaults.log);
  EXPECT_EQ(c->retention, defaults.retention);
  EXPECT_EQ(c->peers.keepalive, defaults.peers.keepalive);
}

// Issue 15: an operator not yet in the caravan group cannot search
// /etc/caravan (0750); the CLI said "no such file" for a config that is
// there. Root reads through any mode, so this runs only unprivileged (the
// deploy_doc test checks it as a real operator under root CI).
TEST(NodeConfigTest, UnsearchableDirectoryIsPermissionDeniedNotMissing) {
  if (geteuid() == 0) GTEST_SKIP() << "root ignores directory modes";
  TempDir dir;
  fs::create_directory(dir.path() / "etc");
  fs::path file = dir.Write("etc/caravand.toml", kMinimal);
  fs::permissions(dir.path() / "etc", fs::perms::none);
  Result<NodeConfig> r = protocol::LoadNodeConfig(file);
  fs::permissions(dir.path() / "etc", fs::perms::owner_all);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            file.string() +
                ": permission denied (is this user in the file's group?)");
  EXPECT_NE(r.status().code(), StatusCode::kNotFound);
}

TEST(NodeConfigTest, DefaultConfigPathFollowsTheEnvironment) {
  const char* old = getenv("CARAVAN_CONFIG");
  std::string saved = old != nullptr ? old : "";
  unsetenv("CARAVAN_CONFIG");
  EXPECT_EQ(protocol::DefaultConfigPath(), "/etc/caravan/caravand.toml");
  setenv("CARAVAN_CONFIG", "", 1);
  EXPECT_EQ(protocol::DefaultConfigPath(), "/etc/caravan/caravand.toml");
  setenv("CARAVAN_CONFIG", "/srv/node/caravand.toml", 1);
  EXPECT_EQ(protocol::DefaultConfigPath(), "/srv/node/caravand.toml");
  if (old != nullptr) {
    setenv("CARAVAN_CONFIG", saved.c_str(), 1);
  } else {
    unsetenv("CARAVAN_CONFIG");
  }
}

// Issue 14, finding 6: the control socket's resource limits.
TEST(NodeConfigTest, ControlLimitsHaveSafeDefaultsAndRanges) {
  auto c = protocol::ParseNodeConfig(kMinimal, "/c/n.toml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->control.max_connections, 64u);
  EXPECT_EQ(c->control.max_buffered_bytes, 64u << 20);
  EXPECT_EQ(c->control.idle_timeout, std::chrono::seconds(120));
  EXPECT_EQ(c->control.frame_timeout, std::chrono::seconds(30));
  EXPECT_EQ(c->control.write_timeout, std::chrono::seconds(30));

  c = protocol::ParseNodeConfig(
      std::string(kMinimal) +
          "[control]\nmax_frame_bytes = 1048576\nmax_buffered_bytes = "
          "4194304\nmax_connections = 8\nframe_timeout = \"3s\"\n"
          "write_timeout = \"1s\"\nidle_timeout = \"1m\"\n",
      "/c/n.toml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->control.max_buffered_bytes, 4u << 20);
  EXPECT_EQ(c->control.max_connections, 8u);
  EXPECT_EQ(c->control.frame_timeout, std::chrono::seconds(3));
  EXPECT_EQ(c->control.write_timeout, std::chrono::seconds(1));
  EXPECT_EQ(c->control.idle_timeout, std::chrono::seconds(60));

  c = protocol::ParseNodeConfig(
      std::string(kMinimal) + "[control]\nmax_connections = 0\n", "/c/n.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("max_connections: 0 is out of range"),
            std::string::npos)
      << c.status().message();
  // A budget smaller than one frame could never read a full frame.
  c = protocol::ParseNodeConfig(
      std::string(kMinimal) +
          "[control]\nmax_frame_bytes = 8388608\nmax_buffered_bytes = "
          "4194304\n",
      "/c/n.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(
                "max_buffered_bytes (4194304) must be at least "
                "max_frame_bytes (8388608)"),
            std::string::npos)
      << c.status().message();
}

}  // namespace
}  // namespace caravan

namespace caravan {
namespace {

// [links] (docs/wire.md 4.3): zstd by default, "off" accepted, anything
// else and a level out of 1..19 refused with the line.
TEST(NodeConfigTest, LinkCompressionDefaultsToZstdAndIsValidated) {
  auto c = protocol::ParseNodeConfig(kMinimal, "/c/n.toml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->links.compression, protocol::LinkCompression::kZstd);
  EXPECT_EQ(c->links.compression_level, 1);

  c = protocol::ParseNodeConfig(
      std::string(kMinimal) + "[links]\ncompression = \"off\"\ncompression_level = 19\n",
      "/c/n.toml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->links.compression, protocol::LinkCompression::kOff);
  EXPECT_EQ(c->links.compression_level, 19);
  // The renderer writes both keys and they load back the same.
  const std::string rendered = protocol::RenderNodeConfig(*c);
  EXPECT_NE(rendered.find("[links]"), std::string::npos);
  EXPECT_NE(rendered.find("compression = \"off\""), std::string::npos);
  auto again = protocol::ParseNodeConfig(rendered, "/c/n.toml");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->links, c->links);

  c = protocol::ParseNodeConfig(std::string(kMinimal) + "[links]\ncompression = \"gzip\"\n",
                                "/c/n.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "/c/n.toml:5: [links] compression: 'gzip' is not one of: zstd, off");
  for (const char* level : {"0", "20", "-1"}) {
    c = protocol::ParseNodeConfig(
        std::string(kMinimal) + "[links]\ncompression_level = " + level + "\n", "/c/n.toml");
    ASSERT_FALSE(c.ok()) << level;
    EXPECT_NE(c.status().message().find("[links] compression_level"), std::string::npos)
        << c.status().message();
  }
}

}  // namespace
}  // namespace caravan
