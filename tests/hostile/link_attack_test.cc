// Hostile load on the link port (issue 14, findings 2 and 3), against real
// daemons on loopback, through the wire and the CLI only:
// - one host (127.0.0.2) holds stalled connections and sends garbage
//   handshakes while a rostered peer dials from 127.0.0.1 and syncs: the
//   peer must link and its indicator arrive within kPeerSyncBound;
// - failed-handshake spam: the store and the log grow by a bounded amount
//   (failures summarised per source and interval), and the failures are
//   still visible in `caravan audit`.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/hostile/hostile_bounds.h"
#include "tests/hostile/hostile_probe.h"
#include "tests/hostile/hostile_scale.h"
#include "tests/hostile/hostile_sockets.h"
#include "tests/hostile/link_flood.h"
#include "tests/integration/federation_fixture.h"

namespace caravan::hostile {
namespace {

using integration::AddPeer;
using integration::FedNode;
using integration::WaitFor;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

class LinkAttackTest : public integration::FederationFixture {
 protected:
  void SetUp() override {
    if (const char* why = SkipReason()) GTEST_SKIP() << why;
    RaiseOwnFileLimit();
  }

  const HostileScale scale_ = CurrentScale();
};

TEST_F(LinkAttackTest, RosteredPeerSyncsDuringOneHostLinkFlood) {
  const AttackReport report("link_flood");
  FedNode& victim = Make("CERT-UZ", "UZ");
  FedNode& peer = Make("CERT-KZ", "KZ");
  peer.ShareWith("UZ", "green");
  ASSERT_NO_FATAL_FAILURE(StartAll());
  AddPeer(victim, peer, /*dial=*/false);  // the peer dials in, not we out
  const Footprint before = TakeFootprint(victim.node());

  LinkFlood flood(victim.port(), scale_.link_stalled,
                  scale_.link_garbage_per_second);
  const auto attack_start = Clock::now();
  flood.Start();
  // The flood takes every handshake slot it can before the peer dials.
  // (A daemon that refuses at a cap closes some at once: count openings.)
  WaitFor([&] { return flood.connections() >= scale_.link_stalled; }, 10s);
  std::this_thread::sleep_for(1s);

  const std::string value = "198.51.100.77";
  const auto submitted = peer.Cli({"submit", "ipv4", value, "--tlp", "green"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.Describe();
  const auto dial_start = Clock::now();
  AddPeer(peer, victim, /*dial=*/true);
  const TimedCommand cli = TimedCli(victim.node(), {"status"});

  // Waits past the bound (up to 15 s) so the report says how long it
  // really took.
  std::chrono::milliseconds link_ms{-1}, sync_ms{-1};
  WaitFor(
      [&] {
        if (link_ms.count() < 0) {
          const auto state = victim.PeerState(peer.name());
          if (state.is_object() && state.value("link", "") == "up") {
            link_ms = Since(dial_start);
          }
        }
        if (victim.Lookup(value).is_null()) return false;
        sync_ms = Since(dial_start);
        return true;
      },
      15s);
  const auto attack_time = Clock::now() - attack_start;
  const int64_t stalled_at_end = flood.stalled_open();
  flood.Stop();
  std::this_thread::sleep_for(500ms);
  const Footprint after = TakeFootprint(victim.node());

  report.Metric("attacker_connections", flood.connections());
  report.Metric("attacker_stalled_open", stalled_at_end);
  report.Metric("attacker_garbage_handshakes", flood.garbage_sent());
  report.Metric("peer_link_ms", link_ms.count());
  report.Metric("peer_sync_ms", sync_ms.count());
  report.Metric("cli_ms", cli.elapsed.count());
  report.Growth(before, after);

  EXPECT_GE(flood.connections(), scale_.link_stalled)
      << "the flood could not open its connections (harness problem)";
  EXPECT_GE(sync_ms.count(), 0)
      << "the rostered peer's indicator never arrived during the flood";
  EXPECT_LE(sync_ms.count(), kPeerSyncBound.count())
      << "the rostered peer was kept out by one flooding host";
  EXPECT_EQ(cli.result.exit_code, 0) << cli.result.Describe();
  EXPECT_LE(cli.elapsed, kCliAnswerBound);
  EXPECT_LE(after.hwm_kb, kRssPeakBoundKb);
  // The good peer's indicator and link events are a few kB of it.
  EXPECT_LE(after.store_bytes - before.store_bytes, kStoreGrowthBoundBytes)
      << "the flood's failed handshakes grow the store";
  EXPECT_LE(after.log_lines - before.log_lines, LogLineBound(attack_time))
      << "the daemon logs the flood line by line";
}

TEST_F(LinkAttackTest, FailedHandshakeSpamGrowsStoreAndLogBoundedly) {
  const AttackReport report("handshake_spam");
  FedNode& victim = Make("CERT-UZ", "UZ");
  ASSERT_NO_FATAL_FAILURE(StartAll());
  const std::vector<std::string> kHandshake = {"handshake"};
  const int64_t audited_before = CountAuditEntries(victim.node(), kHandshake);
  const Footprint before = TakeFootprint(victim.node());

  const auto attack_start = Clock::now();
  int64_t sent = 0;
  std::thread attacker([&] {
    sent = SpamHandshakes(victim.port(), scale_.handshake_spam, 8,
                          attack_start + 240s);
  });
  // The operator's CLI while the spam runs.
  std::chrono::milliseconds cli_worst{0};
  int cli_failures = 0;
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(300ms);
    const TimedCommand cli = TimedCli(victim.node(), {"status"});
    cli_worst = std::max(cli_worst, cli.elapsed);
    cli_failures += cli.result.exit_code != 0;
  }
  attacker.join();
  const auto attack_time = Clock::now() - attack_start;
  // Whatever the daemon writes about the attack is committed by now.
  std::this_thread::sleep_for(1s);
  const Footprint after = TakeFootprint(victim.node());

  // Still visible, if only in summary (after a restart at the latest).
  const int64_t audited =
      sent > 0
          ? AuditedEventually(victim.node(), kHandshake, audited_before, 10s)
          : 0;

  report.Metric("handshakes_sent", sent);
  report.Metric(
      "attack_ms",
      std::chrono::duration_cast<std::chrono::milliseconds>(attack_time)
          .count());
  report.Metric("cli_ms", cli_worst.count());
  report.Metric("audit_handshake_entries", audited);
  report.Growth(before, after);

  EXPECT_GE(sent, scale_.handshake_spam * 9 / 10)
      << "the spam did not get through (harness problem)";
  EXPECT_LE(after.store_bytes - before.store_bytes, kStoreGrowthBoundBytes)
      << "failed handshakes grow the store without bound";
  EXPECT_LE(after.log_lines - before.log_lines, LogLineBound(attack_time))
      << "failed handshakes are logged one line each";
  if (sent > 0) {
    EXPECT_GE(audited, 1) << "failed handshakes must stay visible in the audit";
  }
  EXPECT_EQ(cli_failures, 0);
  EXPECT_LE(cli_worst, kCliAnswerBound);
}

}  // namespace
}  // namespace caravan::hostile
