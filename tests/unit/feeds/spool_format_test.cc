// Spool format detection (daemon/feeds/spool_format.h): extensions win,
// JSON documents are told apart by their top-level keys, other content is
// sniffed, binary content is refused with the offending byte.
#include "daemon/feeds/spool_format.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace caravan::feeds {
namespace {

std::string Testdata(const std::string& rel) {
  std::ifstream in(std::filesystem::path(CARAVAN_TESTDATA_DIR) / rel,
                   std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  if (s.size() > kSpoolSniffBytes) s.resize(kSpoolSniffBytes);
  return s;
}

SpoolFormat Detect(std::string_view name, std::string_view head) {
  auto f = DetectSpoolFormat(name, head);
  EXPECT_TRUE(f.ok()) << name << ": " << f.status().message();
  return f.ok() ? *f : SpoolFormat::kTxt;
}

std::string Why(std::string_view name, std::string_view head) {
  auto f = DetectSpoolFormat(name, head);
  EXPECT_FALSE(f.ok()) << name << " was detected as "
                       << (f.ok() ? SpoolFormatName(*f) : "");
  return f.ok() ? "" : f.status().message();
}

TEST(SpoolFormatTest, ExtensionsNameTheFormat) {
  EXPECT_EQ(Detect("a.txt", "value,type\n"), SpoolFormat::kTxt);
  EXPECT_EQ(Detect("a.LIST", "x\n"), SpoolFormat::kTxt);
  EXPECT_EQ(Detect("a.csv", "x\n"), SpoolFormat::kCsv);
  EXPECT_EQ(Detect("a.jsonl", "{}\n"), SpoolFormat::kJsonl);
  EXPECT_EQ(Detect("a.ndjson", "{}\n"), SpoolFormat::kJsonl);
}

TEST(SpoolFormatTest, JsonDocumentsByTopLevelKeys) {
  EXPECT_EQ(Detect("b.json", Testdata("stix-examples/threat-report-apt1.json")),
            SpoolFormat::kStix);
  EXPECT_EQ(Detect("b.json", Testdata("misp/rest-api-event-misp_event.json")),
            SpoolFormat::kMisp);
  EXPECT_EQ(Detect("b.json", R"({"Event": {"info": "x"}})"), SpoolFormat::kMisp);
  EXPECT_EQ(Detect("b.json", R"({"response": [{"Event": {}}]})"),
            SpoolFormat::kMisp);
  // A TAXII envelope and a single STIX object.
  EXPECT_EQ(Detect("b.json", R"({"more": false, "objects": []})"),
            SpoolFormat::kStix);
  EXPECT_EQ(Detect("b.json",
                   R"({"type": "indicator", "spec_version": "2.1", "id": "x"})"),
            SpoolFormat::kStix);
  // caravan JSON lines named .json.
  EXPECT_EQ(Detect("b.json", "{\"value\": \"1.2.3.4\"}\n{\"value\": \"x\"}\n"),
            SpoolFormat::kJsonl);
}

TEST(SpoolFormatTest, ContentIsSniffedWithoutAKnownExtension) {
  EXPECT_EQ(Detect("drop", "1.2.3.4\nevil.example\n"), SpoolFormat::kTxt);
  EXPECT_EQ(Detect("drop.dat", "# comment\n\nValue , Type\n1.2.3.4,ipv4\n"),
            SpoolFormat::kCsv);
  EXPECT_EQ(Detect("drop", "\"type\",\"value\"\nipv4,1.2.3.4\n"),
            SpoolFormat::kCsv);
  EXPECT_EQ(Detect("drop", "a,b\n"), SpoolFormat::kTxt);  // no value column
  EXPECT_EQ(Detect("drop", "{\"type\": \"ipv4\", \"value\": \"1.2.3.4\"}\n"),
            SpoolFormat::kJsonl);
  EXPECT_EQ(Detect("drop", "\xEF\xBB\xBF{\"type\": \"bundle\", \"id\": \"b\"}"),
            SpoolFormat::kStix);
  EXPECT_EQ(Detect("drop", "# exported\n{\"Event\": {}}"), SpoolFormat::kMisp);
  EXPECT_EQ(Detect("drop", ""), SpoolFormat::kTxt);
  EXPECT_EQ(Detect("drop", "caf\xC3\xA9.example\n"), SpoolFormat::kTxt);
  // A multi-byte character cut by the sniff window is fine.
  EXPECT_EQ(Detect("drop", "caf\xC3"), SpoolFormat::kTxt);
}

TEST(SpoolFormatTest, RefusalsSayWhy) {
  EXPECT_NE(Why("x.txt", std::string("10.0.0.1\n\0\n", 11))
                .find("binary content: byte 0x00 at offset 9"),
            std::string::npos);
  EXPECT_NE(Why("x", "\x89PNG\r\n").find("non-UTF-8 byte 0x89 at offset 0"),
            std::string::npos);
  EXPECT_NE(Why("x", "ab\xC3(").find("non-UTF-8"), std::string::npos);
  EXPECT_NE(Why("x", "[1, 2]").find("a JSON array"), std::string::npos);
  EXPECT_NE(Why("x.json", "[1, 2]").find("not an object"), std::string::npos);
  EXPECT_NE(Why("x.json", R"({"a": 1, "b": {"value": 2}})")
                .find("(top-level keys: a, b)"),
            std::string::npos);
  EXPECT_NE(Why("x.json", "{\"a\": \"x\ny\"}").find("malformed"),
            std::string::npos);
}

TEST(SpoolFormatTest, ScanJsonHeadSeesOnlyTopLevelKeys) {
  JsonHead h = ScanJsonHead(
      R"( {"type": "bundle", "nested": {"objects": [{"Event": 1}]},)"
      R"( "esc\"aped": "}", "list": [1, {"a": "b"}]} trailing)");
  EXPECT_TRUE(h.is_object);
  EXPECT_TRUE(h.closed);
  EXPECT_EQ(h.type, "bundle");
  EXPECT_EQ(h.keys, (std::vector<std::string>{"type", "nested", "esc\\\"aped",
                                               "list"}));
  EXPECT_FALSE(h.malformed);
  const std::string text = R"({"a": 1} rest)";
  h = ScanJsonHead(text);
  EXPECT_EQ(text.substr(0, h.end), R"({"a": 1})");

  h = ScanJsonHead(R"({"type": "indicator", "pattern": "[ipv4)");
  EXPECT_TRUE(h.is_object);
  EXPECT_FALSE(h.closed);
  EXPECT_EQ(h.keys, (std::vector<std::string>{"type", "pattern"}));
  EXPECT_FALSE(ScanJsonHead("  1.2.3.4").is_object);
  EXPECT_FALSE(ScanJsonHead("").is_object);
}

}  // namespace
}  // namespace caravan::feeds
