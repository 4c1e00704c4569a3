// Hostile load on the spool directory (issue 14, finding 9) against a real
// caravand with the spool on (default limits): junk files of long
// rejected lines, dropped as documented (written aside, renamed into
// incoming/), beside a hard link to the node's identity key. Every file is
// filed away, each error report stays bounded (a prefix of each bad line,
// not the line), the key's secret appears in no report and no log line,
// and the CLI keeps answering meanwhile.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "tests/hostile/hostile_bounds.h"
#include "tests/hostile/hostile_probe.h"
#include "tests/hostile/hostile_scale.h"
#include "tests/integration/harness.h"

namespace caravan::hostile {
namespace {

namespace fs = std::filesystem;
using integration::ReadFile;
using integration::WriteFile;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// 16 rejected lines of 60 KiB each (under the 64 KiB line limit, so each
// is parsed and refused, not skipped unread): about 1 MiB per file.
std::string JunkFileText(int n) {
  std::string text;
  for (int line = 0; line < 16; ++line) {
    text += "junk-" + std::to_string(n) + "-" + std::to_string(line) + "-";
    text += std::string(60 * 1024, 'x');
    text += "\n";
  }
  return text;
}

// Files still waiting in incoming/ or being ingested in processing/.
size_t Pending(const fs::path& spool) {
  size_t n = 0;
  for (const char* sub : {"incoming", "processing"}) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(spool / sub, ec)) {
      n += e.is_regular_file() ? 1 : 0;
    }
  }
  return n;
}

TEST(SpoolAttackTest, JunkFilesAndKeyLinkLeaveBoundedReportsAndNoSecret) {
  if (const char* why = SkipReason()) GTEST_SKIP() << why;
  const HostileScale scale = CurrentScale();
  const AttackReport report("spool_junk");
  integration::TestNode node;
  ASSERT_EQ(node.init_result().exit_code, 0) << node.init_result().Describe();
  std::string toml = ReadFile(node.config());
  const size_t at = toml.find("# dir = \"spool\"");
  ASSERT_NE(at, std::string::npos) << "caravan init wrote no spool line:\n"
                                   << toml;
  toml.replace(at, 2, "");
  WriteFile(node.config(), toml);
  std::string why;
  ASSERT_TRUE(node.Start(&why)) << why;
  const fs::path spool = node.dir() / "spool";
  ASSERT_TRUE(fs::is_directory(spool / "incoming")) << node.LogText();
  // The identity key's secret line (the second line of the key file).
  const std::string key_text = ReadFile(node.dir() / "identity.key");
  const std::string secret = key_text.substr(key_text.find('\n') + 1, 44);
  ASSERT_GE(secret.size(), 40u) << "unexpected key file layout";
  const Footprint before = TakeFootprint(node);

  const auto attack_start = Clock::now();
  for (int i = 0; i < scale.spool_junk_files; ++i) {
    const fs::path aside = spool / ("junk-" + std::to_string(i) + ".txt.tmp");
    WriteFile(aside, JunkFileText(i));
    fs::rename(aside,
               spool / "incoming" / ("junk-" + std::to_string(i) + ".txt"));
  }
  if (scale.spool_junk_files > 0) {
    ASSERT_EQ(link((node.dir() / "identity.key").c_str(),
                   (spool / "incoming" / "keys.txt").c_str()),
              0);
  }
  std::this_thread::sleep_for(500ms);
  const TimedCommand cli = TimedCli(node, {"status"});
  // Waits for the daemon to file everything away (the hard link may stay
  // in incoming/ if it is refused in place: not counted then).
  const auto deadline = Clock::now() + 120s;
  while (Clock::now() < deadline && Pending(spool) > 1) {
    std::this_thread::sleep_for(200ms);
  }
  std::this_thread::sleep_for(3s);
  const auto attack_time = Clock::now() - attack_start;
  const Footprint after = TakeFootprint(node);

  int64_t reports = 0, report_bytes = 0, largest = 0;
  bool secret_in_report = false;
  for (const char* sub : {"done", "failed"}) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(spool / sub, ec)) {
      if (e.path().extension() != ".error") continue;
      const std::string text = ReadFile(e.path());
      ++reports;
      report_bytes += static_cast<int64_t>(text.size());
      largest = std::max(largest, static_cast<int64_t>(text.size()));
      secret_in_report |= text.find(secret) != std::string::npos;
    }
  }
  const bool secret_in_log = node.LogText().find(secret) != std::string::npos;

  report.Metric("junk_files", scale.spool_junk_files);
  report.Metric("pending_after", static_cast<int64_t>(Pending(spool)));
  report.Metric("error_reports", reports);
  report.Metric("error_report_bytes", report_bytes);
  report.Metric("largest_error_report_bytes", largest);
  report.Metric("secret_in_report", secret_in_report);
  report.Metric("cli_ms", cli.elapsed.count());
  report.Growth(before, after);

  EXPECT_LE(Pending(spool), 1u) << "junk files were not filed away";
  EXPECT_LE(largest, kSpoolErrorReportBoundBytes)
      << "an error report quotes rejected lines in full";
  EXPECT_FALSE(secret_in_report)
      << "a hard link to the identity key was read and its secret echoed";
  EXPECT_FALSE(secret_in_log);
  EXPECT_EQ(ReadFile(node.dir() / "identity.key"), key_text);
  EXPECT_EQ(cli.result.exit_code, 0) << cli.result.Describe();
  EXPECT_LE(cli.elapsed, kCliAnswerBound);
  EXPECT_LE(after.hwm_kb, kRssPeakBoundKb);
  // A line per filed file is fair (the operator owns who may drop files);
  // more than that is not.
  EXPECT_LE(after.log_lines - before.log_lines,
            2 * scale.spool_junk_files + LogLineBound(attack_time));
  if (node.running()) {
    EXPECT_EQ(node.Stop(), 0) << node.LogText();
  }
}

}  // namespace
}  // namespace caravan::hostile
