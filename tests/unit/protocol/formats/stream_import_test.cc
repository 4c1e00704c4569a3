// Streaming STIX/MISP import (stix_stream.h, misp_stream.h) and streaming
// export (stream_export.h): same results as the whole-document functions,
// shapes the whole-document parser sorts out by key (members in any
// order), the per-object bound, and failures before anything is handed
// over.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "protocol/formats/misp_stream.h"
#include "protocol/formats/stix_stream.h"
#include "protocol/formats/stream_export.h"
#include "tests/fuzz/stream_equivalence.h"
#include "tests/unit/protocol/formats/format_test_util.h"

namespace caravan::protocol::testing {
namespace {

using nlohmann::json;

struct StixCollected {
  std::vector<StixImportItem> items;
  std::vector<StixSkipped> skipped;
};

Result<StixStreamTotals> StreamStix(const std::string& text, StixCollected* out) {
  std::istringstream in(text);
  StixStreamSink sink;
  sink.item = [out](StixImportItem&& it) {
    out->items.push_back(std::move(it));
    return Status::Ok();
  };
  sink.skipped = [out](const StixSkipped& s) { out->skipped.push_back(s); };
  return StreamStixImport(in, sink);
}

Result<MispStreamTotals> StreamMisp(const std::string& text, std::vector<MispImportItem>* items,
                                    std::vector<MispSkipped>* skipped) {
  std::istringstream in(text);
  MispStreamSink sink;
  sink.item = [items](MispImportItem&& it) {
    items->push_back(std::move(it));
    return Status::Ok();
  };
  sink.skipped = [skipped](const MispSkipped& s) { skipped->push_back(s); };
  return StreamMispImport(in, sink);
}

std::vector<ExportItem> SomeItems() {
  std::vector<ExportItem> items;
  const std::pair<IndicatorType, std::string> values[] = {
      {IndicatorType::kIpv4, "198.51.100.7"},
      {IndicatorType::kDomain, "evil.example"},
      {IndicatorType::kUrl, "http://evil.example/it's\\here?q=1"},
      {IndicatorType::kSha256,
       "b3c4ae251f8094fa15b510051835c657eaef2a6cea46075d3aec964b14a99f68"},
      {IndicatorType::kCve, "CVE-2024-3400"},
      {IndicatorType::kAsn, "AS64500"}};
  int n = 0;
  for (const auto& [type, value] : values) {
    Indicator ind = Ind(type, value);
    ind.tlp = static_cast<Tlp>(n % 5);
    ind.confidence = static_cast<uint8_t>(10 + n * 9);
    if (n % 2) ind.tags = {"botnet", "misp:type=hostname"};
    if (n % 3) ind.description = "seen in campaign \"x\"";
    items.push_back(MakeItem(ind, n % 2 ? 1 : 2, 1 + n % 3));
    ++n;
  }
  return items;
}

TEST(StreamImportTest, SameAsWholeDocumentOnTestdata) {
  for (const char* file :
       {"stix-examples/indicator-for-c2-ip-address.json",
        "stix-examples/indicator-to-campaign-relationship.json",
        "stix-examples/indicators-for-C2-with-COA.json",
        "stix-examples/malicious-email-indicator-with-attachment.json",
        "stix-examples/threat-report-apt1.json", "stix-examples/tlp2-amber+strict.json"}) {
    SCOPED_TRACE(file);
    const std::string text = ReadFile(TestData(file));
    ASSERT_FALSE(text.empty());
    EXPECT_EQ(StixStreamMismatch(text), "");
  }
  for (const char* file :
       {"misp/feed/57c4445b-c548-4654-af0b-4be3950d210f.json",
        "misp/rest-api-event-misp_event.json",
        "real/ioc-reports/eset_oceanlotus_oceanlotus-wateringhole-2018.misp.event.json"}) {
    SCOPED_TRACE(file);
    const std::string text = ReadFile(TestData(file));
    ASSERT_FALSE(text.empty());
    EXPECT_EQ(MispStreamMismatch(text), "");
    std::vector<MispImportItem> items;
    std::vector<MispSkipped> skipped;
    auto totals = StreamMisp(text, &items, &skipped);
    ASSERT_TRUE(totals.ok()) << totals.status().ToString();
    EXPECT_GT(items.size(), 0u);
  }
}

TEST(StreamImportTest, StreamedExportImportsBackAsTheBundleDoes) {
  const auto items = SomeItems();
  std::ostringstream out;
  StixBundleWriter writer(out);
  for (const auto& it : items) writer.Add(it);
  ASSERT_TRUE(writer.Finish());
  const json streamed = json::parse(out.str());
  const json whole = StixBundle(items);
  // Same objects (in another order) and the same derived bundle id.
  EXPECT_EQ(streamed["id"], whole["id"]);
  std::multiset<std::string> a, b;
  for (const json& o : streamed["objects"]) a.insert(o.dump());
  for (const json& o : whole["objects"]) b.insert(o.dump());
  EXPECT_EQ(a, b);
  EXPECT_EQ(StixStreamMismatch(out.str()), "");
  StixCollected got;
  auto totals = StreamStix(out.str(), &got);
  ASSERT_TRUE(totals.ok()) << totals.status().ToString();
  EXPECT_EQ(got.items.size(), items.size());
  EXPECT_EQ(totals->objects, whole["objects"].size());
}

TEST(StreamImportTest, StreamedMispExportMatchesMispEventFor) {
  const auto items = SomeItems();
  const auto dir = std::filesystem::temp_directory_path() /
                   ("caravan-stream-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ostringstream out;
  {
    MispEventSpool spool(dir);
    for (const auto& it : items) ASSERT_TRUE(spool.Add(it).ok());
    ASSERT_EQ(spool.events(), 2u);  // two origins
    out << "{\"response\":[";
    for (size_t i = 0; i < spool.events(); ++i) {
      if (i > 0) out << ",";
      ASSERT_TRUE(spool.WriteEvent(i, out).ok());
    }
    out << "]}";
  }
  // The spool files are gone with the spool.
  EXPECT_TRUE(std::filesystem::is_empty(dir));
  std::filesystem::remove_all(dir);
  const json doc = json::parse(out.str());
  std::vector<ExportItem> first_origin;
  for (const auto& it : items) {
    if (it.body.origin == items.front().body.origin) first_origin.push_back(it);
  }
  EXPECT_EQ(doc["response"][0], MispEventFor(first_origin));
  EXPECT_EQ(MispStreamMismatch(out.str()), "");
  std::vector<MispImportItem> got;
  std::vector<MispSkipped> skipped;
  auto totals = StreamMisp(out.str(), &got, &skipped);
  ASSERT_TRUE(totals.ok()) << totals.status().ToString();
  EXPECT_EQ(got.size(), items.size());
  EXPECT_EQ(totals->events, 2u);
}

TEST(StreamImportTest, TopLevelMembersInAnyOrder) {
  // "type" after "objects": still a bundle, every object imported.
  const std::string text =
      R"({"objects":[{"type":"indicator","id":"indicator--1","pattern_type":"stix",)"
      R"("pattern":"[ipv4-addr:value = '198.51.100.9']"}],"type":"bundle","id":"bundle--x"})";
  EXPECT_EQ(StixStreamMismatch(text), "");
  StixCollected got;
  ASSERT_TRUE(StreamStix(text, &got).ok());
  ASSERT_EQ(got.items.size(), 1u);
  EXPECT_EQ(got.items[0].item.value, "198.51.100.9");
}

TEST(StreamImportTest, MispEventTagAfterAttributesStillApplies) {
  // MISP writes the event's Tag after its Attribute list.
  const std::string text =
      R"({"Event":{"uuid":"5f0c1b2a-0000-4000-8000-000000000001","Attribute":[)"
      R"({"uuid":"a1","type":"domain","value":"evil.example"}],)"
      R"("Object":[{"Attribute":[{"type":"ip-dst","value":"198.51.100.1"}]},7],)"
      R"("Tag":[{"name":"tlp:red"},{"name":"apt"}]}})";
  EXPECT_EQ(MispStreamMismatch(text), "");
  std::vector<MispImportItem> items;
  std::vector<MispSkipped> skipped;
  auto totals = StreamMisp(text, &items, &skipped);
  ASSERT_TRUE(totals.ok()) << totals.status().ToString();
  ASSERT_EQ(items.size(), 2u);
  for (const auto& it : items) {
    EXPECT_EQ(it.item.tlp, "red");
    EXPECT_EQ(it.item.tags, std::vector<std::string>{"apt"});
    EXPECT_EQ(it.event_uuid, "5f0c1b2a-0000-4000-8000-000000000001");
  }
  ASSERT_EQ(skipped.size(), 1u);  // the Object that is not an object
  EXPECT_EQ(skipped[0].reason, "object is not a JSON object");
}

TEST(StreamImportTest, RefusedDocumentsHandOverNothing) {
  struct Case {
    std::string text, want;
  };
  const std::string obj =
      R"({"type":"indicator","id":"indicator--1","pattern_type":"stix",)"
      R"("pattern":"[ipv4-addr:value = '198.51.100.9']"})";
  for (const Case& c : std::vector<Case>{
           // A syntax error at the very end: the first pass catches it.
           {R"({"type":"bundle","objects":[)" + obj + "]", "not valid JSON"},
           {"[1,2]", "top level is not a JSON object"},
           {R"({"type":"bundle","objects":{}})", "objects is not an array"},
           {R"({"type":"bundle","objects":[],"objects":[)" + obj + "]}", "twice"},
           {R"({"a":)" + std::string(70, '[') + std::string(70, ']') + "}", "nested deeper"},
           {R"({"spec_version":"2.1"})", "neither a bundle"}}) {
    SCOPED_TRACE(c.text.substr(0, 80));
    StixCollected got;
    auto r = StreamStix(c.text, &got);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find(c.want), std::string::npos) << r.status().ToString();
    EXPECT_TRUE(got.items.empty());
    EXPECT_EQ(StixStreamMismatch(c.text), "");
  }
  for (const Case& c : std::vector<Case>{
           {R"({"Event":{"Attribute":[{"type":"domain","value":"a.example"}]})", "not valid JSON"},
           {R"({"response":[{"Event":{"Attribute":[]}},{"x":1}]})", "without Event"},
           {R"({"Event":{"Attribute":{}}})", "Attribute is not an array"},
           {R"({"Event":{"Object":[{"Attribute":3}]}})", "Attribute is not an array"},
           {R"({"Event":{"Attribute":[],"Attribute":[]}})", "twice"},
           {R"({"response":[]})", "no event"},
           {R"({"info":"x"})", "no Event"}}) {
    SCOPED_TRACE(c.text);
    std::vector<MispImportItem> items;
    std::vector<MispSkipped> skipped;
    auto r = StreamMisp(c.text, &items, &skipped);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find(c.want), std::string::npos) << r.status().ToString();
    EXPECT_TRUE(items.empty());
    EXPECT_EQ(MispStreamMismatch(c.text), "");
  }
}

TEST(StreamImportTest, OversizedObjectIsSkippedByIndexAndOffsetOthersImported) {
  const std::string small =
      R"({"type":"indicator","id":"indicator--1","pattern_type":"stix",)"
      R"("pattern":"[ipv4-addr:value = '198.51.100.9']"})";
  const std::string big = R"({"type":"indicator","id":"indicator--2","description":")" +
                          std::string(kMaxStreamObjectBytes + 10, 'x') + R"("})";
  const std::string text = R"({"type":"bundle","objects":[)" + small + "," + big + "," +
                           small + "]}";
  StixCollected got;
  auto r = StreamStix(text, &got);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->objects, 3u);
  EXPECT_EQ(got.items.size(), 2u);
  ASSERT_EQ(got.skipped.size(), 1u);
  EXPECT_EQ(got.skipped[0].index, 2u);
  EXPECT_NE(got.skipped[0].reason.find("object 2 (at byte"), std::string::npos)
      << got.skipped[0].reason;
  EXPECT_NE(got.skipped[0].reason.find("larger than"), std::string::npos);
}

TEST(StreamImportTest, SinkFailureStopsTheImport) {
  const std::string obj =
      R"({"type":"indicator","id":"indicator--1","pattern_type":"stix",)"
      R"("pattern":"[ipv4-addr:value = '198.51.100.9']"})";
  const std::string text = R"({"type":"bundle","objects":[)" + obj + "," + obj + "]}";
  std::istringstream in(text);
  int calls = 0;
  StixStreamSink sink;
  sink.item = [&](StixImportItem&&) {
    ++calls;
    return Unavailable("daemon went away");
  };
  sink.skipped = [](const StixSkipped&) {};
  auto r = StreamStixImport(in, sink);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "daemon went away");
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace caravan::protocol::testing
