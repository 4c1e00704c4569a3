#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "protocol/formats/misp.h"
#include "tests/unit/protocol/formats/format_test_util.h"

namespace caravan::protocol {
namespace {

using namespace caravan::protocol::testing;
using nlohmann::json;

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("caravan_misp_" + std::to_string(::getpid()) + "_" + std::to_string(++counter_));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

std::vector<std::string> Reasons(const MispImport& m) {
  std::vector<std::string> r;
  for (const auto& s : m.skipped) r.push_back(s.reason);
  return r;
}

TEST(MispImport, CirclFeedDirectory) {
  auto r = ImportMispFeedDir(TestData("misp/feed"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->events, 1u);
  EXPECT_EQ(r->attributes, 9u);
  ASSERT_EQ(r->items.size(), 3u);
  const std::vector<std::string> event_tags = {
      "circl:incident-classification=\"malware\"",
      "malware_classification:malware-category=\"Ransomware\"",
      "ms-caro-malware:malware-type=\"Ransom\""};
  EXPECT_EQ(r->items[0].item.type, "md5");
  EXPECT_EQ(r->items[0].item.value, "0749bae92ca336a02c83d126e04ec628");
  EXPECT_EQ(r->items[1].item.type, "sha1");
  EXPECT_EQ(r->items[2].item.type, "sha256");
  for (const auto& it : r->items) {
    EXPECT_EQ(it.item.tlp, "clear");  // tlp:white
    EXPECT_EQ(it.item.tags, event_tags);
    EXPECT_EQ(it.item.description, "Imported via the Freetext Import Tool");
    EXPECT_EQ(it.event_uuid, "57c4445b-c548-4654-af0b-4be3950d210f");
    EXPECT_TRUE(ToIndicator(it.item).ok());
  }
  EXPECT_EQ(r->items[0].attribute_uuid, "57c4448b-454c-4d17-90d1-4d2f950d210f");
  EXPECT_EQ(Reasons(*r), (std::vector<std::string>{
      "attribute 57c5300c-0560-4146-bfaa-40e802de0b81 (link): MISP type 'link' is context, not an indicator",
      "attribute 57c5310b-dc34-43cb-8b8e-4846950d210f (link): MISP type 'link' is context, not an indicator",
      "attribute 57c444c0-8004-48fa-9c33-8aca950d210f (comment): MISP type 'comment' is context, not an indicator",
      "attribute 57c44648-96f4-45d4-a8eb-453e950d210f (text): MISP type 'text' is context, not an indicator",
      "attribute 57c4448a-fb04-457d-87e7-4127950d210f (filename): MISP type 'filename' is context, not an indicator",
      "attribute 57c54b0f-27a4-458b-8e63-4455950d210f (regkey|value): MISP type 'regkey|value' has no caravan type"}));
}

TEST(MispImport, RestEventIgnoresLocalIds) {
  auto r = ImportMispEvent(ReadFile(TestData("misp/rest-api-event-misp_event.json")));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->items.size(), 1u);
  const BulkItem& b = r->items[0].item;
  EXPECT_EQ(b.type, "url");
  EXPECT_EQ(b.value, "http://fake.website.com/malware/is/here");
  EXPECT_EQ(b.tlp, "");
  EXPECT_EQ(b.tags, (std::vector<std::string>{"ecsirt:malicious-code=\"ransomware\"",
                                              "for_intelmq_processing", "misp:to_ids=false"}));
  EXPECT_EQ(r->skipped.size(), 1u);
}

TEST(MispImport, EsetOceanLotusResponseEnvelope) {
  auto r = ImportMispEvent(ReadFile(
      TestData("real/ioc-reports/eset_oceanlotus_oceanlotus-wateringhole-2018.misp.event.json")));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->attributes, 75u);
  std::map<std::string, int> types;
  for (const auto& it : r->items) {
    ++types[it.item.type];
    EXPECT_TRUE(ToIndicator(it.item).ok()) << it.item.value;
    EXPECT_NE(std::find(it.item.tags.begin(), it.item.tags.end(), "misp:to_ids=false"),
              it.item.tags.end());
    EXPECT_NE(std::find(it.item.tags.begin(), it.item.tags.end(),
                        "misp-galaxy:mitre-intrusion-set=\"APT32\""),
              it.item.tags.end());
  }
  // 49 domain|ip give a domain and an address each; 21 domains, 2 sha1, 1 url.
  EXPECT_EQ(types["domain"], 70);
  EXPECT_EQ(types["ipv4"], 49);
  EXPECT_EQ(types["sha1"], 2);
  EXPECT_EQ(types["url"], 1);
  EXPECT_EQ(r->skipped.size(), 2u);  // the two comments
  for (const auto& s : r->skipped) EXPECT_NE(s.reason.find("(comment)"), std::string::npos);
}

TEST(MispImport, MappingRules) {
  json ev = json::parse(R"({"Event": {"uuid": "e1", "Tag": [{"name": "tlp:green"}, {"name": "ev"}],
    "Attribute": [
      {"uuid": "a1", "type": "ip-src", "value": "198.51.100.7", "to_ids": "1",
       "Tag": [{"name": "tlp:amber+strict"}, {"name": "at"}]},
      {"uuid": "a2", "type": "ip-dst|port", "value": "2001:db8::1|443", "to_ids": 0},
      {"uuid": "a3", "type": "domain|ip", "value": "a.example|192.0.2.1"},
      {"uuid": "a4", "type": "AS", "value": "64500"},
      {"uuid": "a5", "type": "filename|sha256", "value": "x.exe|B3C4AE251F8094FA15B510051835C657EAEF2A6CEA46075D3AEC964B14A99F68"},
      {"uuid": "a6", "type": "vulnerability", "value": "cve-2024-3400"},
      {"uuid": "a7", "type": "url", "value": "evil.example/path", "comment": "no scheme"},
      {"uuid": "a8", "type": "sha512", "value": "aa"},
      {"uuid": "a9", "type": "md5", "value": "xyz"},
      {"uuid": "a10", "type": "md5", "value": "0749bae92ca336a02c83d126e04ec628", "deleted": true},
      {"uuid": "a11", "type": "hostname", "value": "h.example",
       "first_seen": "2019-06-13T15:56:56.910000+00:00", "last_seen": "2019-06-14T00:00:00Z"},
      {"uuid": "a12", "type": "email-dst", "value": "x@a.example"},
      "junk", {"uuid": "a14", "type": "url", "value": 5}],
    "Object": [{"name": "file", "Attribute": [{"uuid": "o1", "type": "sha1",
       "value": "77b0c41b7d340b8a3d903f21347bbf06aa766b5b"}]}]}})");
  auto r = ImportMispEvent(ev.dump());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<std::string> got;
  for (const auto& it : r->items) {
    got.push_back(it.attribute_uuid + " " + it.item.type + " " + it.item.value + " " + it.item.tlp);
  }
  EXPECT_EQ(got, (std::vector<std::string>{
      "a1 ipv4 198.51.100.7 amber+strict", "a2 ipv6 2001:db8::1 green",
      "a3 domain a.example green", "a3 ipv4 192.0.2.1 green", "a4 asn AS64500 green",
      "a5 sha256 b3c4ae251f8094fa15b510051835c657eaef2a6cea46075d3aec964b14a99f68 green",
      "a6 cve CVE-2024-3400 green", "a7 url http://evil.example/path green",
      "a11 domain h.example green", "a12 email x@a.example green",
      "o1 sha1 77b0c41b7d340b8a3d903f21347bbf06aa766b5b green"}));
  EXPECT_EQ(r->items[0].item.tags, (std::vector<std::string>{"at", "ev", "misp:type=ip-src"}));
  EXPECT_EQ(r->items[1].item.tags, (std::vector<std::string>{"ev", "misp:to_ids=false"}));
  EXPECT_EQ(r->items[7].item.description, "no scheme");
  EXPECT_EQ(r->items[8].item.first_seen, 1560441416);
  EXPECT_EQ(r->items[8].item.last_seen, 1560470400);
  EXPECT_EQ(r->attributes, 15u);
  EXPECT_EQ(Reasons(*r), (std::vector<std::string>{
      "attribute a8 (sha512): MISP type 'sha512' has no caravan type",
      "attribute a9 (md5): md5: 'xyz' has a non-hex character 'x' at offset 0",
      "attribute a10 (md5): attribute is deleted",
      "attribute #13: not a JSON object",
      "attribute a14 (url): value is not a string"}));
}

TEST(MispImport, MalformedInputIsAClearError) {
  auto err = [](std::string_view text) {
    auto r = ImportMispEvent(text);
    EXPECT_FALSE(r.ok()) << text.substr(0, 40);
    return r.ok() ? "" : r.status().message();
  };
  EXPECT_NE(err("{\"Event\": ").find("not valid JSON"), std::string::npos);
  EXPECT_EQ(err("[]"), "misp: top level is not a JSON object");
  EXPECT_EQ(err("{\"x\": 1}").rfind("misp: no Event", 0), 0u);
  EXPECT_EQ(err("{\"Event\": 3}"), "misp: event is not a JSON object");
  EXPECT_EQ(err("{\"Event\": {\"Attribute\": {}}}"), "misp: Attribute is not an array");
  EXPECT_EQ(err("{\"response\": [{\"x\": 1}]}"), "misp: response entry without Event");
  EXPECT_NE(err(std::string(kMaxMispBytes + 1, ' ')).find("limit"), std::string::npos);
  EXPECT_NE(err(std::string(70, '[')).find("nested deeper"), std::string::npos);
  // Found by fuzz_misp_import: valid syntax, a number no type holds. It
  // used to escape as an exception and end the process.
  EXPECT_NE(err("{\"Event\": {\"uuid\": -453e950}}").find("number overflow"),
            std::string::npos);
}

TEST(MispFeedDir, BadManifestsAndMissingFiles) {
  TempDir d;
  EXPECT_EQ(ImportMispFeedDir(d.path()).status().code(), StatusCode::kUnavailable);
  std::ofstream(d.path() / "manifest.json") << "[]";
  EXPECT_EQ(ImportMispFeedDir(d.path()).status().message(), "misp manifest: not a JSON object");
  std::ofstream(d.path() / "manifest.json")
      << R"({"../../etc/passwd": {}, "11111111-2222-4333-8444-555555555555": {},
            "57c4445b-c548-4654-af0b-4be3950d210f": {}})";
  std::ofstream(d.path() / "57c4445b-c548-4654-af0b-4be3950d210f.json") << "{broken";
  auto r = ImportMispFeedDir(d.path());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->items.empty());
  auto reasons = Reasons(*r);
  ASSERT_EQ(reasons.size(), 3u);
  EXPECT_EQ(reasons[0], "manifest key '../../etc/passwd' is not a UUID");
  EXPECT_NE(reasons[1].find("cannot read"), std::string::npos);
  EXPECT_NE(reasons[2].find("not valid JSON"), std::string::npos);
}

// MISP -> caravan -> MISP: every field caravan represents comes back.
TEST(MispRoundTrip, MispToCaravanToMisp) {
  for (const char* file : {"misp/feed/57c4445b-c548-4654-af0b-4be3950d210f.json",
                           "misp/rest-api-event-misp_event.json",
                           "real/ioc-reports/eset_oceanlotus_oceanlotus-wateringhole-2018.misp.event.json"}) {
    SCOPED_TRACE(file);
    auto first = ImportMispEvent(ReadFile(TestData(file)));
    ASSERT_TRUE(first.ok());
    std::vector<ExportItem> items;
    for (const auto& it : first->items) {
      auto ind = ToIndicator(it.item);
      ASSERT_TRUE(ind.ok()) << ind.status().ToString();
      items.push_back(MakeItem(*ind));
    }
    json exported = MispEventFor(items);
    // Attributes of simple types keep type, value, comment, to_ids and tags.
    const json original = json::parse(ReadFile(TestData(file)));
    const json& oe = original.contains("response") ? original["response"][0]["Event"]
                     : original.contains("Event") ? original["Event"] : original;
    std::map<std::string, json> out_by_value;
    for (const json& a : exported["Event"]["Attribute"]) out_by_value[a["value"]] = a;
    for (const json& a : oe["Attribute"]) {
      const std::string type = a["type"];
      if (type.find('|') != std::string::npos || type == "link" || type == "comment" ||
          type == "text" || type == "filename") {
        continue;
      }
      SCOPED_TRACE(a["value"].get<std::string>());
      ASSERT_TRUE(out_by_value.count(a["value"]));
      const json& b = out_by_value[a["value"]];
      EXPECT_EQ(b["type"], a["type"]);
      EXPECT_EQ(b["comment"], a["comment"]);
      EXPECT_EQ(b["to_ids"], a["to_ids"]);
      std::set<std::string> want, got;
      for (const json* o : {&oe, &a}) {
        if (o->contains("Tag")) {
          for (const json& t : (*o)["Tag"]) want.insert(t["name"]);
        }
      }
      if (want.count("tlp:white")) want.erase("tlp:white"), want.insert("tlp:clear");
      if (!std::any_of(want.begin(), want.end(),
                       [](const std::string& t) { return t.rfind("tlp:", 0) == 0; })) {
        want.insert("tlp:amber");  // caravan's default for unmarked input
      }
      want.insert("caravan:confidence=\"50\"");
      for (const json& t : b["Tag"]) got.insert(t["name"]);
      EXPECT_EQ(got, want);
    }
    // Importing caravan's export gives the same submissions again.
    auto second = ImportMispEvent(exported.dump());
    ASSERT_TRUE(second.ok());
    ASSERT_EQ(second->items.size(), first->items.size());
    for (size_t i = 0; i < first->items.size(); ++i) {
      BulkItem a = first->items[i].item, b = second->items[i].item;
      EXPECT_EQ(b.confidence, 50);
      if (a.tlp.empty()) a.tlp = "amber";
      EXPECT_EQ(std::tie(a.type, a.value, a.tlp, a.tags, a.description, a.first_seen, a.last_seen),
                std::tie(b.type, b.value, b.tlp, b.tags, b.description, b.first_seen, b.last_seen));
    }
  }
}

TEST(MispFeedDir, WriteThenReadBack) {
  TempDir d;
  std::vector<ExportItem> items;
  Indicator a = Ind(IndicatorType::kIpv4, "198.51.100.7");
  a.tlp = Tlp::kRed;
  a.confidence = 90;
  a.tags = {"botnet", "misp:type=ip-src"};
  a.first_seen = 1767000000;
  items.push_back(MakeItem(a, 1));
  items.push_back(MakeItem(Ind(IndicatorType::kCve, "CVE-2024-3400"), 2));
  items.push_back(MakeItem(Ind(IndicatorType::kAsn, "AS64500"), 1));
  Indicator gone = Ind(IndicatorType::kDomain, "gone.example");
  gone.revoked = true;
  items.push_back(MakeItem(gone, 2));
  auto w = WriteMispFeed(d.path(), items);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_EQ(w->event_uuids.size(), 2u);  // one event per origin
  EXPECT_EQ(w->attributes, 4u);
  EXPECT_FALSE(std::filesystem::exists(d.path() / "manifest.json.tmp"));
  const json manifest = json::parse(ReadFile((d.path() / "manifest.json").string()));
  EXPECT_EQ(manifest.size(), 2u);
  EXPECT_EQ(manifest[w->event_uuids[0]]["Tag"][0]["name"], "tlp:red");
  EXPECT_EQ(manifest[w->event_uuids[0]]["Orgc"]["name"], "CERT-UZ");
  // Stable event uuids: a re-export replaces the same files.
  EXPECT_EQ(WriteMispFeed(d.path(), items)->event_uuids, w->event_uuids);

  auto r = ImportMispFeedDir(d.path());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->items.size(), 3u);
  ASSERT_EQ(r->skipped.size(), 1u);
  EXPECT_NE(r->skipped[0].reason.find("attribute is deleted"), std::string::npos);
  std::map<std::string, BulkItem> by_value;
  for (const auto& it : r->items) by_value[it.item.value] = it.item;
  const BulkItem& ip = by_value["198.51.100.7"];
  EXPECT_EQ(ip.tlp, "red");
  EXPECT_EQ(ip.confidence, 90);
  EXPECT_EQ(ip.tags, (std::vector<std::string>{"botnet", "misp:type=ip-src"}));
  EXPECT_EQ(ip.first_seen, 1767000000);
  EXPECT_EQ(by_value["CVE-2024-3400"].type, "cve");
  EXPECT_EQ(by_value["AS64500"].type, "asn");
  const json ev = json::parse(ReadFile((d.path() / (w->event_uuids[0] + ".json")).string()));
  EXPECT_EQ(ev["Event"]["Attribute"][0]["type"], "ip-src");
  EXPECT_EQ(ev["Event"]["Attribute"][0]["uuid"], UuidFromDigest(items[0].id));
  EXPECT_EQ(ev["Event"]["Attribute"][1]["type"], "AS");
}

}  // namespace
}  // namespace caravan::protocol
