// The spool directory (docs/spool.md) with a real caravand: files renamed
// into incoming/ are ingested once and end in done/ or failed/ with a
// report; a file renamed in while another is ingested is taken too; a
// daemon stopped or killed mid-file resumes and stores every valid line
// exactly once.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness.h"

namespace caravan::integration {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

// Every wait on the daemon is bounded by this (ASan on a loaded machine).
constexpr seconds kIngestTimeout{240};

fs::path Testdata(const std::string& rel) {
  return fs::path(CARAVAN_TESTDATA_DIR) / rel;
}

// Polls `done` every 20 ms until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& done, seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = std::make_unique<TestNode>();
    ASSERT_EQ(node_->init_result().exit_code, 0)
        << node_->init_result().Describe();
    // Turn the spool on: a 1 s poll keeps the tests short.
    std::string config = ReadFile(node_->config());
    const std::string off = "# dir = \"spool\"\n";
    const size_t at = config.find(off);
    ASSERT_NE(at, std::string::npos) << config;
    config.replace(at, off.size(), "dir = \"spool\"\n");
    const std::string poll = "poll_interval = \"2s\"\n";
    const size_t p = config.find(poll);
    ASSERT_NE(p, std::string::npos) << config;
    config.replace(p, poll.size(), "poll_interval = \"1s\"\n");
    WriteFile(node_->config(), config);
    std::string why;
    ASSERT_TRUE(node_->Start(&why)) << why;
  }

  void TearDown() override {
    if (node_ && node_->running()) {
      EXPECT_EQ(node_->Stop(), 0) << node_->LogText();
    }
  }

  fs::path spool() const { return node_->dir() / "spool"; }

  // The convention: write beside, then rename into incoming/.
  void Drop(const std::string& name, const std::string& text) {
    const fs::path staged = spool() / "incoming" / ("." + name + ".tmp");
    WriteFile(staged, text);
    fs::rename(staged, spool() / "incoming" / name);
  }

  // Waits until `where` (e.g. "done/feed.txt") exists and the progress
  // marker of `name` is gone: the spool has finished with the file.
  bool WaitFiled(const std::string& where, const std::string& name) {
    const fs::path p = spool() / where;
    const fs::path marker = spool() / ".state" / (name + ".progress");
    return WaitFor([&] { return fs::exists(p) && !fs::exists(marker); },
                   kIngestTimeout);
  }

  uint64_t Indicators() {
    auto doc = node_->CliJson({"status"});
    return doc.is_null() ? 0 : doc["counts"]["indicators"].get<uint64_t>();
  }
  uint64_t Records() {
    auto doc = node_->CliJson({"status"});
    return doc.is_null() ? 0 : doc["counts"]["records"].get<uint64_t>();
  }

  // `caravan query VALUE --json`: how many indicators match.
  size_t Found(const std::string& value) {
    CommandResult r = node_->Cli({"query", value, "--json"});
    auto doc = nlohmann::json::parse(r.out, nullptr, false);
    if (doc.is_discarded() || !doc.contains("indicators")) return 0;
    return doc["indicators"].size();
  }

  std::unique_ptr<TestNode> node_;
};

TEST_F(SpoolTest, GoodFilesOfEveryFormatAreIngestedOnce) {
  const auto ips = ReadLines(Testdata("real/ipv4.txt"), 3000);
  const auto domains = ReadLines(Testdata("real/domains.txt"), 2000);
  const auto cves = ReadLines(Testdata("real/cves.txt"));
  ASSERT_EQ(std::set<std::string>(ips.begin(), ips.end()).size(), ips.size());
  Drop("ips.txt", Join(ips));
  Drop("domains.list", Join(domains));
  Drop("cves", Join(cves));  // no extension: sniffed as a list
  Drop("c2.json",
       ReadFile(Testdata("stix-examples/indicator-for-c2-ip-address.json")));
  Drop("event.json", ReadFile(Testdata("misp/rest-api-event-misp_event.json")));
  for (const char* f : {"ips.txt", "domains.list", "cves", "c2.json",
                        "event.json"}) {
    ASSERT_TRUE(WaitFiled(std::string("done/") + f, f))
        << f << "\n" << node_->LogText();
  }
  for (const char* f : {"ips.txt", "domains.list", "cves", "c2.json"}) {
    EXPECT_FALSE(fs::exists(spool() / "done" / (std::string(f) + ".error")))
        << ReadFile(spool() / "done" / (std::string(f) + ".error"));
  }
  // The MISP event has a `text` attribute caravan does not store: reported.
  const std::string misp_report =
      ReadFile(spool() / "done" / "event.json.error");
  EXPECT_NE(misp_report.find("event.json: "), std::string::npos) << misp_report;
  EXPECT_NE(misp_report.find("text"), std::string::npos) << misp_report;

  EXPECT_TRUE(fs::is_empty(spool() / "incoming"));
  EXPECT_TRUE(fs::is_empty(spool() / "processing"));
  EXPECT_TRUE(fs::is_empty(spool() / "failed"));
  EXPECT_EQ(Found(ips.front()), 1u);
  EXPECT_EQ(Found(ips.back()), 1u);
  EXPECT_EQ(Found(domains[1000]), 1u);
  EXPECT_EQ(Found(cves.back()), 1u);
  EXPECT_EQ(Found("10.0.0.0"), 1u);  // the STIX indicator
  EXPECT_EQ(Found("hxxp://fake.website[.]com/malware/is/here"), 1u);  // MISP
  const uint64_t total = ips.size() + domains.size() +
                         std::set<std::string>(cves.begin(), cves.end()).size() +
                         2;
  EXPECT_EQ(Indicators(), total);
  EXPECT_EQ(Records(), total);

  EXPECT_EQ(node_->Cli({"audit", "verify"}).exit_code, 0);

  // The same file again: nothing new is stored, it is filed beside the
  // first under a new name.
  Drop("ips.txt", Join(ips));
  ASSERT_TRUE(WaitFiled("done/ips.1.txt", "ips.txt")) << node_->LogText();
  EXPECT_EQ(Indicators(), total);
  EXPECT_EQ(Records(), total);
}

TEST_F(SpoolTest, BadLinesAreReportedAndValidLinesStored) {
  Drop("mixed.csv",
       "value,type,tlp,confidence\n"
       "evil-spool.example,domain,green,80\n"
       "999.1.1.1,ipv4,green,80\n"
       "hxxp://bad-spool[.]example/x,url,amber\n"
       "198.51.100.7,ipv4,purple,80\n"
       "198.51.100.8,ipv4,amber,80\n");
  Drop("photo.png", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16));
  ASSERT_TRUE(WaitFiled("done/mixed.csv", "mixed.csv")) << node_->LogText();
  ASSERT_TRUE(WaitFiled("failed/photo.png", "photo.png")) << node_->LogText();
  EXPECT_TRUE(fs::exists(spool() / "done" / "mixed.csv.error"));
  EXPECT_TRUE(fs::exists(spool() / "failed" / "photo.png.error"));

  const auto report = ReadLines(spool() / "done" / "mixed.csv.error");
  ASSERT_EQ(report.size(), 3u) << Join(report);
  EXPECT_EQ(report[0].rfind("mixed.csv:3: ", 0), 0u) << report[0];
  EXPECT_NE(report[0].find("999.1.1.1"), std::string::npos) << report[0];
  EXPECT_EQ(report[1].rfind("mixed.csv:4: has 3 fields", 0), 0u) << report[1];
  EXPECT_EQ(report[2].rfind("mixed.csv:5: ", 0), 0u) << report[2];
  EXPECT_NE(report[2].find("purple"), std::string::npos) << report[2];
  const std::string failed = ReadFile(spool() / "failed" / "photo.png.error");
  EXPECT_EQ(failed.rfind("photo.png: binary content", 0), 0u) << failed;

  EXPECT_EQ(Found("evil-spool.example"), 1u);
  EXPECT_EQ(Found("198.51.100.8"), 1u);
  EXPECT_EQ(Found("999.1.1.1"), 0u);
  EXPECT_EQ(Indicators(), 2u);

  // Attributed to the spool file in the audit log, and the chain holds.
  auto audit = node_->CliJson({"audit"});
  ASSERT_FALSE(audit.is_null());
  std::set<std::string> mixed, photo;
  for (const auto& e : audit["entries"]) {
    if (e["actor"] == "spool:mixed.csv") mixed.insert(e["action"]);
    if (e["actor"] == "spool:photo.png") photo.insert(e["action"]);
  }
  EXPECT_TRUE(mixed.count("spool-done")) << audit.dump();
  EXPECT_GE(mixed.size(), 2u) << "the submissions too: " << audit.dump();
  EXPECT_EQ(photo, std::set<std::string>{"spool-failed"}) << audit.dump();
  EXPECT_EQ(node_->Cli({"audit", "verify"}).exit_code, 0);
}

TEST_F(SpoolTest, FileRenamedInWhileAnotherIsIngestedIsIngestedToo) {
  const auto big = ReadLines(Testdata("real/ipv4.txt"), 20000);
  const auto small = ReadLines(Testdata("real/domains.txt"), 500);
  ASSERT_EQ(std::set<std::string>(big.begin(), big.end()).size(), big.size());
  Drop("big.txt", Join(big));
  // Wait until big.txt is claimed, then drop the second one.
  ASSERT_TRUE(WaitFor(
      [&] {
        return fs::exists(spool() / "processing" / "big.txt") ||
               fs::exists(spool() / "done" / "big.txt");
      },
      kIngestTimeout))
      << node_->LogText();
  const bool mid_ingest = fs::exists(spool() / "processing" / "big.txt");
  Drop("small.txt", Join(small));
  ASSERT_TRUE(WaitFiled("done/big.txt", "big.txt")) << node_->LogText();
  ASSERT_TRUE(WaitFiled("done/small.txt", "small.txt")) << node_->LogText();
  EXPECT_TRUE(mid_ingest) << "big.txt was done before small.txt arrived";
  EXPECT_EQ(Indicators(), big.size() + small.size());
  EXPECT_EQ(Records(), big.size() + small.size());
  EXPECT_EQ(Found(small.back()), 1u);
}

// SIGTERM mid-file, then kill -9 mid-file: after the last restart every
// line is stored exactly once (one indicator, one record each), the file
// ends in done/ without a report, and the audit chain verifies.
TEST_F(SpoolTest, DaemonStoppedAndKilledMidFileLosesAndDoublesNothing) {
  const auto lines = ReadLines(Testdata("real/ipv4.txt"), 30000);
  ASSERT_EQ(std::set<std::string>(lines.begin(), lines.end()).size(),
            lines.size());
  const fs::path marker = spool() / ".state" / "feed.txt.progress";
  const fs::path processing = spool() / "processing" / "feed.txt";
  Drop("feed.txt", Join(lines));

  // A committed batch (the marker exists), then SIGTERM: the daemon stops
  // after the batch in flight and exits 0, the file waits in processing/.
  ASSERT_TRUE(WaitFor([&] { return fs::exists(marker); }, kIngestTimeout))
      << node_->LogText();
  ASSERT_EQ(node_->Stop(), 0) << node_->LogText();
  ASSERT_TRUE(fs::exists(processing)) << "the whole file went in one batch";
  ASSERT_TRUE(fs::exists(marker));
  std::string why;
  ASSERT_TRUE(node_->Start(&why)) << why;
  // Resumed: wait for progress beyond what was there, then kill -9.
  const std::string first = ReadFile(marker);
  ASSERT_TRUE(WaitFor(
      [&] {
        return !fs::exists(marker) || ReadFile(marker) != first;
      },
      kIngestTimeout))
      << node_->LogText();
  node_->Kill();
  const bool killed_mid_file = fs::exists(processing);

  ASSERT_TRUE(node_->Start(&why)) << why;
  ASSERT_TRUE(WaitFiled("done/feed.txt", "feed.txt")) << node_->LogText();
  EXPECT_TRUE(killed_mid_file) << "the file was done before the kill";
  EXPECT_FALSE(fs::exists(spool() / "done" / "feed.txt.error"))
      << ReadFile(spool() / "done" / "feed.txt.error");
  EXPECT_FALSE(fs::exists(marker));
  EXPECT_EQ(Indicators(), lines.size());
  EXPECT_EQ(Records(), lines.size());
  EXPECT_EQ(Found(lines.front()), 1u);
  EXPECT_EQ(Found(lines[lines.size() / 2]), 1u);
  EXPECT_EQ(Found(lines.back()), 1u);
  EXPECT_EQ(node_->Cli({"audit", "verify"}).exit_code, 0);
}

// A spool file has no place for options, so the spool always merges
// (docs/spool.md): a plain line never drops a tag or loosens the TLP of a
// value already held, a tag it brings is added, and a revoked value stays
// revoked (that line is reported).
TEST_F(SpoolTest, KnownValuesAreMergedNeverLoosened) {
  auto r = node_->Cli({"submit", "domain", "kept.example.org", "--tag",
                       "internal", "--tlp", "amber"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  r = node_->Cli({"submit", "ipv4", "198.51.100.99"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  const std::string revoked_id = r.out.substr(0, r.out.find('\n'));
  r = node_->Cli({"revoke", revoked_id, "--reason", "sinkholed"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();

  Drop("plain.txt", "kept.example.org\n");
  ASSERT_TRUE(WaitFiled("done/plain.txt", "plain.txt")) << node_->LogText();
  auto doc = node_->CliJson({"query", "kept.example.org"});
  ASSERT_EQ(doc["indicators"].size(), 1u);
  EXPECT_EQ(doc["indicators"][0]["revision"], 1) << doc.dump();
  EXPECT_EQ(doc["indicators"][0]["tags"], nlohmann::json::array({"internal"}));

  Drop("more.csv",
       "value,type,tlp,tags\n"
       "kept.example.org,domain,clear,c2\n"
       "198.51.100.99,ipv4,,\n");
  ASSERT_TRUE(WaitFiled("done/more.csv", "more.csv")) << node_->LogText();
  doc = node_->CliJson({"query", "kept.example.org"});
  ASSERT_EQ(doc["indicators"].size(), 1u);
  EXPECT_EQ(doc["indicators"][0]["revision"], 2) << doc.dump();
  EXPECT_EQ(doc["indicators"][0]["tlp"], "amber") << doc.dump();
  EXPECT_EQ(doc["indicators"][0]["tags"],
            nlohmann::json::array({"c2", "internal"}));
  const auto report = ReadLines(spool() / "done" / "more.csv.error");
  ASSERT_EQ(report.size(), 1u) << Join(report);
  EXPECT_EQ(report[0].rfind("more.csv:3: indicator is revoked (sinkholed)", 0),
            0u)
      << report[0];
  doc = node_->CliJson({"query", "198.51.100.99", "--include-revoked"});
  ASSERT_EQ(doc["indicators"].size(), 1u);
  EXPECT_EQ(doc["indicators"][0]["revoked"], true);
}

// Finding 9: a file claimed while its writer was still writing had 4 of 20
// lines ingested, with no warning. A writer that writes in place, pausing
// well under settle_time (2 s) between lines, now has all of its lines
// ingested once.
TEST_F(SpoolTest, SlowWriterInPlaceHasEveryLineIngestedOnce) {
  const fs::path p = spool() / "incoming" / "slow.txt";
  {
    std::ofstream out(p, std::ios::binary);
    for (int i = 0; i < 20; ++i) {
      out << "198.51.100." << i + 1 << "\n" << std::flush;
      std::this_thread::sleep_for(std::chrono::milliseconds(150));
    }
  }
  ASSERT_TRUE(WaitFiled("done/slow.txt", "slow.txt")) << node_->LogText();
  EXPECT_FALSE(fs::exists(spool() / "done" / "slow.txt.error"))
      << ReadFile(spool() / "done" / "slow.txt.error");
  EXPECT_EQ(Indicators(), 20u);
  EXPECT_EQ(Records(), 20u);
  EXPECT_EQ(Found("198.51.100.1"), 1u);
  EXPECT_EQ(Found("198.51.100.20"), 1u);
}

// Finding 9: a hard link to a key file was ingested and its line echoed
// into failed/NAME.error. A symbolic link and a FIFO are refused unread
// too, and the FIFO does not block the spool: a good file dropped after
// them is still ingested.
TEST_F(SpoolTest, HardLinkSymlinkAndFifoAreRefusedUnreadWithoutBlocking) {
  const fs::path key = node_->dir() / "hardlink-target.key";
  WriteFile(key, "c2VjcmV0LWtleS1tYXRlcmlhbC1kby1ub3QtbGVhaw==\n");
  ASSERT_EQ(::chmod(key.c_str(), 0600), 0);
  fs::create_hard_link(key, spool() / "incoming" / "keys.txt");
  fs::create_symlink(key, spool() / "incoming" / "link.txt");
  ASSERT_EQ(::mkfifo((spool() / "incoming" / "pipe.txt").c_str(), 0600), 0);
  ASSERT_TRUE(WaitFiled("failed/keys.txt", "keys.txt")) << node_->LogText();
  ASSERT_TRUE(WaitFiled("failed/link.txt", "link.txt")) << node_->LogText();
  ASSERT_TRUE(WaitFiled("failed/pipe.txt", "pipe.txt")) << node_->LogText();
  Drop("good.txt", "198.51.100.77\n");
  ASSERT_TRUE(WaitFiled("done/good.txt", "good.txt")) << node_->LogText();

  const std::string hard = ReadFile(spool() / "failed" / "keys.txt.error");
  EXPECT_NE(hard.find("hard links"), std::string::npos) << hard;
  const std::string sym = ReadFile(spool() / "failed" / "link.txt.error");
  EXPECT_NE(sym.find("symbolic link"), std::string::npos) << sym;
  const std::string fifo = ReadFile(spool() / "failed" / "pipe.txt.error");
  EXPECT_NE(fifo.find("FIFO"), std::string::npos) << fifo;
  for (const std::string& report : {hard, sym, fifo}) {
    EXPECT_EQ(report.find("c2VjcmV0"), std::string::npos) << report;
  }
  EXPECT_EQ(node_->LogText().find("c2VjcmV0"), std::string::npos);
  EXPECT_EQ(Indicators(), 1u);
}

// A rejected line of 10 KB is quoted bounded in the report.
TEST_F(SpoolTest, LongRejectedLineIsQuotedBoundedInTheReport) {
  const std::string huge = "not-an-indicator-" + std::string(10000, 'z');
  Drop("long.txt", huge + "\n198.51.100.5\n");
  ASSERT_TRUE(WaitFiled("done/long.txt", "long.txt")) << node_->LogText();
  const std::string report = ReadFile(spool() / "done" / "long.txt.error");
  EXPECT_NE(report.find("long.txt:1: "), std::string::npos) << report;
  EXPECT_LT(report.size(), 250u) << report;
  EXPECT_EQ(report.find(std::string(100, 'z')), std::string::npos) << report;
  EXPECT_EQ(Found("198.51.100.5"), 1u);
}

}  // namespace
}  // namespace caravan::integration
