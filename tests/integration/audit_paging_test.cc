// `caravan audit` over a log longer than one daemon page (and longer than
// the 10,000 entries one request may return): the CLI follows the pages,
// `--after-seq` resumes, `--limit` caps, `--peer`/`--since` still filter,
// and --json stays one document.

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "tests/integration/node_fixture.h"

namespace caravan::integration {
namespace {

using nlohmann::json;

class AuditPagingTest : public RunningNodeTest {};

json AuditJson(const TestNode& node, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"--json", "audit"};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = node.Cli(argv);
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  json doc = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << "not one JSON document: "
                                   << r.out.substr(0, 300);
  if (doc.is_discarded() || !doc.contains("entries")) return json::array();
  return doc["entries"];
}

TEST_F(AuditPagingTest, ReadsMoreThanTenThousandEntriesWhole) {
  constexpr int kValues = 12000;
  std::string lines;
  for (int i = 0; i < kValues; ++i) {
    lines += "10.44." + std::to_string(i / 256) + "." +
             std::to_string(i % 256) + "\n";
  }
  const auto path = node_->root() / "bulk.txt";
  WriteFile(path, lines);
  CommandResult bulk = node_->Cli({"submit", "--file", path.string()});
  ASSERT_EQ(bulk.exit_code, 0) << bulk.Describe();
  // New indicators are audited one entry per write; a revision of each
  // (a tag added) is one entry per indicator: more than 10,000 entries.
  CommandResult tagged =
      node_->Cli({"submit", "--file", path.string(), "--tag", "paging"});
  ASSERT_EQ(tagged.exit_code, 0) << tagged.Describe();

  const json all = AuditJson(*node_, {});
  // "start", the summaries, one "submit" per revision, and nothing twice
  // or out of order.
  ASSERT_GE(all.size(), static_cast<size_t>(kValues + 1));
  uint64_t summarized = 0;
  size_t revisions = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(all[i]["seq"].get<uint64_t>(), i + 1) << "gap or duplicate";
    if (all[i]["action"] != "submit") continue;
    const json& detail = all[i]["detail"];
    if (detail.contains("count")) {
      summarized += detail["count"].get<uint64_t>();
    } else if (detail.value("revision", 0) == 2) {
      ++revisions;
    }
  }
  EXPECT_EQ(summarized, static_cast<uint64_t>(kValues));
  EXPECT_EQ(revisions, static_cast<size_t>(kValues));
  // The chain the daemon verifies has exactly as many entries as we read
  // (verify itself is audited only in the log it checks, not here).
  json verify = node_->CliJson({"audit", "verify"});
  EXPECT_EQ(verify["entries"].get<uint64_t>(), all.size());

  // --limit caps across pages; --after-seq resumes after a given entry.
  const json first = AuditJson(*node_, {"--limit", "2500"});
  ASSERT_EQ(first.size(), 2500u);
  EXPECT_EQ(first.back()["seq"], 2500);
  const json resumed = AuditJson(*node_, {"--after-seq", "2500"});
  ASSERT_EQ(resumed.size(), all.size() - 2500);
  EXPECT_EQ(resumed.front()["seq"], 2501);
  EXPECT_EQ(resumed.back()["seq"], all.back()["seq"]);
  const json slice = AuditJson(*node_, {"--after-seq", "11990", "--limit", "5"});
  ASSERT_EQ(slice.size(), 5u);
  EXPECT_EQ(slice[0]["seq"], 11991);
  EXPECT_EQ(slice[4]["seq"], 11995);
  // Past the end: an empty list, not an error.
  EXPECT_TRUE(AuditJson(*node_, {"--after-seq", "100000000"}).empty());
  // Filters still apply on every page.
  EXPECT_TRUE(AuditJson(*node_, {"--peer", "nobody"}).empty());
  EXPECT_EQ(AuditJson(*node_, {"--since", "1h"}).size(), all.size());

  // For people: a header and one line per entry, streamed.
  CommandResult text = node_->Cli({"audit", "--after-seq", "9000"});
  ASSERT_EQ(text.exit_code, 0) << text.Describe();
  std::istringstream in(text.out);
  std::string line;
  size_t n = 0;
  std::getline(in, line);
  EXPECT_EQ(line.rfind("SEQ", 0), 0u) << line;
  while (std::getline(in, line)) ++n;
  EXPECT_EQ(n, all.size() - 9000);
}

TEST_F(AuditPagingTest, BadOptionsAreUsageErrors) {
  EXPECT_EQ(node_->Cli({"audit", "--after-seq", "minus"}).exit_code, 2);
  EXPECT_EQ(node_->Cli({"audit", "--limit", "-3"}).exit_code, 2);
  EXPECT_EQ(node_->Cli({"audit", "--since", "yesterday-ish"}).exit_code, 4);
}

}  // namespace
}  // namespace caravan::integration
