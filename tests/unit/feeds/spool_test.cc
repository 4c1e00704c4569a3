// Spool core (daemon/feeds/spool.h): claiming, moving, reports, progress
// markers and resume, against a real temporary directory and a fake submit
// function that records what it was given.
#include "daemon/feeds/spool.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "daemon/feeds/spool_state.h"

namespace caravan::feeds {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "spool-test-XXXXXX").string();
    char* made = mkdtemp(tmpl.data());
    if (made == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void Write(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

std::string Read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> Names(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Values "a0".."a<n-1>", one per line.
std::string Lines(const std::string& prefix, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += prefix + std::to_string(i) + "\n";
  return out;
}

// A stand-in for the node's Submitter: records every item with its actor,
// refuses values that start with "bad", and runs `hook` (with the call
// number, from 1) after recording a call.
struct FakeSubmit {
  std::vector<std::pair<std::string, std::string>> seen;  // value, actor
  int calls = 0;
  std::function<void(int)> hook;

  SpoolSubmitFn Fn() {
    return [this](const std::vector<protocol::BulkItem>& items,
                  const std::string& actor) {
      std::vector<std::string> out;
      for (const auto& it : items) {
        seen.emplace_back(it.value, actor);
        out.push_back(it.value.rfind("bad", 0) == 0
                          ? "'" + it.value + "' is not a valid indicator"
                          : "");
      }
      ++calls;
      if (hook) hook(calls);
      return out;
    };
  }
  std::map<std::string, int> Counts() const {
    std::map<std::string, int> c;
    for (const auto& [v, a] : seen) ++c[v];
    return c;
  }
};

class SpoolTest : public ::testing::Test {
 protected:
  // Settle time off: these tests drop files by renaming into place; the
  // settle tests set it and drive the fake clock.
  SpoolOptions Options() {
    SpoolOptions o;
    o.dir = tmp_.path() / "spool";
    o.settle_time = std::chrono::milliseconds(0);
    return o;
  }
  std::unique_ptr<Spool> Make(SpoolOptions o) {
    auto s = std::make_unique<Spool>(
        o, fake_.Fn(),
        [this](const std::string& actor, const std::string& action,
               const std::string& subject, const std::string&) {
          audits_.push_back(actor + " " + action + " " + subject);
        },
        [this] { return now_; });
    EXPECT_TRUE(s->Prepare().ok());
    return s;
  }
  fs::path dir() const { return tmp_.path() / "spool"; }
  fs::path in(const std::string& name) const {
    return dir() / "incoming" / name;
  }
  // Writes into a sibling dir, then renames into incoming/: the convention.
  void Drop(const std::string& name, const std::string& text) {
    const fs::path staged = tmp_.path() / ("staged-" + name);
    Write(staged, text);
    fs::rename(staged, in(name));
  }

  TempDir tmp_;
  FakeSubmit fake_;
  std::vector<std::string> audits_;
  std::atomic<bool> stop_{false};
  std::chrono::steady_clock::time_point now_{};  // the fake clock
};

TEST_F(SpoolTest, PrepareCreatesTheDirectoriesMode0750) {
  auto spool = Make(Options());
  for (const char* sub : {"incoming", "processing", "done", "failed", ".state"}) {
    struct stat st{};
    ASSERT_EQ(::stat((dir() / sub).c_str(), &st), 0) << sub;
    EXPECT_TRUE(S_ISDIR(st.st_mode)) << sub;
    EXPECT_EQ(st.st_mode & 07777, 0750u) << sub;
  }
  // Idempotent.
  EXPECT_TRUE(spool->Prepare().ok());
}

TEST_F(SpoolTest, PrepareFailsNamingTheDirectory) {
  Write(tmp_.path() / "file", "x");
  SpoolOptions o;
  o.dir = tmp_.path() / "file" / "spool";
  Spool spool(o, fake_.Fn());
  Status s = spool.Prepare();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find((tmp_.path() / "file" / "spool").string()),
            std::string::npos)
      << s.message();
}

TEST_F(SpoolTest, GoodFileIsIngestedInBatchesAndEndsInDone) {
  auto spool = Make(Options());
  Drop("feed.txt", Lines("10.0.0.", 2500));
  auto results = spool->RunOnce(stop_);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].final_path, "done/feed.txt");
  EXPECT_EQ(results[0].format, "txt");
  EXPECT_EQ(results[0].accepted, 2500u);
  EXPECT_EQ(results[0].rejected, 0u);
  EXPECT_FALSE(results[0].failed);
  EXPECT_EQ(fake_.calls, 3);  // 1000 + 1000 + 500
  ASSERT_EQ(fake_.seen.size(), 2500u);
  for (const auto& [value, actor] : fake_.seen) EXPECT_EQ(actor, "spool:feed.txt");
  EXPECT_EQ(Names(dir() / "done"), std::vector<std::string>{"feed.txt"});
  EXPECT_TRUE(Names(dir() / "incoming").empty());
  EXPECT_TRUE(Names(dir() / "processing").empty());
  EXPECT_TRUE(Names(dir() / ".state").empty());
  EXPECT_EQ(Read(dir() / "done" / "feed.txt"), Lines("10.0.0.", 2500));
  ASSERT_EQ(audits_.size(), 1u);
  EXPECT_EQ(audits_[0], "spool:feed.txt spool-done done/feed.txt");
  // Nothing left: a second run does nothing.
  EXPECT_TRUE(spool->RunOnce(stop_).empty());
  EXPECT_EQ(fake_.calls, 3);
}

TEST_F(SpoolTest, BadLinesAreReportedWithLineAndReasonAndGoodOnesStored) {
  auto spool = Make(Options());
  Drop("mixed.csv",
       "value,type,tlp\n"
       "evil.example,domain,green\n"
       "bad.value,domain,green\n"
       "1.2.3.4,ipv4,green,extra\n"
       "\n"
       "hxxp://x[.]example/a,url,amber\n");
  auto results = spool->RunOnce(stop_);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].final_path, "done/mixed.csv");
  EXPECT_EQ(results[0].format, "csv");
  EXPECT_EQ(results[0].accepted, 2u);
  EXPECT_EQ(results[0].rejected, 2u);
  const std::string report = Read(dir() / "done" / "mixed.csv.error");
  EXPECT_EQ(report.rfind("mixed.csv:3: 'bad.value' is not a valid indicator\n"
                         "mixed.csv:4: ",
                         0),
            0u)
      << report;
  EXPECT_NE(report.find("4 fields"), std::string::npos) << report;
  auto counts = fake_.Counts();
  EXPECT_EQ(counts["evil.example"], 1);
  EXPECT_EQ(counts["hxxp://x[.]example/a"], 1);  // refanged by the daemon
}

TEST_F(SpoolTest, FileWithNothingUsableEndsInFailedWithItsReport) {
  auto spool = Make(Options());
  Drop("nohdr.csv", "ip,kind\n1.2.3.4,ipv4\n");
  Drop("allbad.txt", "bad1\n# comment\nbad2\n");
  auto results = spool->RunOnce(stop_);
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) {
    EXPECT_TRUE(r.failed) << r.name;
    EXPECT_EQ(r.accepted, 0u) << r.name;
  }
  EXPECT_EQ(Read(dir() / "failed" / "nohdr.csv.error").rfind(
                "nohdr.csv:1: csv header: unknown column 'ip'", 0),
            0u)
      << Read(dir() / "failed" / "nohdr.csv.error");
  EXPECT_EQ(Read(dir() / "failed" / "allbad.txt.error"),
            "allbad.txt:1: 'bad1' is not a valid indicator\n"
            "allbad.txt:3: 'bad2' is not a valid indicator\n");
  EXPECT_TRUE(Names(dir() / "done").empty());
}

TEST_F(SpoolTest, UnknownFormatEndsInFailedWithReason) {
  auto spool = Make(Options());
  Drop("blob.bin", std::string("\x1f\x8b\x08\x00 gzip", 9));
  auto results = spool->RunOnce(stop_);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].failed);
  EXPECT_EQ(results[0].final_path, "failed/blob.bin");
  const std::string report = Read(dir() / "failed" / "blob.bin.error");
  EXPECT_EQ(report.rfind("blob.bin: binary content: byte 0x1f at offset 0", 0),
            0u)
      << report;
  EXPECT_EQ(fake_.calls, 0);
  ASSERT_EQ(audits_.size(), 1u);
  EXPECT_EQ(audits_[0], "spool:blob.bin spool-failed failed/blob.bin");
}

TEST_F(SpoolTest, JsonThatIsNeitherStixNorMispFails) {
  auto spool = Make(Options());
  Drop("thing.json", R"({"hello": "world", "n": [1, 2]})");
  auto results = spool->RunOnce(stop_);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].failed);
  const std::string report = Read(dir() / "failed" / "thing.json.error");
  EXPECT_NE(report.find("top-level keys: hello, n"), std::string::npos) << report;
}

TEST_F(SpoolTest, OversizeFileIsRefusedUnread) {
  SpoolOptions o = Options();
  o.max_file_bytes = 1024;
  auto spool = Make(o);
  Drop("big.txt", Lines("10.1.0.", 200));  // > 1 KiB
  auto results = spool->RunOnce(stop_);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].failed);
  const std::string report = Read(dir() / "failed" / "big.txt.error");
  EXPECT_NE(report.find("[spool] max_file_bytes is 1024"), std::string::npos)
      << report;
  EXPECT_EQ(fake_.calls, 0);
}

TEST_F(SpoolTest, PartialHiddenAndBadlyNamedEntriesAreLeftAlone) {
  auto spool = Make(Options());
  Write(in(".hidden"), "10.0.0.1\n");
  Write(in("upload.tmp"), "10.0.0.2\n");
  Write(in("upload.part"), "10.0.0.3\n");
  fs::create_directory(in("subdir"));
  Write(in("bad\nname"), "10.0.0.5\n");
  EXPECT_TRUE(spool->RunOnce(stop_).empty());
  EXPECT_EQ(fake_.calls, 0);
  EXPECT_EQ(Names(dir() / "incoming"),
            (std::vector<std::string>{".hidden", "bad\nname", "subdir",
                                      "upload.part", "upload.tmp"}));
  // Renaming into place is what makes a file eligible.
  fs::rename(in("upload.tmp"), in("upload.txt"));
  auto results = spool->RunOnce(stop_);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].final_path, "done/upload.txt");
}

// Finding 9: a symbolic link or FIFO in incoming/ is moved to failed/ with
// its reason, unread and without blocking on the FIFO.
TEST_F(SpoolTest, SymlinkAndFifoAreRefusedUnreadIntoFailed) {
  auto spool = Make(Options());
  Write(tmp_.path() / "secret", "10.0.0.4\n");
  fs::create_symlink(tmp_.path() / "secret", in("link.txt"));
  ASSERT_EQ(::mkfifo(in("fifo").c_str(), 0600), 0);
  auto results = spool->RunOnce(stop_);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].failed);
  EXPECT_TRUE(results[1].failed);
  EXPECT_EQ(fake_.calls, 0);
  EXPECT_TRUE(Names(dir() / "incoming").empty());
  const std::string link_report = Read(dir() / "failed" / "link.txt.error");
  EXPECT_NE(link_report.find("a symbolic link"), std::string::npos)
      << link_report;
  EXPECT_EQ(link_report.find("10.0.0.4"), std::string::npos) << link_report;
  const std::string fifo_report = Read(dir() / "failed" / "fifo.error");
  EXPECT_NE(fifo_report.find("a FIFO"), std::string::npos) << fifo_report;
  // The link itself was moved, its target left as it was.
  EXPECT_TRUE(fs::is_symlink(dir() / "failed" / "link.txt"));
  EXPECT_EQ(Read(tmp_.path() / "secret"), "10.0.0.4\n");
}

// Finding 9: a hard link to a file the dropper cannot read (a key file) was
// ingested and its line echoed into the report.
TEST_F(SpoolTest, HardLinkIsRefusedAndItsContentNeverEchoed) {
  auto spool = Make(Options());
  const std::string key = "c2VjcmV0LWtleS1tYXRlcmlhbC1kby1ub3QtbGVhaw==\n";
  Write(tmp_.path() / "identity.key", key);
  fs::create_hard_link(tmp_.path() / "identity.key", in("feed.txt"));
  auto results = spool->RunOnce(stop_);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].failed);
  EXPECT_EQ(results[0].final_path, "failed/feed.txt");
  EXPECT_EQ(fake_.calls, 0);
  const std::string report = Read(dir() / "failed" / "feed.txt.error");
  EXPECT_NE(report.find("has 2 hard links"), std::string::npos) << report;
  EXPECT_EQ(report.find("c2VjcmV0"), std::string::npos) << report;
  EXPECT_EQ(Read(tmp_.path() / "identity.key"), key);
}

// Finding 9: a file claimed while its writer was still writing: 4 of 20
// lines ingested. A file written in place is claimed only after its size
// and mtime held for the settle time; then every line is ingested once.
TEST_F(SpoolTest, SlowWriterIsClaimedOnlyOnceSettledAndEveryLineIngestedOnce) {
  SpoolOptions o = Options();
  o.settle_time = std::chrono::seconds(2);
  auto spool = Make(o);
  const fs::path p = in("slow.txt");
  std::ofstream out(p, std::ios::binary);
  for (int i = 0; i < 20; ++i) {
    out << "10.1.0." << i << "\n" << std::flush;
    // Each line changes the size; a scan between two lines finds it
    // unsettled however long the clock says it has been.
    now_ += std::chrono::seconds(1);
    EXPECT_TRUE(spool->RunOnce(stop_).empty()) << "claimed after line " << i;
    if (i % 5 == 4) {
      now_ += std::chrono::seconds(1);
      EXPECT_TRUE(spool->RunOnce(stop_).empty()) << "claimed at pause " << i;
    }
  }
  out.close();
  // The final size was first seen by the scan after line 20, 1 s ago.
  now_ += std::chrono::milliseconds(999);
  EXPECT_TRUE(spool->RunOnce(stop_).empty());  // not yet 2 s unchanged
  now_ += std::chrono::milliseconds(1);
  auto results = spool->RunOnce(stop_);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].final_path, "done/slow.txt");
  EXPECT_EQ(results[0].accepted, 20u);
  auto counts = fake_.Counts();
  EXPECT_EQ(counts.size(), 20u);
  for (const auto& [value, n] : counts) EXPECT_EQ(n, 1) << value;
  EXPECT_FALSE(fs::exists(dir() / "done" / "slow.txt.error"));
}

TEST_F(SpoolTest, SettleTimeRestartsWhenTheFileIsReplaced) {
  SpoolOptions o = Options();
  o.settle_time = std::chrono::seconds(2);
  auto spool = Make(o);
  Write(in("a.txt"), "10.2.0.1\n");
  EXPECT_TRUE(spool->RunOnce(stop_).empty());
  now_ += std::chrono::seconds(1);
  // Same size, new inode (replaced by rename): a new file, a new wait.
  Drop("a.txt", "10.2.0.2\n");
  EXPECT_TRUE(spool->RunOnce(stop_).empty());
  now_ += std::chrono::seconds(1);
  EXPECT_TRUE(spool->RunOnce(stop_).empty());
  now_ += std::chrono::seconds(1);
  auto results = spool->RunOnce(stop_);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(fake_.Counts(), (std::map<std::string, int>{{"10.2.0.2", 1}}));
}

// A writer still appending after the claim is named in the report, never
// passed over in silence.
TEST_F(SpoolTest, FileThatGrowsWhileReadIsReported) {
  SpoolOptions o = Options();
  o.batch_lines = 1;
  auto spool = Make(o);
  Drop("grow.txt", Lines("10.3.0.", 3));
  fake_.hook = [&](int call) {
    if (call != 1) return;
    std::ofstream more(dir() / "processing" / "grow.txt",
                       std::ios::binary | std::ios::app);
    more << "10.3.0.99\n";
  };
  auto results = spool->RunOnce(stop_);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].accepted, 3u);
  const std::string report = Read(dir() / "done" / "grow.txt.error");
  EXPECT_NE(report.find("changed while it was read"), std::string::npos)
      << report;
}

// A rejected line's reason is quoted bounded and escaped in the report.
TEST_F(SpoolTest, LongRejectedLineIsQuotedBounded) {
  auto spool = Make(Options());
  const std::string long_value = "bad" + std::string(5000, 'x');
  Drop("long.txt", long_value + "\n10.4.0.1\n");
  auto results = spool->RunOnce(stop_);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].rejected, 1u);
  const std::string report = Read(dir() / "done" / "long.txt.error");
  EXPECT_LT(report.size(), 200u) << report;
  EXPECT_NE(report.find("\xe2\x80\xa6("), std::string::npos) << report;
  EXPECT_EQ(report.find(std::string(200, 'x')), std::string::npos);
}

TEST(BoundedSpoolReasonTest, EscapesAndCuts) {
  EXPECT_EQ(BoundedSpoolReason("short reason"), "short reason");
  EXPECT_EQ(BoundedSpoolReason("a\tb\\c\x7f"), "a\\x09b\\x5cc\\x7f");
  const std::string cut = BoundedSpoolReason(std::string(1000, 'y'));
  EXPECT_EQ(cut, std::string(kMaxSpoolReasonBytes, 'y') +
                     "\xe2\x80\xa6(1000 bytes)");
  // Never cut inside a UTF-8 sequence ("é" is two bytes).
  std::string accents;
  for (int i = 0; i < 200; ++i) accents += "\xc3\xa9";
  const std::string a = BoundedSpoolReason(accents);
  const std::string kept = a.substr(0, a.find("\xe2\x80\xa6"));
  EXPECT_EQ(kept.size() % 2, 0u);
  EXPECT_LE(kept.size(), kMaxSpoolReasonBytes);
}

TEST_F(SpoolTest, CandidateNames) {
  EXPECT_TRUE(Spool::IsCandidateName("feed.csv"));
  EXPECT_TRUE(Spool::IsCandidateName("no-extension"));
  EXPECT_FALSE(Spool::IsCandidateName(""));
  EXPECT_FALSE(Spool::IsCandidateName(".feed.csv"));
  EXPECT_FALSE(Spool::IsCandidateName("feed.csv.tmp"));
  EXPECT_FALSE(Spool::IsCandidateName("feed.csv.part"));
  EXPECT_FALSE(Spool::IsCandidateName("tab\there"));
  EXPECT_FALSE(Spool::IsCandidateName(std::string(kMaxSpoolNameBytes + 1, 'a')));
  EXPECT_TRUE(Spool::IsCandidateName(std::string(kMaxSpoolNameBytes, 'a')));
}

TEST_F(SpoolTest, SymlinkSwappedIntoProcessingIsNotFollowed) {
  auto spool = Make(Options());
  Write(tmp_.path() / "secret", "10.9.9.9\n");
  fs::create_symlink(tmp_.path() / "secret", dir() / "processing" / "x.txt");
  auto results = spool->RunOnce(stop_);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].failed);
  EXPECT_NE(Read(dir() / "failed" / "x.txt.error").find("symbolic link"),
            std::string::npos);
  EXPECT_EQ(fake_.calls, 0);
  EXPECT_EQ(Read(tmp_.path() / "secret"), "10.9.9.9\n");
}

TEST_F(SpoolTest, NameCollisionsInDoneGetANumber) {
  auto spool = Make(Options());
  Drop("feed.txt", "10.0.0.1\n");
  spool->RunOnce(stop_);
  Drop("feed.txt", "10.0.0.2\nbad1\n");
  spool->RunOnce(stop_);
  Drop("feed.txt", "10.0.0.3\n");
  spool->RunOnce(stop_);
  EXPECT_EQ(Names(dir() / "done"),
            (std::vector<std::string>{"feed.1.txt", "feed.1.txt.error",
                                      "feed.2.txt", "feed.txt"}));
  EXPECT_EQ(Read(dir() / "done" / "feed.1.txt.error"),
            "feed.txt:2: 'bad1' is not a valid indicator\n");
  EXPECT_EQ(Read(dir() / "done" / "feed.2.txt"), "10.0.0.3\n");
}

TEST_F(SpoolTest, FileRenamedInWhileAnotherIsIngestedIsTakenToo) {
  SpoolOptions o = Options();
  o.batch_lines = 100;
  auto spool = Make(o);
  const fs::path staged = tmp_.path() / "second.txt";
  Write(staged, Lines("10.2.0.", 50));
  fake_.hook = [&](int call) {
    if (call == 1) {
      // Mid-ingest of first.txt: a second file arrives.
      EXPECT_TRUE(fs::exists(dir() / "processing" / "first.txt"));
      fs::rename(staged, in("second.txt"));
    }
  };
  Drop("first.txt", Lines("10.1.0.", 250));
  auto results = spool->RunOnce(stop_);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].final_path, "done/first.txt");
  EXPECT_EQ(results[1].final_path, "done/second.txt");
  EXPECT_EQ(results[1].accepted, 50u);
  auto counts = fake_.Counts();
  EXPECT_EQ(counts.size(), 300u);
  for (const auto& [v, n] : counts) EXPECT_EQ(n, 1) << v;
}

TEST_F(SpoolTest, StopMidFileResumesAfterTheLastCommittedBatch) {
  SpoolOptions o = Options();
  o.batch_lines = 100;
  std::string text = Lines("10.3.0.", 350);
  text.replace(text.find("10.3.0.10\n"), 10, "bad-line-11\n");  // line 11
  text.replace(text.find("10.3.0.299\n"), 11, "bad-line-300\n");
  {
    auto spool = Make(o);
    fake_.hook = [&](int call) {
      if (call == 1) stop_ = true;  // SIGTERM during the first batch
    };
    Drop("feed.txt", text);
    auto results = spool->RunOnce(stop_);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_TRUE(results[0].interrupted);
    EXPECT_TRUE(fs::exists(dir() / "processing" / "feed.txt"));
    auto marker = ReadSpoolProgress(dir() / ".state" / "feed.txt.progress");
    ASSERT_TRUE(marker.ok() && marker->has_value());
    EXPECT_EQ((*marker)->position, 100u);
    EXPECT_EQ((*marker)->accepted, 99u);
    EXPECT_EQ((*marker)->rejected, 1u);
  }
  stop_ = false;
  fake_.hook = nullptr;
  auto spool = Make(o);  // the restarted daemon
  auto results = spool->RunOnce(stop_);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].final_path, "done/feed.txt");
  EXPECT_EQ(results[0].accepted, 348u);
  EXPECT_EQ(results[0].rejected, 2u);
  auto counts = fake_.Counts();
  EXPECT_EQ(counts.size(), 350u);
  for (const auto& [v, n] : counts) EXPECT_EQ(n, 1) << v;
  EXPECT_EQ(Read(dir() / "done" / "feed.txt.error"),
            "feed.txt:11: 'bad-line-11' is not a valid indicator\n"
            "feed.txt:300: 'bad-line-300' is not a valid indicator\n");
  EXPECT_TRUE(Names(dir() / ".state").empty());
}

// Death between a batch's commit and its marker: that one batch is
// submitted again (the store absorbs it as unchanged), nothing else is,
// and the report lists each bad line once.
TEST_F(SpoolTest, CrashBetweenCommitAndMarkerResubmitsOnlyThatBatch) {
  SpoolOptions o = Options();
  o.batch_lines = 100;
  std::string text = Lines("10.4.0.", 300);
  text.replace(text.find("10.4.0.150\n"), 11, "bad-line-151\n");
  {
    auto spool = Make(o);
    fake_.hook = [&](int call) {
      if (call == 2) throw std::runtime_error("killed");
    };
    Drop("feed.txt", text);
    EXPECT_THROW(spool->RunOnce(stop_), std::runtime_error);
  }
  fake_.hook = nullptr;
  auto spool = Make(o);
  auto results = spool->RunOnce(stop_);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].final_path, "done/feed.txt");
  auto counts = fake_.Counts();
  EXPECT_EQ(counts.size(), 300u);
  for (int i = 0; i < 300; ++i) {
    const std::string v =
        i == 150 ? "bad-line-151" : "10.4.0." + std::to_string(i);
    EXPECT_EQ(counts[v], i >= 100 && i < 200 ? 2 : 1) << v;
  }
  EXPECT_EQ(Read(dir() / "done" / "feed.txt.error"),
            "feed.txt:151: 'bad-line-151' is not a valid indicator\n");
}

// Death half-way through the final moves: the marker says where the file
// goes, and the next run completes the moves without resubmitting.
TEST_F(SpoolTest, CrashDuringTheFinalMovesIsCompletedOnRestart) {
  auto spool = Make(Options());
  Write(dir() / "processing" / "feed.txt", "10.5.0.1\nbad\n");
  Write(dir() / ".state" / "feed.txt.report", "feed.txt:2: bad\n");
  SpoolProgress p;
  p.position = 2;
  p.report_bytes = 16;
  p.accepted = 1;
  p.rejected = 1;
  p.format = "txt";
  p.final_dir = "done";
  p.final_name = "feed.txt";
  ASSERT_TRUE(WriteSpoolProgress(dir() / ".state" / "feed.txt.progress", p).ok());
  auto results = spool->RunOnce(stop_);
  EXPECT_EQ(fake_.calls, 0);
  EXPECT_EQ(Names(dir() / "done"),
            (std::vector<std::string>{"feed.txt", "feed.txt.error"}));
  EXPECT_EQ(Read(dir() / "done" / "feed.txt.error"), "feed.txt:2: bad\n");
  EXPECT_TRUE(Names(dir() / "processing").empty());
  EXPECT_TRUE(Names(dir() / ".state").empty());
}

TEST_F(SpoolTest, MarkerOfAnotherFileIsNotTrusted) {
  auto spool = Make(Options());
  Write(dir() / "processing" / "feed.txt", "10.6.0.1\n10.6.0.2\n");
  SpoolProgress p;
  p.position = 1;  // would skip line 1
  p.inode = 1;     // not this file's
  p.size = 18;
  p.format = "txt";
  ASSERT_TRUE(WriteSpoolProgress(dir() / ".state" / "feed.txt.progress", p).ok());
  auto results = spool->RunOnce(stop_);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].accepted, 2u);
  EXPECT_EQ(fake_.Counts()["10.6.0.1"], 1);
}

TEST_F(SpoolTest, CorruptMarkerMeansStartingOver) {
  auto spool = Make(Options());
  Write(dir() / "processing" / "feed.txt", "10.7.0.1\n");
  Write(dir() / ".state" / "feed.txt.progress", "garbage");
  auto results = spool->RunOnce(stop_);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].final_path, "done/feed.txt");
  EXPECT_EQ(fake_.Counts()["10.7.0.1"], 1);
}

TEST_F(SpoolTest, ReportIsCappedWithACount) {
  SpoolOptions o = Options();
  o.max_report_lines = 5;
  auto spool = Make(o);
  Drop("bad.txt", Lines("bad", 20) + "10.8.0.1\n");
  auto results = spool->RunOnce(stop_);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].rejected, 20u);
  EXPECT_EQ(results[0].accepted, 1u);
  const std::string report = Read(dir() / "done" / "bad.txt.error");
  EXPECT_EQ(std::count(report.begin(), report.end(), '\n'), 6) << report;
  EXPECT_NE(report.find("bad.txt: 15 more rejected entries not listed\n"),
            std::string::npos)
      << report;
}

TEST_F(SpoolTest, FilesAreTakenOldestFirst) {
  auto spool = Make(Options());
  Drop("b.txt", "10.9.0.2\n");
  Drop("a.txt", "10.9.0.1\n");
  const auto now = fs::file_time_type::clock::now();
  fs::last_write_time(in("b.txt"), now - std::chrono::hours(1));
  fs::last_write_time(in("a.txt"), now);
  auto results = spool->RunOnce(stop_);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].name, "b.txt");
  EXPECT_EQ(results[1].name, "a.txt");
}

TEST_F(SpoolTest, StixBundleFromTestdata) {
  auto spool = Make(Options());
  Drop("c2.json", Read(fs::path(CARAVAN_TESTDATA_DIR) / "stix-examples" /
                       "indicator-for-c2-ip-address.json"));
  auto results = spool->RunOnce(stop_);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].format, "stix");
  EXPECT_EQ(results[0].final_path, "done/c2.json");
  EXPECT_EQ(fake_.Counts()["10.0.0.0"], 1);
}

TEST_F(SpoolTest, MispEventFromTestdataSniffedWithoutExtension) {
  auto spool = Make(Options());
  Drop("event", Read(fs::path(CARAVAN_TESTDATA_DIR) / "misp" /
                     "rest-api-event-misp_event.json"));
  auto results = spool->RunOnce(stop_);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].format, "misp");
  EXPECT_EQ(results[0].final_path, "done/event");
  EXPECT_GT(results[0].accepted, 0u);
}

TEST_F(SpoolTest, BrokenStixDocumentFailsWithTheParserMessage) {
  auto spool = Make(Options());
  Drop("broken.json", R"({"type": "bundle", "objects": [ {"type": )");
  auto results = spool->RunOnce(stop_);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].failed);
  const std::string report = Read(dir() / "failed" / "broken.json.error");
  EXPECT_EQ(report.rfind("broken.json: STIX: ", 0), 0u) << report;
}

TEST_F(SpoolTest, EmptyFileIsDoneWithNothing) {
  auto spool = Make(Options());
  Drop("empty.txt", "");
  auto results = spool->RunOnce(stop_);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].final_path, "done/empty.txt");
  EXPECT_EQ(fake_.calls, 0);
}

}  // namespace
}  // namespace caravan::feeds
