// Hostile load on the control socket (issue 14, finding 6) against a real
// caravand: connections that each send most of a 16 MiB request frame
// (the default [control] max_frame_bytes) and then hold it. Resident
// memory stays bounded during the hold and returns near where it started
// once the connections are gone; the CLI keeps answering. The attacker is
// a local member of the socket's group (same uid as the CLI here).

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/hostile/hostile_bounds.h"
#include "tests/hostile/hostile_probe.h"
#include "tests/hostile/hostile_scale.h"
#include "tests/hostile/hostile_sockets.h"
#include "tests/integration/harness.h"

namespace caravan::hostile {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// The 4-byte little-endian length of a control frame
// (protocol/control_framing.h).
std::string FrameLength(uint32_t bytes) {
  return {static_cast<char>(bytes & 0xff),
          static_cast<char>((bytes >> 8) & 0xff),
          static_cast<char>((bytes >> 16) & 0xff),
          static_cast<char>((bytes >> 24) & 0xff)};
}

TEST(ControlAttackTest, PartialLargeFramesKeepMemoryBoundedAndCliServed) {
  if (const char* why = SkipReason()) GTEST_SKIP() << why;
  RaiseOwnFileLimit();
  const HostileScale scale = CurrentScale();
  const AttackReport report("control_partial_frames");
  integration::TestNode node;
  ASSERT_EQ(node.init_result().exit_code, 0) << node.init_result().Describe();
  std::string why;
  ASSERT_TRUE(node.Start(&why)) << why;
  const Footprint before = TakeFootprint(node);

  constexpr uint32_t kFrame = 16u << 20;  // the default max_frame_bytes
  SocketSet partial;
  for (int i = 0; i < scale.control_partial; ++i) {
    const int fd = OpenUnix(node.socket().string());
    if (fd < 0) break;
    partial.Add(fd);
  }
  // All of each frame but its last 8 bytes: it never completes.
  const int64_t pushed = PushToAll(partial.fds(), FrameLength(kFrame),
                                   kFrame - 8, Clock::now() + 30s);
  std::this_thread::sleep_for(1s);
  const TimedCommand cli = TimedCli(node, {"status"});
  const Footprint held = TakeFootprint(node);
  const size_t connections = partial.size();
  partial.Clear();
  std::this_thread::sleep_for(2s);
  const Footprint after = TakeFootprint(node);
  const TimedCommand cli_after = TimedCli(node, {"status"});

  report.Metric("connections", static_cast<int64_t>(connections));
  report.Metric("bytes_pushed_kb", pushed / 1024);
  report.Metric("rss_held_kb", held.rss_kb);
  report.Metric("cli_ms", cli.elapsed.count());
  report.Metric("cli_after_ms", cli_after.elapsed.count());
  report.Growth(before, after);

  EXPECT_EQ(connections, static_cast<size_t>(scale.control_partial))
      << "could not open the attack's connections (harness problem)";
  EXPECT_LE(after.hwm_kb, kRssPeakBoundKb)
      << "partial control frames are buffered without a budget";
  EXPECT_LE(after.rss_kb, before.rss_kb + kRssAfterSlackKb)
      << "memory of dropped control connections is kept";
  EXPECT_EQ(cli.result.exit_code, 0) << cli.result.Describe();
  EXPECT_LE(cli.elapsed, kCliAnswerBound);
  EXPECT_EQ(cli_after.result.exit_code, 0) << cli_after.result.Describe();
  if (node.running()) {
    EXPECT_EQ(node.Stop(), 0) << node.LogText();
  }
}

}  // namespace
}  // namespace caravan::hostile
