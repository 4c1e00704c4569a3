// Tests of the daemon's log (daemon/observe/log.h).

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "daemon/observe/log.h"

namespace caravan {
namespace {

// ---- logging -----------------------------------------------------------------

std::mutex g_captured_mutex;
std::vector<std::string> g_captured;

void CaptureSink(std::string_view line) {
  std::lock_guard<std::mutex> lock(g_captured_mutex);
  g_captured.emplace_back(line);
}

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_captured.clear();
    daemon::SetLogSink(&CaptureSink);
  }
  void TearDown() override {
    daemon::SetLogSink(nullptr);
    daemon::LogInit(daemon::LogLevel::kInfo);
  }
};

TEST_F(LogTest, PrefixesEachLineWithItsSyslogPriority) {
  using daemon::FormatLogLine;
  using daemon::LogLevel;
  EXPECT_EQ(FormatLogLine(LogLevel::kError, "disk full"), "<3>disk full\n");
  EXPECT_EQ(FormatLogLine(LogLevel::kWarning, "w"), "<4>w\n");
  EXPECT_EQ(FormatLogLine(LogLevel::kNotice, "n"), "<5>n\n");
  EXPECT_EQ(FormatLogLine(LogLevel::kInfo, "i"), "<6>i\n");
  EXPECT_EQ(FormatLogLine(LogLevel::kDebug, "d"), "<7>d\n");
}

TEST_F(LogTest, EscapesAnythingThatCouldForgeALineOrDriveATerminal) {
  using daemon::EscapeLogText;
  // A peer name trying to inject a second, fake error line.
  EXPECT_EQ(daemon::FormatLogLine(daemon::LogLevel::kInfo,
                                  "peer evil\n<3>root key stolen"),
            "<6>peer evil\\x0a<3>root key stolen\n");
  EXPECT_EQ(EscapeLogText("a\rb\tc\x1b[31md\x7f"),
            "a\\x0db\\x09c\\x1b[31md\\x7f");
  EXPECT_EQ(EscapeLogText(std::string("nul\0byte", 8)), "nul\\x00byte");
  EXPECT_EQ(EscapeLogText("back\\x0a"), "back\\\\x0a");  // unambiguous
  // Valid UTF-8 passes; invalid bytes, overlongs and C1 controls do not.
  EXPECT_EQ(EscapeLogText("Тошкент 東京"), "Тошкент 東京");
  EXPECT_EQ(EscapeLogText("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(EscapeLogText("\xc0\xaf"), "\\xc0\\xaf");
  EXPECT_EQ(EscapeLogText("csi\xc2\x9b" "31m"), "csi\\xc2\\x9b31m");
  EXPECT_EQ(EscapeLogText("cut\xe2\x82"), "cut\\xe2\\x82");
  EXPECT_EQ(EscapeLogText("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // surrogate
}

TEST_F(LogTest, TruncatesLongMessages) {
  std::string line = daemon::FormatLogLine(
      daemon::LogLevel::kInfo, std::string(daemon::kMaxLogMessageBytes + 50, 'a'));
  EXPECT_EQ(line, "<6>" + std::string(daemon::kMaxLogMessageBytes, 'a') +
                      " [truncated]\n");
}

TEST_F(LogTest, ThresholdDropsLessSevereMessages) {
  daemon::LogInit(daemon::LogLevel::kWarning);
  EXPECT_FALSE(daemon::LogEnabled(daemon::LogLevel::kInfo));
  EXPECT_TRUE(daemon::LogEnabled(daemon::LogLevel::kError));
  daemon::LogInfo("not shown");
  daemon::LogDebug("not shown");
  daemon::LogWarning("peer ", std::string("KZ"), " sent ", 3, " bad records");
  daemon::LogError("store: ", std::string_view("locked"));
  ASSERT_EQ(g_captured.size(), 2u);
  EXPECT_EQ(g_captured[0], "<4>peer KZ sent 3 bad records\n");
  EXPECT_EQ(g_captured[1], "<3>store: locked\n");

  daemon::LogInit(daemon::LogLevel::kDebug);
  daemon::LogDebug("now shown");
  daemon::LogNotice("notice");
  ASSERT_EQ(g_captured.size(), 4u);
  EXPECT_EQ(g_captured[2], "<7>now shown\n");
  EXPECT_EQ(g_captured[3], "<5>notice\n");
}

TEST_F(LogTest, LinesFromManyThreadsStayWhole) {
  constexpr int kThreads = 4;
  constexpr int kLines = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < kLines; ++i) {
        daemon::LogInfo("thread ", t, " line ", i, " ", std::string(100, 'x'));
      }
    });
  }
  for (std::thread& th : threads) th.join();
  ASSERT_EQ(g_captured.size(), static_cast<size_t>(kThreads * kLines));
  for (const std::string& line : g_captured) {
    EXPECT_EQ(line.rfind("<6>thread ", 0), 0u);
    EXPECT_EQ(line.find('\n'), line.size() - 1);
  }
}

TEST_F(LogTest, DefaultSinkWritesToStderr) {
  daemon::SetLogSink(nullptr);
  ::testing::internal::CaptureStderr();
  daemon::LogNotice("to stderr");
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "<5>to stderr\n");
}

}  // namespace
}  // namespace caravan
