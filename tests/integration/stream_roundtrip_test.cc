// Streaming export and import through the CLI (issue 19, finding 5): an
// export of several thousand indicators as STIX and as MISP imports back
// whole into a fresh node, values and context equal. The 200k version with
// peak-RSS figures is scripts/stream-roundtrip (too slow for the suite).
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

#include "tests/integration/harness.h"

namespace caravan::integration {
namespace {

namespace fs = std::filesystem;

const fs::path kReal = fs::path(CARAVAN_TESTDATA_DIR) / "real";

void StartOrFail(TestNode& node) {
  ASSERT_EQ(node.init_result().exit_code, 0) << node.init_result().Describe();
  std::string why;
  ASSERT_TRUE(node.Start(&why)) << why;
}

// `count` lines of a real data file.
std::vector<std::string> RealLines(const std::string& file, size_t count) {
  std::ifstream in(kReal / file);
  std::vector<std::string> out;
  std::string line;
  while (out.size() < count && std::getline(in, line)) {
    if (!line.empty() && line[0] != '#') out.push_back(line);
  }
  return out;
}

// A CSV of real values (ipv4, domains, hashes, urls, cves) and synthetic
// domains, with varied TLP, confidence and tags; reproducible.
std::string MixedCsv(size_t synthetic) {
  std::ostringstream csv;
  csv << "type,value,tlp,confidence,tags\n";
  const char* tlps[] = {"clear", "green", "amber", "amber+strict", "red"};
  size_t n = 0;
  auto row = [&](const std::string& type, const std::string& value) {
    csv << type << ",\"" << value << "\"," << tlps[n % 5] << "," << (n * 7) % 101
        << "," << (n % 3 == 0 ? "stream;c2" : n % 3 == 1 ? "phish" : "") << "\n";
    ++n;
  };
  for (const auto& v : RealLines("ipv4.txt", 1500)) row("ipv4", v);
  for (const auto& v : RealLines("domains.txt", 1500)) row("domain", v);
  for (const auto& v : RealLines("hashes.txt", 500)) row("sha256", v);
  for (const auto& v : RealLines("urls.txt", 300)) {
    if (v.find("://") != std::string::npos) row("url", v);  // some have none
  }
  for (const auto& v : RealLines("cves.txt", 200)) row("cve", v);
  for (size_t i = 0; i < synthetic; ++i) {
    row("domain", "h" + std::to_string(i) + ".stream-roundtrip.example");
  }
  return csv.str();
}

// What must survive a round trip: type, value, TLP, confidence, tags (the
// csv export's columns 1-5).
std::multiset<std::string> Contents(const TestNode& node) {
  auto r = node.Cli({"export", "--format", "csv"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  std::multiset<std::string> rows;
  std::istringstream in(r.out);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    // type,value,tlp,confidence,tags,origin,...: drop from origin on.
    size_t comma = 0;
    bool quoted = false;
    int fields = 0;
    for (; comma < line.size(); ++comma) {
      if (line[comma] == '"') quoted = !quoted;
      if (line[comma] == ',' && !quoted && ++fields == 5) break;
    }
    rows.insert(line.substr(0, comma));
  }
  return rows;
}

// Exports `format` from `from` into a file and imports it into a fresh
// node; returns that node's contents.
void RoundTrip(const TestNode& from, const std::string& format,
               const std::multiset<std::string>& want) {
  SCOPED_TRACE(format);
  auto exp = from.Cli({"export", "--format", format});
  ASSERT_EQ(exp.exit_code, 0) << exp.Describe();
  TestNode to("CERT-KZ", "KZ");
  ASSERT_NO_FATAL_FAILURE(StartOrFail(to));
  const fs::path file = to.root() / ("export." + format + ".json");
  WriteFile(file, exp.out);
  auto imp = to.Cli({"submit", "--file", file.string(), "--format", format, "--json"});
  ASSERT_EQ(imp.exit_code, 0) << imp.Describe();
  auto totals = nlohmann::json::parse(imp.out);
  EXPECT_EQ(totals["stored"].get<size_t>(), want.size()) << imp.out;
  EXPECT_EQ(totals["rejected"], 0) << imp.out;
  EXPECT_TRUE(Contents(to) == want) << "contents differ after the " << format
                                    << " round trip";
}

TEST(StreamRoundTripTest, StixAndMispExportsImportBackWhole) {
  TestNode a("CERT-UZ", "UZ");
  ASSERT_NO_FATAL_FAILURE(StartOrFail(a));
  auto sub = a.Cli({"submit", "--file", "-", "--format", "csv"}, MixedCsv(1000));
  ASSERT_EQ(sub.exit_code, 0) << sub.Describe();
  const auto want = Contents(a);
  ASSERT_GE(want.size(), 4800u);  // a few real values repeat
  RoundTrip(a, "stix", want);
  RoundTrip(a, "misp", want);
}

TEST(StreamRoundTripTest, StdinIsReadAsAStreamToo) {
  TestNode a;
  ASSERT_NO_FATAL_FAILURE(StartOrFail(a));
  ASSERT_EQ(a.Cli({"submit", "--file", "-", "--format", "csv"},
                  "type,value,tlp\ndomain,a.stream.example,green\n"
                  "ipv4,198.51.100.20,red\n")
                .exit_code,
            0);
  auto exp = a.Cli({"export", "--format", "stix"});
  ASSERT_EQ(exp.exit_code, 0) << exp.Describe();
  TestNode b("CERT-KZ", "KZ");
  ASSERT_NO_FATAL_FAILURE(StartOrFail(b));
  auto imp = b.Cli({"submit", "--file", "-", "--format", "stix", "--json"}, exp.out);
  ASSERT_EQ(imp.exit_code, 0) << imp.Describe();
  EXPECT_EQ(nlohmann::json::parse(imp.out)["stored"], 2);
  // A document cut short is refused as a whole: nothing is stored.
  TestNode c("CERT-KG", "KG");
  ASSERT_NO_FATAL_FAILURE(StartOrFail(c));
  auto cut = c.Cli({"submit", "--file", "-", "--format", "stix"},
                   exp.out.substr(0, exp.out.size() - 10));
  EXPECT_NE(cut.exit_code, 0);
  EXPECT_NE(cut.err.find("not valid JSON"), std::string::npos) << cut.Describe();
  EXPECT_EQ(c.CliJson({"query", "--limit", "10"})["indicators"].size(), 0u);
}

TEST(StreamRoundTripTest, JsonlExportIsWhatSubmitReads) {
  TestNode a;
  ASSERT_NO_FATAL_FAILURE(StartOrFail(a));
  ASSERT_EQ(a.Cli({"submit", "--file", "-", "--format", "csv"},
                  "type,value,tlp,confidence,tags,description\n"
                  "domain,b.stream.example,green,70,x;y,\"said \"\"hi\"\"\"\n"
                  "ipv4,198.51.100.21,red,20,,\n")
                .exit_code,
            0);
  auto exp = a.Cli({"export", "--format", "jsonl"});
  ASSERT_EQ(exp.exit_code, 0) << exp.Describe();
  TestNode b("CERT-KZ", "KZ");
  ASSERT_NO_FATAL_FAILURE(StartOrFail(b));
  auto imp = b.Cli({"submit", "--file", "-", "--format", "jsonl"}, exp.out);
  ASSERT_EQ(imp.exit_code, 0) << imp.Describe();
  EXPECT_TRUE(Contents(b) == Contents(a));
  auto txt = a.Cli({"export", "--format", "txt"});
  ASSERT_EQ(txt.exit_code, 0) << txt.Describe();
  EXPECT_EQ(std::multiset<std::string>({"b.stream.example", "198.51.100.21"}),
            [&] {
              std::multiset<std::string> v;
              std::istringstream in(txt.out);
              for (std::string l; std::getline(in, l);) v.insert(l);
              return v;
            }());
}

}  // namespace
}  // namespace caravan::integration
