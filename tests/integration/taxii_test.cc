// STIX and MISP through the CLI (`caravan export --format stix|misp`,
// `caravan submit --format stix|misp`) against real daemons.
#include <gtest/gtest.h>

#include <set>

#include "tests/integration/harness.h"

namespace caravan::integration {
namespace {

namespace fs = std::filesystem;

const fs::path kTestdata = fs::path(CARAVAN_TESTDATA_DIR);

void StartOrFail(TestNode& node) {
  ASSERT_EQ(node.init_result().exit_code, 0) << node.init_result().Describe();
  std::string why;
  ASSERT_TRUE(node.Start(&why)) << why;
}

TEST(StixCliTest, ExportBundleCarriesSignedRecordsAndReimports) {
  TestNode a("CERT-UZ", "UZ");
  ASSERT_NO_FATAL_FAILURE(StartOrFail(a));
  auto r = a.Cli({"submit", "--file", "-", "--format", "csv"},
                 "type,value,tlp,confidence,tags\n"
                 "ipv4,198.51.100.7,green,80,c2;apt\n"
                 "domain,evil.example.com,amber,60,phish\n"
                 "sha256," + std::string(64, 'a') + ",clear,90,\n");
  ASSERT_EQ(r.exit_code, 0) << r.Describe();

  auto stix = a.Cli({"export", "--format", "stix"});
  ASSERT_EQ(stix.exit_code, 0) << stix.Describe();
  auto bundle = nlohmann::json::parse(stix.out);
  EXPECT_EQ(bundle["type"], "bundle");
  std::set<std::string> patterns;
  size_t identities = 0;
  for (const auto& obj : bundle["objects"]) {
    if (obj["type"] == "identity") ++identities;
    if (obj["type"] != "indicator") continue;
    patterns.insert(obj["pattern"].get<std::string>());
    EXPECT_TRUE(obj.contains("created_by_ref"));
    // The provenance extension carries the origin's signed record.
    ASSERT_TRUE(obj.contains("extensions")) << obj.dump();
    EXPECT_NE(obj["extensions"].dump().find("signed_record"),
              std::string::npos)
        << obj.dump();
  }
  EXPECT_EQ(patterns, (std::set<std::string>{
                          "[ipv4-addr:value = '198.51.100.7']",
                          "[domain-name:value = 'evil.example.com']",
                          "[file:hashes.'SHA-256' = '" +
                              std::string(64, 'a') + "']"}));
  EXPECT_GE(identities, 1u);

  // Export is stable: the same store gives the same bundle.
  auto again = a.Cli({"export", "--format", "stix"});
  EXPECT_EQ(again.out, stix.out);

  // caravan -> STIX -> caravan on another node: every value, TLP and
  // confidence survives; the other node stores them as its own.
  TestNode b("CERT-KZ", "KZ");
  ASSERT_NO_FATAL_FAILURE(StartOrFail(b));
  WriteFile(b.root() / "in.json", stix.out);
  auto imp = b.Cli({"submit", "--file", (b.root() / "in.json").string(),
                    "--format", "stix"});
  ASSERT_EQ(imp.exit_code, 0) << imp.Describe();
  auto q = b.CliJson({"query", "evil.example.com"});
  ASSERT_EQ(q["indicators"].size(), 1u) << q.dump();
  EXPECT_EQ(q["indicators"][0]["tlp"], "amber");
  EXPECT_EQ(q["indicators"][0]["confidence"], 60);
  EXPECT_EQ(q["indicators"][0]["origin"], "KZ");
  auto all = b.CliJson({"query", "--limit", "100"});
  EXPECT_EQ(all["indicators"].size(), 3u);

  // Re-importing the same bundle is idempotent.
  auto imp2 = b.Cli({"submit", "--file", (b.root() / "in.json").string(),
                     "--format", "stix", "--json"}, "");
  ASSERT_EQ(imp2.exit_code, 0) << imp2.Describe();
  auto totals = nlohmann::json::parse(imp2.out);
  EXPECT_EQ(totals["stored"], 0);
  EXPECT_EQ(totals["unchanged"], 3);
}

TEST(StixCliTest, UnsupportedPatternsAreReportedNotGuessed) {
  TestNode a;
  ASSERT_NO_FATAL_FAILURE(StartOrFail(a));
  // The APT1 report holds indicators and many other objects; a file with
  // .json and no --format is detected as STIX.
  auto r = a.Cli({"submit", "--file",
                  (kTestdata / "stix-examples" /
                   "malicious-email-indicator-with-attachment.json")
                      .string()});
  // Whatever is not representable is named on stderr with its reason.
  EXPECT_NE(r.err.find("indicator--"), std::string::npos) << r.Describe();
  EXPECT_EQ(a.CliJson({"query", "--limit", "100"})["indicators"].size(), 0u);
}

TEST(MispCliTest, EventImportAndExportRoundTrip) {
  TestNode a;
  ASSERT_NO_FATAL_FAILURE(StartOrFail(a));
  auto r = a.Cli({"submit", "--file",
                  (kTestdata / "misp" / "rest-api-event-misp_event.json")
                      .string(),
                  "--format", "misp", "--json"});
  ASSERT_NE(r.exit_code, 1) << r.Describe();
  auto totals = nlohmann::json::parse(r.out);
  ASSERT_GT(totals["stored"].get<int>(), 0) << r.Describe();

  auto exp = a.Cli({"export", "--format", "misp"});
  ASSERT_EQ(exp.exit_code, 0) << exp.Describe();
  auto doc = nlohmann::json::parse(exp.out);
  ASSERT_EQ(doc["response"].size(), 1u);
  size_t attributes = doc["response"][0]["Event"]["Attribute"].size();
  EXPECT_EQ(attributes, totals["stored"].get<size_t>());

  // MISP -> caravan -> MISP -> caravan: the second node holds the same
  // values.
  TestNode b("CERT-KZ", "KZ");
  ASSERT_NO_FATAL_FAILURE(StartOrFail(b));
  WriteFile(b.root() / "ev.json", exp.out);
  auto imp = b.Cli({"submit", "--file", (b.root() / "ev.json").string(),
                    "--json"});
  ASSERT_EQ(imp.exit_code, 0) << imp.Describe();
  EXPECT_EQ(nlohmann::json::parse(imp.out)["stored"], totals["stored"]);
  auto va = a.CliJson({"query", "--limit", "1000"});
  auto vb = b.CliJson({"query", "--limit", "1000"});
  std::set<std::string> sa, sb;
  for (const auto& i : va["indicators"]) sa.insert(i["value"].get<std::string>() + i["tlp"].get<std::string>());
  for (const auto& i : vb["indicators"]) sb.insert(i["value"].get<std::string>() + i["tlp"].get<std::string>());
  EXPECT_EQ(sa, sb);
}

TEST(MispCliTest, FeedDirectoryImports) {
  TestNode a;
  ASSERT_NO_FATAL_FAILURE(StartOrFail(a));
  auto r = a.Cli({"submit", "--file", (kTestdata / "misp" / "feed").string(),
                  "--json"});
  ASSERT_NE(r.exit_code, 1) << r.Describe();
  EXPECT_GT(nlohmann::json::parse(r.out)["stored"].get<int>(), 0)
      << r.Describe();
}

TEST(StixCliTest, UnknownExportFormatIsAUsageError) {
  TestNode a;
  ASSERT_NO_FATAL_FAILURE(StartOrFail(a));
  auto r = a.Cli({"export", "--format", "yaml"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("yaml"), std::string::npos) << r.Describe();
}

}  // namespace
}  // namespace caravan::integration
