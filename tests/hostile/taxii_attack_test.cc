// Hostile load on the TAXII listener (issue 14, findings 1, 4 and 5)
// against a real caravand with TAXII and /metrics on loopback, through
// HTTP and the CLI only:
// - idle-connection flood from one host beyond any cap, with caravand's
//   RLIMIT_NOFILE lowered so descriptor exhaustion is reachable: the CLI
//   and /metrics keep answering, a good client is served once the flood
//   is dropped, and the log does not fill with accept failures;
// - body hold: unauthenticated POSTs announcing 8 MiB bodies, held open:
//   resident memory stays bounded (a login is checked before a body is
//   read);
// - password guessing: the CLI, /metrics and a good TAXII client stay
//   fast, an unknown user costs what a wrong password costs, and failed
//   logins are logged and audited in summary.

#include "tests/hostile/taxii_attack.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/hostile/hostile_bounds.h"
#include "tests/hostile/hostile_probe.h"
#include "tests/hostile/hostile_scale.h"
#include "tests/hostile/hostile_sockets.h"
#include "tests/integration/harness.h"
#include "tests/integration/http_client.h"
#include "tests/integration/taxii_node.h"

namespace caravan::hostile {
namespace {

using integration::HttpRequest;
using integration::ReadFile;
using integration::RunProgram;
using integration::WriteFile;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* kGood = "siem:s3cret";  // the good client's account
constexpr const char* kAccept = "Accept: application/taxii+json;version=2.1";

std::string PasswordHash(const std::string& password) {
  return integration::TaxiiPasswordHash(CARAVAN_TAXII_PASSWD_PATH, password);
}

// Sets `listen = "127.0.0.1:PORT"` (and `more` after it) in `[section]` of
// a caravand.toml as `caravan init` wrote it. False if the key is missing.
bool SetListen(std::string* toml, const std::string& section, uint16_t port,
               const std::string& more = "") {
  const size_t at = toml->find("[" + section + "]");
  if (at == std::string::npos) return false;
  const size_t listen = toml->find("listen = ", at);
  const size_t eol = toml->find('\n', listen);
  if (listen == std::string::npos || eol == std::string::npos) return false;
  toml->replace(listen, eol - listen,
                "listen = \"127.0.0.1:" + std::to_string(port) + "\"" + more);
  return true;
}

std::string Lower(std::string s) {
  for (auto& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

// One node with TAXII (accounts `siem`, the good client, and `victim`, the
// account being guessed) and /metrics on free loopback ports; default
// limits otherwise. Started by each test (some lower its descriptor limit
// first).
class TaxiiAttackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* why = SkipReason()) GTEST_SKIP() << why;
    RaiseOwnFileLimit();
    ASSERT_EQ(node_.init_result().exit_code, 0)
        << node_.init_result().Describe();
    WriteFile(node_.dir() / "taxii-accounts.toml",
              "[[account]]\nname = \"siem\"\npassword_hash = \"" +
                  PasswordHash("s3cret") +
                  "\"\ncollections = [\"own\", \"all\"]\n"
                  "max_tlp = \"green\"\ncan_write = true\n"
                  "[[account]]\nname = \"victim\"\npassword_hash = \"" +
                  PasswordHash("correct horse battery staple") +
                  "\"\ncollections = [\"own\"]\nmax_tlp = \"green\"\n"
                  "can_write = true\n");
    taxii_port_ = integration::FreeLoopbackPort();
    metrics_port_ = integration::FreeLoopbackPort();
    std::string toml = ReadFile(node_.config());
    ASSERT_TRUE(SetListen(&toml, "taxii", taxii_port_,
                          "\naccounts = \"taxii-accounts.toml\""))
        << toml;
    ASSERT_TRUE(SetListen(&toml, "metrics", metrics_port_)) << toml;
    WriteFile(node_.config(), toml);
  }

  void StartNode() {
    std::string why;
    ASSERT_TRUE(node_.Start(&why)) << why;
    // The good client logs in once before any attack (a cached login, as
    // a SIEM polling every minute has).
    const TimedHttp first = GoodTaxii();
    ASSERT_EQ(first.reply.status, 200) << first.reply.Describe();
  }

  void TearDown() override {
    if (node_.running()) {
      EXPECT_EQ(node_.Stop(), 0) << node_.LogText();
    }
  }

  TimedHttp GoodTaxii(std::chrono::seconds timeout = 10s) {
    HttpRequest request;
    request.target = "/taxii2/";
    request.headers = {integration::BasicAuthHeader(kGood), kAccept};
    request.timeout = timeout;
    return TimedRequest(taxii_port_, request);
  }

  TimedHttp Scrape(std::chrono::seconds timeout = 10s) {
    HttpRequest request;
    request.target = "/metrics";
    request.timeout = timeout;
    return TimedRequest(metrics_port_, request);
  }

  // The path of the `own` collection's objects, as the good client reads
  // it.
  std::string OwnObjectsPath() {
    HttpRequest request;
    request.target = "/api/collections/";
    request.headers = {integration::BasicAuthHeader(kGood), kAccept};
    const auto reply = integration::SendHttp(taxii_port_, request);
    const auto doc = reply.Json();
    if (!doc.is_discarded() && doc.contains("collections")) {
      for (const auto& c : doc["collections"]) {
        if (c.value("title", "") == "own") {
          return "/api/collections/" + c.value("id", "") + "/objects/";
        }
      }
    }
    ADD_FAILURE() << "no own collection: " << reply.Describe();
    return "/api/collections/own/objects/";
  }

  const HostileScale scale_ = CurrentScale();
  integration::TestNode node_;
  uint16_t taxii_port_ = 0;
  uint16_t metrics_port_ = 0;
};

TEST_F(TaxiiAttackTest, IdleFloodLeavesCliMetricsAndGoodClientsServed) {
  const AttackReport report("taxii_idle_flood");
  node_.SetDaemonFileLimit(scale_.taxii_daemon_file_limit);
  ASSERT_NO_FATAL_FAILURE(StartNode());
  const Footprint before = TakeFootprint(node_);

  const auto attack_start = Clock::now();
  SocketSet idle;
  OpenIdle(taxii_port_, scale_.taxii_idle, &idle);
  // The daemon accepts what it can; past its descriptors, accepting fails.
  std::this_thread::sleep_for(2s);
  const TimedCommand cli = TimedCli(node_, {"status"}, 5s);
  const TimedHttp scrape = Scrape(5s);

  const size_t opened = idle.size();
  idle.Clear();
  const auto dropped = Clock::now();
  TimedHttp good;
  do {
    good = GoodTaxii(5s);
  } while (good.reply.status != 200 && Since(dropped) < 10s);
  const auto served_ms = Since(dropped);
  std::this_thread::sleep_for(500ms);
  const Footprint after = TakeFootprint(node_);

  report.Metric("idle_connections", static_cast<int64_t>(opened));
  report.Metric("daemon_file_limit",
                static_cast<int64_t>(scale_.taxii_daemon_file_limit));
  report.Metric("cli_ms", cli.elapsed.count());
  report.Metric("metrics_ms", scrape.elapsed.count());
  report.Metric("metrics_status", scrape.reply.status);
  report.Metric("good_taxii_after_drop_ms", served_ms.count());
  report.Growth(before, after);

  EXPECT_GE(opened, static_cast<size_t>(scale_.taxii_idle))
      << "the flood could not open its sockets (harness problem)";
  EXPECT_EQ(cli.result.exit_code, 0) << cli.result.Describe();
  EXPECT_LE(cli.elapsed, kCliAnswerBound) << "CLI starved of descriptors";
  EXPECT_EQ(scrape.reply.status, 200) << scrape.reply.Describe();
  EXPECT_LE(scrape.elapsed, kMetricsAnswerBound);
  EXPECT_EQ(good.reply.status, 200) << good.reply.Describe();
  EXPECT_LE(served_ms, kGoodTaxiiBound);
  EXPECT_LE(after.log_lines - before.log_lines,
            LogLineBound(Clock::now() - attack_start))
      << "accept failures are logged line by line";
}

TEST_F(TaxiiAttackTest, UnauthenticatedBodyHoldKeepsMemoryBounded) {
  const AttackReport report("taxii_body_hold");
  ASSERT_NO_FATAL_FAILURE(StartNode());
  const std::string target = OwnObjectsPath();
  const Footprint before = TakeFootprint(node_);

  constexpr size_t kAnnounced = 8u << 20;
  SocketSet holds;
  OpenIdle(taxii_port_, scale_.body_holds, &holds);
  // All but the last byte of each body: the request never completes.
  const int64_t pushed =
      PushToAll(holds.fds(), UnauthenticatedPostHead(target, kAnnounced),
                kAnnounced - 1, Clock::now() + 30s);
  std::this_thread::sleep_for(1s);
  const TimedCommand cli = TimedCli(node_, {"status"});
  const Footprint held = TakeFootprint(node_);
  holds.Clear();
  std::this_thread::sleep_for(2s);
  const Footprint after = TakeFootprint(node_);

  report.Metric("connections", static_cast<int64_t>(scale_.body_holds));
  report.Metric("bytes_pushed_kb", pushed / 1024);
  report.Metric("rss_held_kb", held.rss_kb);
  report.Metric("cli_ms", cli.elapsed.count());
  report.Growth(before, after);

  EXPECT_LE(after.hwm_kb, kRssPeakBoundKb)
      << "unauthenticated bodies are buffered before the login is checked";
  EXPECT_LE(after.rss_kb, before.rss_kb + kRssAfterSlackKb);
  EXPECT_EQ(cli.result.exit_code, 0) << cli.result.Describe();
  EXPECT_LE(cli.elapsed, kCliAnswerBound);
}

TEST_F(TaxiiAttackTest, PasswordGuessingLeavesGoodPathFastAndIsAudited) {
  const AttackReport report("taxii_password_guess");
  ASSERT_NO_FATAL_FAILURE(StartNode());
  const std::vector<std::string> kLogin = {"login", "auth", "password"};
  const int64_t audited_before = CountAuditEntries(node_, kLogin);
  const Footprint before = TakeFootprint(node_);

  // User enumeration by timing: the first failure of each kind, each from
  // its own host so no throttle of an earlier attempt is in it.
  const RawReply unknown = RequestFrom(
      "127.0.0.10", taxii_port_, GetRequest("/taxii2/", "nobody:guess"), 10s);
  const RawReply known = RequestFrom(
      "127.0.0.11", taxii_port_, GetRequest("/taxii2/", "victim:guess"), 10s);

  const auto attack_start = Clock::now();
  const auto attack_end = attack_start + scale_.guess_duration;
  std::atomic<int64_t> guesses{0};
  std::vector<std::thread> guessers;
  for (int g = 0; g < scale_.guessers; ++g) {
    guessers.emplace_back([&, g] {
      for (int i = 0; Clock::now() < attack_end; ++i) {
        // Mostly the real account, sometimes names that do not exist.
        const std::string user =
            i % 4 == 3 ? "user" + std::to_string(i) : "victim";
        RequestFrom(kAttacker, taxii_port_,
                    GetRequest("/taxii2/", user + ":guess" + std::to_string(g) +
                                               "-" + std::to_string(i)),
                    5s);
        guesses.fetch_add(1);
      }
    });
  }
  // The good path, sampled through the attack; the worst of each counts.
  std::chrono::milliseconds cli_worst{0}, scrape_worst{0}, good_worst{0};
  int failures = 0;
  std::this_thread::sleep_for(500ms);
  while (Clock::now() + 1s < attack_end || cli_worst.count() == 0) {
    const TimedCommand cli = TimedCli(node_, {"status"});
    const TimedHttp scrape = Scrape(5s);
    const TimedHttp good = GoodTaxii(5s);
    cli_worst = std::max(cli_worst, cli.elapsed);
    scrape_worst = std::max(scrape_worst, scrape.elapsed);
    good_worst = std::max(good_worst, good.elapsed);
    failures += (cli.result.exit_code != 0) + (scrape.reply.status != 200) +
                (good.reply.status != 200);
    std::this_thread::sleep_for(300ms);
  }
  for (auto& t : guessers) t.join();
  const auto attack_time = Clock::now() - attack_start;
  std::this_thread::sleep_for(1s);
  const Footprint after = TakeFootprint(node_);

  // Failed logins: summarised in the audit log (after a restart at the
  // latest) and named in the log.
  const int64_t audited = AuditedEventually(node_, kLogin, audited_before, 10s);
  const std::string new_log =
      Lower(node_.LogText().substr(static_cast<size_t>(before.log_bytes)));
  bool logged = false;
  for (const auto& word : kLogin) {
    logged |= new_log.find(word) != std::string::npos;
  }
  const int64_t tens =
      std::chrono::duration_cast<std::chrono::seconds>(attack_time).count() /
          10 +
      1;

  report.Metric("guessers", scale_.guessers);
  report.Metric("guesses", guesses.load());
  report.Metric("unknown_user_ms", unknown.elapsed.count());
  report.Metric("wrong_password_ms", known.elapsed.count());
  report.Metric("cli_ms", cli_worst.count());
  report.Metric("metrics_ms", scrape_worst.count());
  report.Metric("good_taxii_ms", good_worst.count());
  report.Metric("audit_login_entries", audited);
  report.Growth(before, after);

  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(known.status, 401);
  EXPECT_GE(static_cast<double>(unknown.elapsed.count()),
            kLoginTimingRatioMin * static_cast<double>(known.elapsed.count()))
      << "an unknown user answers faster than a wrong password: user names "
         "can be found by timing";
  EXPECT_EQ(failures, 0) << "the good path failed during the guessing";
  EXPECT_LE(cli_worst, kCliAnswerBound);
  EXPECT_LE(scrape_worst, kMetricsAnswerBound);
  EXPECT_LE(good_worst, kGoodTaxiiBound);
  EXPECT_GE(audited, 1) << "failed logins are not audited";
  // Summarised: a few entries per source and interval, not one per guess.
  EXPECT_LE(audited, 20 * tens);
  EXPECT_TRUE(logged) << "failed logins are not logged";
  EXPECT_LE(after.log_lines - before.log_lines, LogLineBound(attack_time));
  EXPECT_LE(after.store_bytes - before.store_bytes, kStoreGrowthBoundBytes);
  // Argon2 runs on a small bounded pool: its 64 MiB per verification is
  // not multiplied by the number of guessers.
  EXPECT_LE(after.hwm_kb, kRssPeakBoundKb);
}

}  // namespace
}  // namespace caravan::hostile
