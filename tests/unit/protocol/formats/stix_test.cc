#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "protocol/record_codec.h"
#include "protocol/formats/stix.h"
#include "tests/unit/protocol/formats/format_test_util.h"

namespace caravan::protocol {
namespace {

using namespace caravan::protocol::testing;
using nlohmann::json;

const std::string kExt(kCaravanExtensionId);

// Every type, every TLP, revoked, expired, with and without context.
std::vector<ExportItem> ManyItems() {
  std::vector<ExportItem> items;
  const std::pair<IndicatorType, std::string> values[] = {
      {IndicatorType::kIpv4, "198.51.100.7"},
      {IndicatorType::kIpv4, "10.0.0.0/8"},
      {IndicatorType::kIpv6, "2001:db8::/32"},
      {IndicatorType::kDomain, "evil.example"},
      {IndicatorType::kUrl, "http://evil.example/it's\\here?q=1"},
      {IndicatorType::kEmail, "phish@evil.example"},
      {IndicatorType::kMd5, "0749bae92ca336a02c83d126e04ec628"},
      {IndicatorType::kSha1, "77b0c41b7d340b8a3d903f21347bbf06aa766b5b"},
      {IndicatorType::kSha256, "b3c4ae251f8094fa15b510051835c657eaef2a6cea46075d3aec964b14a99f68"},
      {IndicatorType::kCve, "CVE-2024-3400"},
      {IndicatorType::kAsn, "AS64500"}};
  int n = 0;
  for (const auto& [type, value] : values) {
    Indicator ind = Ind(type, value);
    ind.tlp = static_cast<Tlp>(n % 5);
    ind.confidence = static_cast<uint8_t>(n * 9);
    if (n % 2) ind.tags = {"attack:T1566", "benign", "botnet"};
    if (n % 3) ind.description = "seen in campaign \"x\"\nline two";
    if (n % 4 == 1) ind.valid_until = 1767225600 + 86400 * 30;
    if (n % 4 == 2) ind.valid_until = 1700000000;  // expired before it was made
    if (n % 5 == 3) ind.first_seen = 1767000000, ind.last_seen = 1767100000;
    if (n % 6 == 5) ind.revoked = true, ind.revoke_reason = "false positive";
    ind.reshare = static_cast<Reshare>(n % 3);
    items.push_back(MakeItem(ind, n % 2 ? 1 : 2, 1 + n % 3));
    if (n % 3 == 1) items.back().first_created = 1767000000;
    ++n;
  }
  return items;
}

TEST(StixExport, PatternsPerType) {
  EXPECT_EQ(*StixPattern(IndicatorType::kIpv4, "10.0.0.0/8"), "[ipv4-addr:value = '10.0.0.0/8']");
  EXPECT_EQ(*StixPattern(IndicatorType::kIpv6, "2001:db8::1"), "[ipv6-addr:value = '2001:db8::1']");
  EXPECT_EQ(*StixPattern(IndicatorType::kDomain, "a.example"), "[domain-name:value = 'a.example']");
  EXPECT_EQ(*StixPattern(IndicatorType::kUrl, "http://a.example/'\\"),
            R"([url:value = 'http://a.example/\'\\'])");
  EXPECT_EQ(*StixPattern(IndicatorType::kEmail, "x@a.example"), "[email-addr:value = 'x@a.example']");
  EXPECT_EQ(*StixPattern(IndicatorType::kMd5, "aa"), "[file:hashes.MD5 = 'aa']");
  EXPECT_EQ(*StixPattern(IndicatorType::kSha1, "aa"), "[file:hashes.'SHA-1' = 'aa']");
  EXPECT_EQ(*StixPattern(IndicatorType::kSha256, "aa"), "[file:hashes.'SHA-256' = 'aa']");
  EXPECT_EQ(*StixPattern(IndicatorType::kAsn, "AS12345"), "[autonomous-system:number = 12345]");
  EXPECT_FALSE(StixPattern(IndicatorType::kCve, "CVE-2024-3400").ok());
  EXPECT_FALSE(StixPattern(IndicatorType::kAsn, "12345").ok());
}

TEST(StixExport, IndicatorFields) {
  Indicator ind = Ind(IndicatorType::kIpv4, "198.51.100.7");
  ind.tlp = Tlp::kAmberStrict;
  ind.confidence = 80;
  ind.tags = {"benign", "botnet"};
  ind.description = "C2";
  ind.valid_until = 1767225600 + 3600;
  ExportItem it = MakeItem(ind, 1, 2, 1767225600);
  it.first_created = 1767000000;
  json o = StixIndicator(it);
  EXPECT_EQ(o["type"], "indicator");
  EXPECT_EQ(o["spec_version"], "2.1");
  EXPECT_EQ(o["pattern"], "[ipv4-addr:value = '198.51.100.7']");
  EXPECT_EQ(o["pattern_type"], "stix");
  EXPECT_EQ(o["created"], "2025-12-29T09:20:00.000Z");
  EXPECT_EQ(o["modified"], "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(o["valid_from"], "2025-12-29T09:20:00.000Z");
  EXPECT_EQ(o["valid_until"], "2026-01-01T01:00:00.000Z");
  EXPECT_EQ(o["confidence"], 80);
  EXPECT_EQ(o["labels"], json({"benign", "botnet"}));
  EXPECT_EQ(o["indicator_types"], json({"benign"}));
  EXPECT_EQ(o["description"], "C2");
  EXPECT_EQ(o["object_marking_refs"],
            json({"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"}));
  EXPECT_FALSE(o.contains("revoked"));
  EXPECT_EQ(o["created_by_ref"], StixIdentityId(it.body.origin));
  // Stable id: first 16 bytes of the caravan id with version 5 / variant bits.
  const std::string hex = IdToHex(it.id);
  std::string id = o["id"];
  EXPECT_EQ(id.substr(0, 11 + 8), "indicator--" + hex.substr(0, 8));
  EXPECT_EQ(id[11 + 14], '5');
  EXPECT_NE(std::string("89ab").find(id[11 + 19]), std::string::npos);
  // The next revision is the same STIX object, a newer version.
  ExportItem rev3 = MakeItem(ind, 1, 3, 1767225600 + 60);
  EXPECT_EQ(StixIndicator(rev3)["id"], o["id"]);
  EXPECT_EQ(StixIndicator(rev3)["modified"], "2026-01-01T00:01:00.000Z");
  // Another origin's report of the same value is another object.
  EXPECT_NE(StixIndicator(MakeItem(ind, 2))["id"], o["id"]);
  // Provenance: the signed record travels byte for byte.
  const json& ext = o["extensions"][kExt];
  EXPECT_EQ(ext["extension_type"], "property-extension");
  EXPECT_EQ(ext["caravan_id"], hex);
  EXPECT_EQ(ext["revision"], 2);
  EXPECT_EQ(ext["origin_key"], OriginKeyText(it.body.origin));
  EXPECT_EQ(ext["origin_key"].get<std::string>().size(), 8u + 43u);
  auto imported = ImportStixBundle(StixBundle({it}).dump());
  ASSERT_TRUE(imported.ok());
  ASSERT_EQ(imported->items.size(), 1u);
  EXPECT_EQ(imported->items[0].signed_record, it.signed_record);
  auto decoded = DecodeSignedRecord(imported->items[0].signed_record);
  ASSERT_TRUE(decoded.ok());
  auto body = DecodeRecordBody(decoded->body);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, it.body);
}

TEST(StixExport, RevokedExpiredAndCve) {
  Indicator ind = Ind(IndicatorType::kDomain, "evil.example");
  ind.revoked = true;
  ind.revoke_reason = "false positive";
  ind.valid_until = 1700000000;
  json o = StixIndicator(MakeItem(ind, 1, 2));
  EXPECT_EQ(o["revoked"], true);
  EXPECT_EQ(o["valid_until"], "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(o["valid_from"], "2023-11-14T22:13:19.000Z");  // < valid_until
  EXPECT_EQ(o["extensions"][kExt]["revoke_reason"], "false positive");

  json v = StixIndicator(MakeItem(Ind(IndicatorType::kCve, "cve-2024-3400")));
  EXPECT_EQ(v["type"], "vulnerability");
  EXPECT_EQ(v["name"], "CVE-2024-3400");
  EXPECT_EQ(v["external_references"],
            json::parse(R"([{"source_name":"cve","external_id":"CVE-2024-3400"}])"));
  EXPECT_FALSE(v.contains("pattern"));
}

TEST(StixExport, BundleHoldsDefinitionsOnce) {
  const auto items = ManyItems();
  json b = StixBundle(items);
  EXPECT_EQ(b["type"], "bundle");
  EXPECT_EQ(StixBundle(items)["id"], b["id"]);  // deterministic
  std::map<std::string, int> types;
  std::set<std::string> ids;
  for (const json& o : b["objects"]) {
    ++types[o["type"]];
    EXPECT_TRUE(ids.insert(o["id"]).second) << o["id"];
  }
  EXPECT_EQ(types["identity"], 3);  // project + 2 origins
  EXPECT_EQ(types["extension-definition"], 1);
  EXPECT_EQ(types["marking-definition"], 5);
  EXPECT_EQ(types["indicator"], 10);
  EXPECT_EQ(types["vulnerability"], 1);
  for (const json& o : b["objects"]) {
    if (o.contains("created_by_ref")) {
      EXPECT_TRUE(ids.count(o["created_by_ref"]));
    }
    if (o.contains("object_marking_refs")) {
      for (const json& m : o["object_marking_refs"]) {
        EXPECT_TRUE(ids.count(m));
        EXPECT_TRUE(TlpFromMarkingId(m.get<std::string>()).has_value());
      }
    }
  }
}

// Runs validate_stix.py over `doc`; returns its exit status (77: skipped).
int Validate(const json& doc, const std::string& name) {
  if (std::system("/usr/bin/python3 -c 'import jsonschema' 2>/dev/null") != 0) return 77;
  const auto dir = std::filesystem::temp_directory_path() /
                   ("caravan_formats_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / name;
  std::ofstream(file) << doc.dump(2);
  const std::string cmd = std::string("/usr/bin/python3 ") + CARAVAN_FORMATS_TEST_DIR +
                          "/validate_stix.py " + TestData("stix-schemas/schemas") + " " +
                          file.string();
  const int rc = std::system(cmd.c_str());
  std::filesystem::remove_all(dir);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST(StixExport, EveryObjectValidatesAgainstOasisSchemas) {
  json b = StixBundle(ManyItems());
  const int rc = Validate(b, "bundle.json");
  if (rc == 77) GTEST_SKIP() << "python3-jsonschema is not installed";
  EXPECT_EQ(rc, 0);
  // The validator itself catches a broken object (so a pass means something).
  b["objects"].back().erase("pattern");
  b["objects"].back()["type"] = "indicator";
  b["objects"][0]["created"] = "2026-01-01T00:00:00Z";  // no milliseconds
  EXPECT_EQ(Validate(b, "broken.json"), 1);
}

TEST(StixRoundTrip, CaravanToStixToCaravanKeepsEveryField) {
  const auto items = ManyItems();
  auto imported = ImportStixBundle(StixBundle(items).dump());
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  EXPECT_TRUE(imported->skipped.empty());
  EXPECT_EQ(imported->other_objects, 9u);
  ASSERT_EQ(imported->items.size(), items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const StixImportItem& got = imported->items[i];
    auto back = ToIndicator(got.item);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    Indicator want = items[i].body.indicator;
    EXPECT_EQ(got.revoked, want.revoked);
    EXPECT_EQ(got.revoke_reason, want.revoke_reason);
    back->revoked = want.revoked;
    back->revoke_reason = want.revoke_reason;
    EXPECT_EQ(*back, want) << want.value;
    EXPECT_EQ(got.signed_record, items[i].signed_record);
    EXPECT_EQ(got.origin_key, OriginKeyText(items[i].body.origin));
  }
}

struct ExampleOutcome {
  const char* file;
  std::vector<std::pair<std::string, std::string>> items;  // type, value
  std::vector<std::string> skipped;                        // reasons
  size_t other;
};

TEST(StixImport, OfficialExamplesImportOrSayWhy) {
  const std::vector<ExampleOutcome> outcomes = {
      {"indicator-for-c2-ip-address.json", {{"ipv4", "10.0.0.0"}}, {}, 0},
      {"indicator-to-campaign-relationship.json", {{"ipv4", "10.0.0.0"}}, {}, 2},
      {"indicators-for-C2-with-COA.json",
       {{"ipv4", "10.0.0.0"},
        {"sha256", "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c"}},
       {},
       6},
      {"malicious-email-indicator-with-attachment.json",
       {},
       {"indicator--8cf9236f-1b96-493d-98be-0c1c1e8b62d7: pattern uses operator MATCHES; "
        "caravan imports only '='",
        "indicator--2e17f6fe-3a4d-438a-911a-e509ba1b9933: pattern uses operator MATCHES; "
        "caravan imports only '='"},
       4},
      {"threat-report-apt1.json",
       {{"ipv4", "223.166.0.0/15"}, {"ipv4", "58.246.0.0/15"}, {"ipv4", "112.64.0.0/15"},
        {"ipv4", "139.226.0.0/15"}, {"domain", "hugesoft.org"}, {"domain", "arrowservice.net"},
        {"domain", "msnhome.org"}, {"md5", "001dd76872d80801692ff942308c64e6"},
        {"md5", "002325a0a67fded0381b5648d7fe9b8e"}, {"md5", "00dbb9e1c09dbdafb360f3163ba5a3de"}},
       {"pattern uses AND; caravan stores single values",
        "pattern uses AND; caravan stores single values"},
       64},
      {"tlp2-amber+strict.json", {}, {}, 1},
  };
  for (const ExampleOutcome& want : outcomes) {
    SCOPED_TRACE(want.file);
    auto r = ImportStixBundle(ReadFile(TestData(std::string("stix-examples/") + want.file)));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    std::vector<std::pair<std::string, std::string>> got;
    for (const auto& it : r->items) {
      got.emplace_back(it.item.type, it.item.value);
      EXPECT_TRUE(ToIndicator(it.item).ok());
    }
    EXPECT_EQ(got, want.items);
    ASSERT_EQ(r->skipped.size(), want.skipped.size());
    for (size_t i = 0; i < want.skipped.size(); ++i) {
      EXPECT_NE(r->skipped[i].reason.find(want.skipped[i]), std::string::npos)
          << r->skipped[i].reason;
      EXPECT_EQ(r->skipped[i].reason.rfind(r->skipped[i].stix_id + ": ", 0), 0u);
    }
    EXPECT_EQ(r->other_objects, want.other);
  }
  // Context of the first example.
  auto r = ImportStixBundle(ReadFile(TestData("stix-examples/indicator-for-c2-ip-address.json")));
  ASSERT_TRUE(r.ok());
  const BulkItem& b = r->items[0].item;
  EXPECT_EQ(b.description, "Test description C2 channel.");
  EXPECT_EQ(b.tags, std::vector<std::string>{"malicious-activity"});
  EXPECT_EQ(b.tlp, "");  // no marking: the daemon's default applies
  EXPECT_EQ(b.confidence, -1);
  EXPECT_EQ(b.line, 1u);
}

TEST(StixImport, MarkingsShapesAndContext) {
  json ind = {{"type", "indicator"}, {"spec_version", "2.1"},
              {"id", "indicator--33fe3b22-0201-47cf-85d0-97c02164528d"},
              {"pattern", "[domain-name:value = 'A.Example.']"}, {"pattern_type", "stix"},
              {"valid_from", "2026-01-01T00:00:00Z"},
              {"valid_until", "2026-02-01T00:00:00.123Z"},
              {"confidence", 70}, {"labels", {"x", "y"}}};
  // TLP 1.0 green + TLP 2.0 amber: the most restrictive wins.
  ind["object_marking_refs"] = {"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
                                "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
                                "marking-definition--00000000-0000-4000-8000-000000000000"};
  for (const json& doc : {json{{"type", "bundle"}, {"id", "bundle--1"}, {"objects", {ind}}},
                          json{{"objects", {ind}}}, ind}) {
    auto r = ImportStixBundle(doc.dump());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->items.size(), 1u);
    const BulkItem& b = r->items[0].item;
    EXPECT_EQ(b.value, "a.example");
    EXPECT_EQ(b.tlp, "amber");
    EXPECT_EQ(b.confidence, 70);
    EXPECT_EQ(b.tags, (std::vector<std::string>{"x", "y"}));
    EXPECT_EQ(b.valid_until, 1769904000);
  }
  ind["object_marking_refs"] = {"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"};
  EXPECT_EQ(ImportStixBundle(ind.dump())->items[0].item.tlp, "clear");
}

TEST(StixImport, BadObjectsAreReportedNotFatal) {
  json good = {{"type", "indicator"}, {"id", "indicator--a"},
               {"pattern", "[ipv4-addr:value = '1.2.3.4' OR ipv4-addr:value = '1.2.3.999']"},
               {"pattern_type", "stix"}};
  auto with = [&](const char* k, json v) { json o = good; o[k] = std::move(v); return o; };
  json no_id = good;
  no_id.erase("id");
  json bundle = {{"type", "bundle"}, {"objects", {
      good,
      with("confidence", "high"),
      with("confidence", 101),
      with("labels", "x"),
      with("pattern_type", "sigma"),
      with("pattern", 5),
      with("valid_until", "tomorrow"),
      with("object_marking_refs", "x"),
      no_id,
      42,
      json{{"type", "vulnerability"}, {"id", "vulnerability--b"}, {"name", "x"}},
      json{{"type", "malware"}, {"id", "malware--c"}}}}};
  auto r = ImportStixBundle(bundle.dump());
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->items.size(), 1u);
  EXPECT_EQ(r->items[0].item.value, "1.2.3.4");
  std::vector<std::string> reasons;
  for (const auto& s : r->skipped) reasons.push_back(s.reason);
  const std::vector<std::string> want = {
      "indicator--a: ipv4: '1.2.3.999' is not an IPv4 address",
      "indicator--a: confidence is not an integer 0..100",
      "indicator--a: confidence is not an integer 0..100",
      "indicator--a: labels is not an array",
      "indicator--a: pattern_type 'sigma' is not stix",
      "indicator--a: pattern is missing",
      "indicator--a: valid_until: ",
      "indicator--a: object_marking_refs is not an array",
      "indicator 9: id is missing or not 'indicator--…'",
      "object 10: not a STIX object (no string type)",
      "vulnerability--b: vulnerability has no external reference with source_name 'cve'"};
  ASSERT_EQ(reasons.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(reasons[i].rfind(want[i], 0), 0u) << reasons[i];
  }
  EXPECT_EQ(r->other_objects, 1u);
  EXPECT_EQ(r->objects, 12u);
}

TEST(StixImport, MalformedInputIsAClearError) {
  auto err = [](std::string_view text) {
    auto r = ImportStixBundle(text);
    EXPECT_FALSE(r.ok()) << text.substr(0, 40);
    return r.ok() ? "" : r.status().message();
  };
  EXPECT_NE(err("{\"type\": \"bundle\", ").find("not valid JSON (byte"), std::string::npos);
  EXPECT_NE(err("").find("not valid JSON"), std::string::npos);
  EXPECT_EQ(err("[1,2]"), "stix: top level is not a JSON object");
  EXPECT_EQ(err("{\"type\":\"bundle\",\"objects\":{}}"), "stix: objects is not an array");
  EXPECT_EQ(err("{\"x\":1}"), "stix: neither a bundle, an envelope nor a STIX object");
  EXPECT_NE(err(std::string(100, '[') + std::string(100, ']')).find("nested deeper than 64"),
            std::string::npos);
  EXPECT_NE(err("\"\xff\"").find("not valid JSON"), std::string::npos);
  std::string big(kMaxStixBytes + 1, ' ');
  EXPECT_NE(err(big).find("limit 67108864"), std::string::npos);
  // Brackets inside strings do not count as nesting.
  json deep_string = {{"type", "bundle"}, {"objects", json::array()},
                      {"x_note", std::string(200, '[')}};
  EXPECT_TRUE(ImportStixBundle(deep_string.dump()).ok());
}

}  // namespace
}  // namespace caravan::protocol
