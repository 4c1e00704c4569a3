// Promise 4 of DESIGN.md on one node: a kill -9 of caravand in the middle
// of a bulk submit loses nothing the CLI reported as stored and stores
// nothing twice; the audit chain stays intact.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "tests/integration/harness.h"
#include "tests/integration/node_fixture.h"

namespace caravan::integration {
namespace {

namespace fs = std::filesystem;

// Lines per submitted slice and the number of printed ids after which the
// daemon is killed, one per round. The CLI sends 10000-line batches with
// two in flight: when the kill comes after batch k's ids, batch k+1 may
// still commit but k+2 was never sent, so every kill point is at least two
// batches before the end of its slice and the kill always lands mid-submit.
constexpr size_t kSliceLines = 40000;
constexpr size_t kKillAfterIds[] = {10000, 20000, 10000};

// value -> id from `caravan export --format csv --include-revoked`.
std::map<std::string, std::string> ExportedIds(const TestNode& node,
                                               size_t* rows) {
  CommandResult r =
      node.Cli({"export", "--format", "csv", "--include-revoked"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  std::map<std::string, std::string> ids;
  std::istringstream in(r.out);
  std::string line;
  std::getline(in, line);  // header
  *rows = 0;
  while (std::getline(in, line)) {
    ++*rows;
    // type,value,tlp,confidence,tags,origin,created,valid_until,revoked,id:
    // IPv4 values hold no commas, so a plain split is exact here.
    std::vector<std::string> f;
    std::istringstream fields(line);
    for (std::string x; std::getline(fields, x, ',');) f.push_back(x);
    if (f.size() != 10) {
      ADD_FAILURE() << "bad export row: " << line;
      continue;
    }
    ids[f[1]] = f[9];
  }
  return ids;
}

using DurabilityTest = RunningNodeTest;

TEST_F(DurabilityTest, KillNineDuringBulkSubmitLosesAndDoublesNothing) {
  const auto all = ReadLines(
      fs::path(CARAVAN_TESTDATA_DIR) / "real" / "ipv4.txt",
      kSliceLines * std::size(kKillAfterIds));
  ASSERT_EQ(all.size(), kSliceLines * std::size(kKillAfterIds));
  ASSERT_EQ(std::set<std::string>(all.begin(), all.end()).size(), all.size())
      << "the test assumes distinct values";

  std::map<std::string, std::string> acknowledged;  // value -> printed id
  for (size_t round = 0; round < std::size(kKillAfterIds); ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const std::vector<std::string> slice(
        all.begin() + round * kSliceLines,
        all.begin() + (round + 1) * kSliceLines);
    const fs::path file =
        node_->root() / ("slice" + std::to_string(round) + ".txt");
    std::string text;
    for (const auto& v : slice) text += v + "\n";
    WriteFile(file, text);

    const fs::path cli_err =
        node_->root() / ("cli" + std::to_string(round) + ".err");
    Child cli({CaravanPath(), "--config", node_->config().string(), "submit",
               "--file", file.string(), "--print-ids"},
              "", cli_err);
    size_t printed = 0;
    bool killed = false;
    while (auto line = cli.ReadLine(kCommandTimeout)) {
      const size_t tab = line->find('\t');
      ASSERT_NE(tab, std::string::npos) << *line;
      const size_t n = std::stoul(line->substr(0, tab));
      ASSERT_GE(n, 1u);
      ASSERT_LE(n, slice.size());
      acknowledged[slice[n - 1]] = line->substr(tab + 1);
      if (++printed == kKillAfterIds[round] && !killed) {
        node_->Kill();
        killed = true;
      }
    }
    ASSERT_TRUE(killed) << "the CLI printed only " << printed << " ids";
    EXPECT_LT(printed, slice.size()) << "the kill came after the last batch";
    const int cli_exit = cli.Wait(kStopTimeout);
    EXPECT_EQ(cli_exit, 5) << ReadFile(cli_err);
    EXPECT_NE(ReadFile(cli_err).find(node_->socket().string()),
              std::string::npos)
        << "the CLI names the socket it lost: " << ReadFile(cli_err);

    std::string why;
    ASSERT_TRUE(node_->Start(&why)) << why;
    size_t rows = 0;
    const auto exported = ExportedIds(*node_, &rows);
    EXPECT_EQ(rows, exported.size()) << "a value was exported twice";
    for (const auto& [value, id] : acknowledged) {
      auto it = exported.find(value);
      ASSERT_NE(it, exported.end()) << value << " was acknowledged, then lost";
      EXPECT_EQ(it->second, id) << value;
    }
    auto counts = Counts();
    EXPECT_EQ(counts["indicators"], rows);
    EXPECT_EQ(counts["records"], rows)
        << "every value was submitted once: one revision each";
    auto verify = node_->Cli({"audit", "verify"});
    EXPECT_EQ(verify.exit_code, 0) << verify.Describe();
  }

  // Spot checks through show: one revision, signature verifies.
  for (size_t i = 0; i < acknowledged.size(); i += acknowledged.size() / 4) {
    const auto& [value, id] = *std::next(acknowledged.begin(), long(i));
    auto show = node_->CliJson({"show", id});
    ASSERT_EQ(show["revisions"].size(), 1u) << value;
    EXPECT_EQ(show["revisions"][0]["revision"], 1);
    EXPECT_EQ(show["revisions"][0]["verified"], true);
    EXPECT_EQ(show["indicator"]["value"], value);
  }

  // Submitting everything again completes the store without doubling:
  // what survived the kills is "unchanged", the rest is new.
  const fs::path whole = node_->root() / "all.txt";
  std::string text;
  for (const auto& v : all) text += v + "\n";
  WriteFile(whole, text);
  const uint64_t before = Counts()["indicators"];
  auto sum = node_->CliJson({"submit", "--file", whole.string()});
  EXPECT_EQ(sum["lines"], all.size());
  EXPECT_EQ(sum["rejected"], 0);
  EXPECT_EQ(sum["unchanged"], before);
  EXPECT_EQ(sum["stored"], all.size() - before);
  auto counts = Counts();
  EXPECT_EQ(counts["indicators"], all.size());
  EXPECT_EQ(counts["records"], all.size());
  EXPECT_EQ(node_->Cli({"audit", "verify"}).exit_code, 0);
}

}  // namespace
}  // namespace caravan::integration
