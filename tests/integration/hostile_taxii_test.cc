// Issue 14 regression tests for the TAXII server and the metrics listener
// under hostile load, against a real caravand on loopback. The attacks are
// scaled down by config (small caps, short timeouts) so each runs in a few
// seconds; attackers bind to 127.0.0.2 so the good client on 127.0.0.1 is
// another source.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>
#include <vector>

#include "tests/integration/harness.h"
#include "tests/integration/http_client.h"
#include "tests/integration/taxii_node.h"

namespace caravan::integration {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::string PasswordHash(const std::string& password) {
  return TaxiiPasswordHash(
      std::string(CARAVAN_BINARY_DIR) + "/daemon/feeds/caravan-taxii-passwd",
      password);
}

const std::string kAccept = "Accept: application/taxii+json;version=2.1";

// A TCP connection from `source` (a loopback address) to 127.0.0.1:port;
// -1 on failure.
int ConnectFrom(const char* source, uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, source, &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Reads until the end of a response head (or close / timeout); returns the
// status code (0: none) and the head in `*head`.
int ReadStatus(int fd, std::chrono::milliseconds timeout,
               std::string* head = nullptr) {
  std::string got;
  const auto end = Clock::now() + timeout;
  while (got.find("\r\n\r\n") == std::string::npos) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(end -
                                                              Clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  if (head) *head = got;
  if (got.rfind("HTTP/1.1 ", 0) != 0 || got.size() < 12) return 0;
  return std::atoi(got.substr(9, 3).c_str());
}

// Whether the peer closed `fd` within `timeout` (EOF or reset).
bool ClosedWithin(int fd, std::chrono::milliseconds timeout) {
  const auto end = Clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(end -
                                                              Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[4096];
    if (recv(fd, buf, sizeof buf, MSG_DONTWAIT) <= 0) return true;
  }
}

// GET `target` as user:password from `source`; the status (0: no answer).
int GetFrom(const char* source, uint16_t port, const std::string& userpass,
            const std::string& target = "/taxii2/",
            std::string* head = nullptr) {
  int fd = ConnectFrom(source, port);
  if (fd < 0) return 0;
  SendAll(fd, "GET " + target + " HTTP/1.1\r\nHost: x\r\n" + kAccept +
                  "\r\n" + BasicAuthHeader(userpass) +
                  "\r\nConnection: close\r\n\r\n");
  int status = ReadStatus(fd, 30s, head);
  close(fd);
  return status;
}

long RssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

class HostileTaxiiTest : public ::testing::Test {
 protected:
  // Starts the node with TAXII on a free port, accounts siem (s3cret, may
  // write own) and reader (other), and `extra` lines in [taxii].
  void StartWith(const std::string& extra, bool metrics = false) {
    ASSERT_EQ(node_.init_result().exit_code, 0);
    port_ = FreeLoopbackPort();
    std::string cfg = ServeTaxii(
        node_, port_,
        "[[account]]\nname = \"siem\"\npassword_hash = \"" +
            PasswordHash("s3cret") +
            "\"\ncollections = [\"own\", \"all\"]\n"
            "max_tlp = \"green\"\ncan_write = true\n"
            "[[account]]\nname = \"reader\"\npassword_hash = \"" +
            PasswordHash("other") +
            "\"\ncollections = [\"all\"]\nmax_tlp = \"red\"\n");
    ASSERT_FALSE(cfg.empty());
    size_t at = cfg.find("[taxii]");
    // Later duplicates of rendered keys would be a TOML error: drop the
    // rendered lines of the keys `extra` sets.
    for (size_t pos = 0; pos < extra.size();) {
      size_t nl = extra.find('\n', pos);
      std::string line = extra.substr(pos, nl - pos);
      pos = nl == std::string::npos ? extra.size() : nl + 1;
      std::string key = line.substr(0, line.find(' '));
      if (key.empty()) continue;
      size_t k = cfg.find("\n" + key + " = ", at);
      if (k != std::string::npos) {
        cfg.erase(k + 1, cfg.find('\n', k + 1) - k);
      }
    }
    at = cfg.find("[taxii]");
    cfg.insert(cfg.find('\n', at) + 1, extra);
    if (metrics) {
      metrics_port_ = FreeLoopbackPort();
      size_t m = cfg.find("[metrics]");
      size_t ml = cfg.find("listen = ", m);
      cfg.replace(ml, cfg.find('\n', ml) - ml,
                  "listen = \"127.0.0.1:" + std::to_string(metrics_port_) +
                      "\"");
    }
    WriteFile(node_.config(), cfg);
    std::string why;
    ASSERT_TRUE(node_.Start(&why)) << why;
  }

  TestNode node_;
  uint16_t port_ = 0;
  uint16_t metrics_port_ = 0;
};

// Finding 1: idle connections beyond the caps are closed at accept, idle
// ones time out, and a client from another address is served throughout.
TEST_F(HostileTaxiiTest, IdleFloodFromOneSourceDoesNotStarveAnother) {
  ASSERT_NO_FATAL_FAILURE(StartWith(
      "max_connections = 40\nmax_connections_per_source = 8\n"
      "header_timeout = \"2s\"\n"));
  std::vector<int> held;
  for (int i = 0; i < 200; ++i) {
    int fd = ConnectFrom("127.0.0.2", port_);
    if (fd >= 0) held.push_back(fd);
  }
  ASSERT_GT(held.size(), 8u);
  const auto start = Clock::now();
  EXPECT_EQ(GetFrom("127.0.0.1", port_, "siem:s3cret"), 200);
  std::cout << "good client during the flood: " << SecondsSince(start)
            << " s\n";
  // All but the per-source cap were closed at once; the rest by the header
  // timeout (they never sent a request).
  size_t closed = 0;
  for (int fd : held) closed += ClosedWithin(fd, 6s) ? 1 : 0;
  EXPECT_EQ(closed, held.size());
  for (int fd : held) close(fd);
  EXPECT_TRUE(node_.running());
  EXPECT_EQ(GetFrom("127.0.0.1", port_, "siem:s3cret"), 200);
}

// Finding 1: a client that sends its head byte by byte (slowloris) is cut
// off at header_timeout.
TEST_F(HostileTaxiiTest, SlowHeadIsCutOffAtTheHeaderTimeout) {
  ASSERT_NO_FATAL_FAILURE(StartWith("header_timeout = \"2s\"\n"));
  int fd = ConnectFrom("127.0.0.2", port_);
  ASSERT_GE(fd, 0);
  const auto start = Clock::now();
  const std::string head = "GET /taxii2/ HTTP/1.1\r\nHost: x\r\n";
  bool cut = false;
  for (size_t i = 0; i < 1000 && !cut; ++i) {
    if (!SendAll(fd, std::string(1, head[i % head.size()]))) cut = true;
    if (!cut && ClosedWithin(fd, 200ms)) cut = true;
  }
  EXPECT_TRUE(cut);
  EXPECT_LT(SecondsSince(start), 10.0);
  close(fd);
}

// Finding 4: unauthenticated POSTs announcing 8 MiB bodies get 401 at once,
// without the bodies being read; the daemon's memory stays bounded.
TEST_F(HostileTaxiiTest, UnauthenticatedBodiesAreNotRead) {
  ASSERT_NO_FATAL_FAILURE(StartWith("max_connections_per_source = 200\n"));
  const long rss_before = RssKb(node_.pid());
  constexpr int kPosts = 60;
  std::vector<int> fds;
  const std::string chunk(64 * 1024, 'x');
  for (int i = 0; i < kPosts; ++i) {
    int fd = ConnectFrom("127.0.0.2", port_);
    ASSERT_GE(fd, 0);
    SendAll(fd, "POST /api/collections/x/objects/ HTTP/1.1\r\nHost: x\r\n" +
                    kAccept + "\r\n" + BasicAuthHeader("siem:wrong" +
                                                       std::to_string(i)) +
                    "\r\nContent-Type: application/taxii+json;version=2.1"
                    "\r\nContent-Length: 8388608\r\n\r\n" + chunk);
    fds.push_back(fd);
  }
  long rss_peak = 0;
  int unauthorized = 0, other = 0;
  const auto start = Clock::now();
  for (int fd : fds) {
    const int status = ReadStatus(fd, 30s);
    // 401 (checked), 429 (source throttled) or 503 (login queue full): all
    // refusals made from the head alone.
    (status == 401 || status == 429 || status == 503 ? unauthorized : other) +=
        1;
    rss_peak = std::max(rss_peak, RssKb(node_.pid()));
  }
  const double took = SecondsSince(start);
  for (int fd : fds) close(fd);
  std::cout << "RSS before " << rss_before << " kB, peak " << rss_peak
            << " kB; " << kPosts << " refusals in " << took << " s\n";
  EXPECT_EQ(unauthorized, kPosts) << other << " other answers";
  // 60 bodies of 8 MiB would be 480 MiB; the head-first path holds none.
  EXPECT_LT(rss_peak - rss_before, 100 * 1024);
  EXPECT_TRUE(node_.running());
}

// Finding 5: an unknown name and a wrong password for a real account take
// comparable time (loose bound: within 3x, best of 3).
TEST_F(HostileTaxiiTest, UnknownUserAndWrongPasswordTakeComparableTime) {
  ASSERT_NO_FATAL_FAILURE(StartWith("login_failures_before_delay = 1000\n"));
  double unknown = 1e9, wrong = 1e9;
  for (int i = 0; i < 3; ++i) {
    auto t0 = Clock::now();
    EXPECT_EQ(GetFrom("127.0.0.1", port_, "nobody" + std::to_string(i) +
                                              ":guess"),
              401);
    unknown = std::min(unknown, SecondsSince(t0));
    auto t1 = Clock::now();
    EXPECT_EQ(GetFrom("127.0.0.1", port_, "siem:guess" + std::to_string(i)),
              401);
    wrong = std::min(wrong, SecondsSince(t1));
  }
  std::cout << "unknown user " << unknown * 1000 << " ms, wrong password "
            << wrong * 1000 << " ms\n";
  EXPECT_LT(unknown, wrong * 3);
  EXPECT_LT(wrong, unknown * 3);
}

// Finding 5: after N bad passwords the source and the account are
// throttled (429 with Retry-After); another source with another account
// is not, nor a client of the attacked account that logged in before.
TEST_F(HostileTaxiiTest, RepeatedFailuresAreThrottled) {
  ASSERT_NO_FATAL_FAILURE(StartWith(
      "login_failures_before_delay = 3\nlogin_log_interval = \"1s\"\n"));
  ASSERT_EQ(GetFrom("127.0.0.1", port_, "siem:s3cret"), 200);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(GetFrom("127.0.0.2", port_, "siem:bad" + std::to_string(i)),
              401);
  }
  std::string head;
  EXPECT_EQ(GetFrom("127.0.0.2", port_, "siem:bad", "/taxii2/", &head), 429);
  EXPECT_NE(head.find("Retry-After:"), std::string::npos) << head;
  // The source is throttled whatever name it tries next.
  EXPECT_EQ(GetFrom("127.0.0.2", port_, "reader:other"), 429);
  // Another source, another account: unaffected.
  EXPECT_EQ(GetFrom("127.0.0.1", port_, "reader:other"), 200);
  // The attacked account, from a client that proved its password before.
  EXPECT_EQ(GetFrom("127.0.0.1", port_, "siem:s3cret"), 200);

  // Logged and audited at once, then summarised with the count once per
  // source and interval.
  nlohmann::json entries;
  for (int i = 0; i < 50; ++i) {
    const nlohmann::json audit = node_.CliJson({"audit"});
    entries = audit.contains("entries") ? audit.at("entries")
                                        : nlohmann::json::array();
    bool summarised = false;  // a window closed (its first came at once)
    for (const auto& e : entries) {
      summarised |= e.value("action", "") == "taxii_login_failed" &&
                    e.contains("detail") && e.at("detail").is_object() &&
                    !e.at("detail").contains("first_of_window");
    }
    if (summarised) break;
    std::this_thread::sleep_for(200ms);
  }
  // Windows are 1 s here, so the five failures (three 401, two 429) may
  // span two or three windows: per window an entry for its first failure
  // at once, and a summary carrying the window's count when it closes.
  int firsts = 0, summaries = 0;
  uint64_t counted = 0;
  for (const auto& e : entries) {
    if (e.value("action", "") != "taxii_login_failed") continue;
    EXPECT_EQ(e.value("actor", ""), "taxii:127.0.0.2") << e.dump();
    const nlohmann::json detail =
        e.contains("detail") ? e.at("detail") : nlohmann::json();
    ASSERT_TRUE(detail.is_object() && detail.contains("failed_logins"))
        << e.dump();
    if (detail.contains("first_of_window")) {
      ++firsts;
      EXPECT_EQ(detail["failed_logins"], 1) << e.dump();
      continue;
    }
    ++summaries;
    counted += detail["failed_logins"].get<uint64_t>();
  }
  EXPECT_GE(firsts, 1) << entries.dump();
  EXPECT_LE(firsts, 3) << entries.dump();
  EXPECT_LE(summaries, 3) << entries.dump();
  // Windows still open when the audit was read are not there yet.
  EXPECT_LE(counted, 5u) << entries.dump();
  const std::string log = node_.LogText();
  EXPECT_NE(log.find("taxii: failed login from 127.0.0.2: bad password for "
                     "account 'siem'"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("taxii: failed logins from 127.0.0.2: "),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("bad0"), std::string::npos) << "password logged";
}

// Finding 5: password guessing (every guess runs Argon2) does not slow the
// CLI: Argon2 has its own one-thread pool with a bounded queue.
TEST_F(HostileTaxiiTest, CliAnswersWhileGuessingRuns) {
  ASSERT_NO_FATAL_FAILURE(StartWith(
      "login_failures_before_delay = 1000\nmax_pending_logins = 4\n"));
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0}, busy{0};
  std::vector<std::thread> attackers;
  for (int t = 0; t < 6; ++t) {
    attackers.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        int s = GetFrom("127.0.0.2", port_,
                        "siem:g" + std::to_string(t) + "-" + std::to_string(i));
        (s == 503 ? busy : answered) += 1;
      }
    });
  }
  std::this_thread::sleep_for(1s);
  double worst = 0;
  for (int i = 0; i < 5; ++i) {
    const auto start = Clock::now();
    auto r = node_.Cli({"status"});
    worst = std::max(worst, SecondsSince(start));
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
  }
  stop = true;
  for (auto& t : attackers) t.join();
  std::cout << "caravan status during guessing: worst " << worst << " s ("
            << answered << " guesses answered 401, " << busy
            << " refused 503)\n";
  // Generous for a loaded CI machine; the issue measured 1.35 s before.
  EXPECT_LT(worst, 3.0);
  EXPECT_GT(busy.load(), 0) << "the login queue was never full";
}

// Finding 10: an oversized request head gets 431, not a closed connection.
TEST_F(HostileTaxiiTest, OversizedHeadGets431) {
  ASSERT_NO_FATAL_FAILURE(StartWith("max_header_bytes = 4096\n", true));
  for (uint16_t port : {port_, metrics_port_}) {
    int fd = ConnectFrom("127.0.0.1", port);
    ASSERT_GE(fd, 0);
    SendAll(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " +
                    std::string(20000, 'a') + "\r\n\r\n");
    EXPECT_EQ(ReadStatus(fd, 10s), 431) << "port " << port;
    close(fd);
  }
  EXPECT_TRUE(node_.running());
}

// Finding 10: one address holding metrics connections cannot block scrapes
// from another, and idle ones are dropped quickly.
TEST_F(HostileTaxiiTest, MetricsSlotsAreCappedPerSource) {
  ASSERT_NO_FATAL_FAILURE(StartWith("", true));
  std::vector<int> held;
  for (int i = 0; i < 40; ++i) {
    int fd = ConnectFrom("127.0.0.2", metrics_port_);
    if (fd >= 0) held.push_back(fd);
  }
  EXPECT_EQ(HttpGet(metrics_port_, "/metrics").status, 200);
  size_t closed = 0;
  for (int fd : held) closed += ClosedWithin(fd, 8s) ? 1 : 0;
  EXPECT_EQ(closed, held.size()) << "idle metrics connections were kept";
  for (int fd : held) close(fd);
}

}  // namespace
}  // namespace caravan::integration
