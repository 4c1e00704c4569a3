// Roster refusals (docs/wire.md 4.4): the refused dialer's backoff
// schedule, the episode summariser that keeps the audit to one entry per
// episode, and the refusal's wire form.
#include <gtest/gtest.h>

#include <capnp/serialize.h>

#include <chrono>
#include <cstring>
#include <string>

#include "daemon/link/backoff.h"
#include "daemon/link/frame_codec.h"
#include "daemon/link/refusal_episodes.h"

namespace caravan::daemon::link {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = RefusalEpisodes::Clock;

TEST(RefusedBackoff, DoublesFromOneSecondToFiveMinutesWithinTheJitter) {
  Backoff backoff(seconds(1), seconds(300));
  const int64_t expected_base_ms[] = {1000,   2000,   4000,   8000,   16000, 32000,
                                      64000,  128000, 256000, 300000, 300000};
  for (int64_t base : expected_base_ms) {
    ASSERT_EQ(backoff.base().count(), base);
    const auto delay = backoff.Next();
    EXPECT_GE(delay.count(), base * 8 / 10) << "base " << base;
    EXPECT_LE(delay.count(), base * 12 / 10) << "base " << base;
  }
  backoff.Reset();  // success, or something that could change the answer
  EXPECT_EQ(backoff.base(), milliseconds(1000));
}

TEST(RefusedBackoff, EightSecondsHoldAtMostFourAttempts) {
  // The bound the integration test asserts: attempts at 0 s and after each
  // delay, every delay jittered to its shortest (80%).
  Backoff backoff(seconds(1), seconds(300));
  int64_t at = 0;
  int attempts = 1;
  for (;;) {
    at += backoff.base().count() * 8 / 10;
    backoff.Next();
    if (at > 8000) break;
    ++attempts;
  }
  EXPECT_EQ(attempts, 4);
}

RefusalEpisodes::Options SmallOptions() {
  RefusalEpisodes::Options o;
  o.report_every = seconds(3600);
  o.idle_end = seconds(900);
  o.max_episodes = 3;
  o.max_details = 2;
  return o;
}

TEST(RefusalEpisodes, FirstRefusalOpensTheRestAreCountedAndEndReportsThem) {
  RefusalEpisodes episodes(SmallOptions());
  const Clock::time_point t0{};
  EXPECT_TRUE(episodes.Record("CERT-UZ", "not_on_roster", t0, 1000));
  for (int i = 1; i <= 9; ++i) {
    EXPECT_FALSE(episodes.Record("CERT-UZ", "not_on_roster", t0 + seconds(i * 10), 1000 + i));
  }
  auto open = episodes.Peek("CERT-UZ");
  ASSERT_TRUE(open.has_value());
  EXPECT_EQ(open->count, 10u);
  EXPECT_EQ(open->since_last_report, 9u);  // the first was reported at once
  EXPECT_EQ(open->first_unix, 1000);
  // Nothing due before an hour or idleness.
  EXPECT_TRUE(episodes.TakeDue(t0 + seconds(200)).empty());
  auto ended = episodes.End("CERT-UZ");
  ASSERT_TRUE(ended.has_value());
  EXPECT_TRUE(ended->ended);
  EXPECT_EQ(ended->count, 10u);
  EXPECT_EQ(DescribeEpisode(*ended), "refused 10 times since 1970-01-01T00:16:40Z");
  EXPECT_EQ(episodes.open_episodes(), 0u);
  // A fresh episode opens again afterwards.
  EXPECT_TRUE(episodes.Record("CERT-UZ", "not_on_roster", t0 + seconds(300), 2000));
}

TEST(RefusalEpisodes, ASingleRefusalEndsWithoutASecondReport) {
  RefusalEpisodes episodes(SmallOptions());
  EXPECT_TRUE(episodes.Record("CERT-UZ", "x", Clock::time_point{}, 1));
  EXPECT_FALSE(episodes.End("CERT-UZ").has_value());
  EXPECT_FALSE(episodes.End("CERT-UZ").has_value());  // unknown key
}

TEST(RefusalEpisodes, LongEpisodesReportHourlyAndIdleOnesEnd) {
  RefusalEpisodes episodes(SmallOptions());
  const Clock::time_point t0{};
  EXPECT_TRUE(episodes.Record("A", "x", t0, 0));
  // A refusal every 5 minutes for two hours: two hourly reports.
  int reports = 0;
  for (int minute = 5; minute <= 125; minute += 5) {
    const auto now = t0 + std::chrono::minutes(minute);
    EXPECT_FALSE(episodes.Record("A", "x", now, minute * 60));
    for (const auto& r : episodes.TakeDue(now)) {
      EXPECT_FALSE(r.ended);
      EXPECT_EQ(r.key, "A");
      ++reports;
    }
  }
  EXPECT_EQ(reports, 2);
  // Then silence: the episode ends after idle_end with what came since
  // the last report (the refusal of minute 125).
  EXPECT_TRUE(episodes.TakeDue(t0 + std::chrono::minutes(125) + seconds(899)).empty());
  const auto quiet = t0 + std::chrono::minutes(125) + seconds(900);
  auto due = episodes.TakeDue(quiet);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_TRUE(due[0].ended);
  EXPECT_EQ(due[0].count, 26u);
  EXPECT_EQ(due[0].since_last_report, 1u);
  EXPECT_EQ(episodes.open_episodes(), 0u);
}

TEST(RefusalEpisodes, MemoryIsBoundedByFoldingNewKeysAndDetails) {
  RefusalEpisodes episodes(SmallOptions());  // 3 episodes, 2 details each
  const Clock::time_point t0{};
  int opened = 0;
  for (int i = 0; i < 1000; ++i) {
    opened += episodes.Record("10.0.0." + std::to_string(i), "key-" + std::to_string(i),
                              t0, 0);
  }
  EXPECT_EQ(episodes.open_episodes(), 3u);
  EXPECT_EQ(opened, 3);  // two addresses and the shared "(other)"
  auto other = episodes.Peek(RefusalEpisodes::kOtherKeys);
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(other->count, 998u);
  EXPECT_EQ(other->details.size(), 2u);
  // A detail is cut to its bound.
  EXPECT_TRUE(episodes.Record("10.0.0.0", std::string(1000, 'k'), t0, 0) == false);
  const auto first = episodes.Peek("10.0.0.0");
  ASSERT_TRUE(first.has_value());
  for (const auto& d : first->details) {
    EXPECT_LE(d.size(), RefusalEpisodes::kMaxDetailBytes);
  }
  // "(other)" and 10.0.0.0 (its second refusal) have unreported ones.
  EXPECT_EQ(episodes.TakeAll().size(), 2u);
  EXPECT_EQ(episodes.open_episodes(), 0u);
}

TEST(RosterRefusalWire, IsAPeerErrorTheLinkLayerRecognises) {
  const auto bytes = RefusalMessage("not on the roster of CERT-UZ (UZ)" + std::string(500, '!'));
  std::vector<capnp::word> words(bytes.size() / sizeof(capnp::word));
  std::memcpy(words.data(), bytes.data(), bytes.size());
  auto inspected = InspectPeerMessage(words, 1 << 20);
  ASSERT_TRUE(inspected.ok()) << inspected.status().message();
  EXPECT_EQ(inspected->kind, InboundMessage::kRefused);
  EXPECT_EQ(inspected->reason, "not_on_roster");
  EXPECT_EQ(inspected->refusal_text.rfind("not on the roster of CERT-UZ (UZ)", 0), 0u);
  EXPECT_LE(inspected->refusal_text.size(), kMaxRefusalText);
}

TEST(RosterRefusalWire, AnAckWhoseSeqEndsInTheRefusalCodeIsNotARefusal) {
  // getError() on an Ack reads its upToSeq's low 16 bits as the code: only
  // a PeerError may be read as one.
  capnp::MallocMessageBuilder builder;
  builder.initRoot<protocol::wire::PeerMessage>().initAck().setUpToSeq(
      (uint64_t{7} << 16) | kPeerErrorNotOnRoster);
  auto flat = capnp::messageToFlatArray(builder);
  std::vector<capnp::word> words(flat.begin(), flat.end());
  auto inspected = InspectPeerMessage(words, 1 << 20);
  ASSERT_TRUE(inspected.ok()) << inspected.status().message();
  EXPECT_EQ(inspected->kind, InboundMessage::kApplication);
}

}  // namespace
}  // namespace caravan::daemon::link

// Two real LinkManagers on loopback: B does not have A on its roster.
#include "daemon/link/link_manager.h"
#include "tests/unit/link/link_test_util.h"

namespace caravan::daemon::link {
namespace {

TEST(RosterRefusal, ADialerNotOnTheRosterIsToldSoAuthenticatedAndBacksOff) {
  using namespace testing;  // NOLINT: test helpers
  boost::asio::io_context io;
  TestNode a = MakeNode("CERT-A", "KZ"), b = MakeNode("CERT-B", "UZ");
  auto a_events = std::make_shared<EventLog>(), b_events = std::make_shared<EventLog>();
  auto a_sessions = std::make_shared<SessionLog>(), b_sessions = std::make_shared<SessionLog>();
  LinkOptions a_options = FastOptions();
  a_options.refused_backoff_max = std::chrono::seconds(300);
  LinkOptions b_options = FastOptions();
  b_options.own_name = "CERT-B";
  b_options.own_country = "UZ";
  LinkManager bm(io, *b.identity, *b.link_key, b_options, RecordingRunner(b_sessions),
                 Recorder(b_events));
  LinkManager am(io, *a.identity, *a.link_key, a_options, RecordingRunner(a_sessions),
                 Recorder(a_events));
  ASSERT_TRUE(bm.Start({}).ok());  // A is not on B's roster
  ASSERT_TRUE(am.Start({IdentityOf(b, bm.listen_port())}).ok());
  ASSERT_TRUE(RunUntil(io, [&] { return am.RefusalsReceived()["not_on_roster"] >= 1; }));
  // A counted an authenticated refusal; no link ever came up on A's side.
  const LinkEvent* refused = a_events->Last(LinkEvent::kRosterRefused);
  ASSERT_NE(refused, nullptr);
  EXPECT_FALSE(refused->quiet);
  EXPECT_EQ(refused->peer_name, "CERT-B");
  EXPECT_EQ(refused->refusal_reason, "not_on_roster");
  EXPECT_NE(refused->detail.find("not on CERT-B's roster (told by CERT-B, authenticated)"),
            std::string::npos)
      << refused->detail;
  EXPECT_EQ(a_events->Count(LinkEvent::kUp), 0u);
  EXPECT_EQ(bm.RefusalsSent()["not_on_roster"], 1u);
  EXPECT_NE(b_events->Last(LinkEvent::kUnknownPeer), nullptr);
  EXPECT_TRUE(b_sessions->links.empty());  // nothing of A's was processed

  // Over 4 s: attempts at about 0, 1 and 3 s (not one per second), each
  // after the first counted quietly inside the episode.
  RunFor(io, std::chrono::seconds(4));
  const uint64_t attempts = am.RefusalsReceived()["not_on_roster"];
  EXPECT_GE(attempts, 2u);
  EXPECT_LE(attempts, 3u);
  size_t loud = 0;
  for (const auto& e : a_events->events) loud += e.kind == LinkEvent::kRosterRefused && !e.quiet;
  EXPECT_EQ(loud, 1u);
  EXPECT_EQ(b_events->Count(LinkEvent::kUnknownPeer), 1u);  // one per episode

  // B adds A: A's next attempt (RetryRefused, as a policy reload would)
  // comes at once and the link is up; the episode ends with one report.
  bm.UpdateRoster({IdentityOf(a)});
  am.RetryRefused();
  ASSERT_TRUE(RunUntil(io, [&] { return am.LinkTo("CERT-B") && bm.LinkTo("CERT-A"); },
                       std::chrono::seconds(5)));
  const LinkEvent* report = a_events->Last(LinkEvent::kRosterRefusals);
  ASSERT_NE(report, nullptr);
  EXPECT_TRUE(report->ended);
  EXPECT_EQ(report->refused_count, attempts);
  am.Stop();
  bm.Stop();
}

}  // namespace
}  // namespace caravan::daemon::link
