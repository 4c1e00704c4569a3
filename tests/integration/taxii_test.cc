// STIX and MISP through the CLI (`caravan export --format stix|misp`,
// `caravan submit --format stix|misp`) against real daemons.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "tests/integration/harness.h"
#include "tests/integration/http_client.h"
#include "tests/integration/taxii_node.h"

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

// Submits the MISP sample event at `node`; returns the CLI's totals.
nlohmann::json SubmitMispSample(TestNode& node) {
  auto r = node.Cli({"submit", "--file",
                     (kTestdata / "misp" / "rest-api-event-misp_event.json")
                         .string(),
                     "--format", "misp", "--json"});
  EXPECT_NE(r.exit_code, 1) << r.Describe();
  auto totals = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(totals.is_discarded()) << r.Describe();
  return totals;
}

TEST(MispCliTest, EventImportAndExportRoundTrip) {
  TestNode a;
  ASSERT_NO_FATAL_FAILURE(StartOrFail(a));
  auto totals = SubmitMispSample(a);
  ASSERT_TRUE(totals.is_object());
  ASSERT_GT(totals["stored"].get<int>(), 0);

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

TEST(MispCliTest, ExportAsFeedDirectoryAndImportItElsewhere) {
  TestNode a;
  ASSERT_NO_FATAL_FAILURE(StartOrFail(a));
  auto totals = SubmitMispSample(a);
  ASSERT_TRUE(totals.is_object());
  const int stored = totals["stored"].get<int>();
  ASSERT_GT(stored, 0);

  const auto feed = a.root() / "feed-out";
  auto exp = a.Cli({"export", "--format", "misp", "--output", feed.string()});
  ASSERT_EQ(exp.exit_code, 0) << exp.Describe();
  EXPECT_TRUE(exp.out.empty()) << exp.Describe();
  auto manifest = nlohmann::json::parse(ReadFile(feed / "manifest.json"));
  ASSERT_EQ(manifest.size(), 1u) << manifest.dump();  // one origin CERT
  const std::string uuid = manifest.begin().key();
  auto event = nlohmann::json::parse(ReadFile(feed / (uuid + ".json")));
  EXPECT_EQ(event["Event"]["Attribute"].size(), static_cast<size_t>(stored));

  // A second CERT reads the directory as MISP would.
  TestNode b("CERT-KZ", "KZ");
  ASSERT_NO_FATAL_FAILURE(StartOrFail(b));
  auto imp = b.Cli({"submit", "--file", feed.string(), "--json"});
  ASSERT_EQ(imp.exit_code, 0) << imp.Describe();
  EXPECT_EQ(nlohmann::json::parse(imp.out)["stored"].get<int>(), stored);

  // --output is only for MISP feeds.
  auto bad = a.Cli({"export", "--format", "csv", "--output", feed.string()});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("--output"), std::string::npos) << bad.Describe();
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

// ------------------------------------------------------------------ TAXII

namespace caravan::integration {
namespace {

std::string PasswordHash(const std::string& password) {
  return TaxiiPasswordHash(
      std::string(CARAVAN_BINARY_DIR) + "/daemon/feeds/caravan-taxii-passwd",
      password);
}

const char* kTaxiiType = "application/taxii+json;version=2.1";
const std::string kAccept = std::string("Accept: ") + kTaxiiType;

class TaxiiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(node_.init_result().exit_code, 0);
    port_ = FreeLoopbackPort();
    ASSERT_FALSE(
        ServeTaxii(node_, port_,
                   "[[account]]\nname = \"siem\"\npassword_hash = \"" +
                       PasswordHash("s3cret") +
                       "\"\ncollections = [\"own\", \"all\"]\n"
                       "max_tlp = \"green\"\ncan_write = true\n"
                       "[[account]]\nname = \"peeronly\"\npassword_hash = \"" +
                       PasswordHash("other") +
                       "\"\ncollections = [\"received\"]\nmax_tlp = \"red\"\n")
            .empty());
    std::string why;
    ASSERT_TRUE(node_.Start(&why)) << why;
    auto colls = Get("/api/collections/");
    ASSERT_EQ(colls.status, 200) << colls.body;
    const nlohmann::json list = colls.Json();
    for (const auto& c : list["collections"]) {
      ids_[c["title"].get<std::string>()] = c["id"].get<std::string>();
    }
  }
  HttpReply Get(const std::string& target,
                const std::string& user = "siem:s3cret",
                const std::string& accept = kAccept) {
    return HttpGet(port_, target, {BasicAuthHeader(user), accept});
  }
  // POST of `body` to `target` as `user` with a Content-Type header.
  HttpReply Post(const std::string& target, const std::string& user,
                 const std::string& content_type, const std::string& body) {
    HttpRequest request;
    request.method = "POST";
    request.target = target;
    request.headers = {BasicAuthHeader(user), kAccept,
                       "Content-Type: " + content_type};
    request.body = body;
    return SendHttp(port_, request);
  }
  std::string Objects(const std::string& coll) {
    return "/api/collections/" + ids_[coll] + "/objects/";
  }

  TestNode node_;
  uint16_t port_ = 0;
  std::map<std::string, std::string> ids_;
};

TEST_F(TaxiiTest, PagesThrough25kObjectsAndResumesWithAddedAfter) {
  constexpr int kCount = 25000;
  std::string lines;
  for (int i = 0; i < kCount; ++i) {
    lines += "10." + std::to_string(i / 65536) + "." +
             std::to_string((i / 256) % 256) + "." + std::to_string(i % 256) +
             "\n";
  }
  WriteFile(node_.root() / "bulk.txt", lines);
  auto r = node_.Cli({"submit", "--file", (node_.root() / "bulk.txt").string(),
                      "--tlp", "green"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();

  std::set<std::string> seen;
  size_t duplicates = 0;
  std::string last_added;
  std::string target = Objects("own") + "?limit=1000";
  int pages = 0;
  // Half the way with `next`, then a fresh listing from added_after.
  for (; pages < 12; ++pages) {
    auto page = Get(target);
    ASSERT_EQ(page.status, 200) << page.body;
    auto doc = page.Json();
    ASSERT_LE(doc["objects"].size(), 1000u);
    for (const auto& o : doc["objects"]) {
      if (!seen.insert(o["id"].get<std::string>() +
                       o["modified"].get<std::string>()).second) {
        ++duplicates;
      }
    }
    ASSERT_TRUE(page.headers.count("x-taxii-date-added-last"));
    EXPECT_LT(page.headers["x-taxii-date-added-first"],
              page.headers["x-taxii-date-added-last"]);
    last_added = page.headers["x-taxii-date-added-last"];
    ASSERT_TRUE(doc["more"].get<bool>());
    // The token alone continues the listing.
    target = Objects("own") + "?next=" + doc["next"].get<std::string>();
  }
  target = Objects("own") + "?limit=1000&added_after=" + last_added;
  for (int guard = 0; guard < 40; ++guard) {
    auto page = Get(target);
    ASSERT_EQ(page.status, 200) << page.body;
    auto doc = page.Json();
    if (doc.contains("objects")) {
      EXPECT_LT(last_added, page.headers["x-taxii-date-added-first"]);
      last_added = page.headers["x-taxii-date-added-last"];
      for (const auto& o : doc["objects"]) {
        if (!seen.insert(o["id"].get<std::string>() +
                         o["modified"].get<std::string>()).second) {
          ++duplicates;
        }
      }
    }
    if (!doc["more"].get<bool>()) break;
    target = Objects("own") + "?next=" + doc["next"].get<std::string>();
  }
  EXPECT_EQ(duplicates, 0u);
  EXPECT_EQ(seen.size(), static_cast<size_t>(kCount));

  // Nothing new after the last header; one new submission appears alone.
  auto none = Get(Objects("own") + "?added_after=" + last_added);
  EXPECT_FALSE(none.Json().contains("objects")) << none.body;
  ASSERT_EQ(node_.Cli({"submit", "domain", "new.example.org", "--tlp",
                       "clear"}).exit_code, 0);
  auto fresh = Get(Objects("own") + "?added_after=" + last_added);
  ASSERT_EQ(fresh.Json()["objects"].size(), 1u) << fresh.body;
  EXPECT_EQ(fresh.Json()["objects"][0]["pattern"],
            "[domain-name:value = 'new.example.org']");
}

TEST_F(TaxiiTest, RefusesBadCredentialsAcceptAndCollections) {
  auto bad = Get("/taxii2/", "siem:wrong");
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(bad.headers["www-authenticate"], "Basic realm=\"caravan\"");
  EXPECT_EQ(Get("/taxii2/", "nobody:s3cret").status, 401);
  EXPECT_EQ(HttpGet(port_, "/taxii2/", {kAccept}).status, 401);
  EXPECT_EQ(Get("/taxii2/").status, 200);
  EXPECT_EQ(Get("/taxii2/", "siem:s3cret", "Accept: text/html").status, 406);
  EXPECT_EQ(Get(Objects("own"), "siem:s3cret",
                "Accept: application/taxii+json;version=2.0")
                .status,
            406);
  EXPECT_EQ(Get(Objects("received")).status, 403);
  EXPECT_EQ(Get(Objects("own"), "peeronly:other").status, 403);
  EXPECT_EQ(Get("/api/collections/nope/objects/").status, 404);
  auto post = Post(Objects("own"), "siem:s3cret", "text/plain", "{}");
  EXPECT_EQ(post.status, 415);
  auto bad_body = Post(Objects("own"), "siem:s3cret", kTaxiiType, "not json");
  EXPECT_EQ(bad_body.status, 422);
  auto ro = Post(Objects("received"), "peeronly:other", kTaxiiType, "{}");
  EXPECT_EQ(ro.status, 403);
}

TEST_F(TaxiiTest, TlpAboveTheCeilingIsNeverServed) {
  ASSERT_EQ(node_.Cli({"submit", "domain", "green.example.org", "--tlp",
                       "green"}).exit_code, 0);
  ASSERT_EQ(node_.Cli({"submit", "domain", "amber.example.org", "--tlp",
                       "amber"}).exit_code, 0);
  ASSERT_EQ(node_.Cli({"submit", "domain", "red.example.org", "--tlp",
                       "red"}).exit_code, 0);
  for (const char* coll : {"own", "all"}) {
    auto page = Get(Objects(coll));
    ASSERT_EQ(page.status, 200) << page.body;
    EXPECT_EQ(page.Json()["objects"].size(), 1u) << page.body;
    EXPECT_EQ(page.body.find("amber.example.org"), std::string::npos);
    EXPECT_EQ(page.body.find("red.example.org"), std::string::npos);
    auto manifest = Get("/api/collections/" + ids_[coll] + "/manifest/");
    EXPECT_EQ(manifest.Json()["objects"].size(), 1u) << manifest.body;
  }
  auto feed = Get("/feeds/domain.txt");
  EXPECT_EQ(feed.status, 200);
  EXPECT_EQ(feed.body, "green.example.org\n");
}

TEST_F(TaxiiTest, ObjectByIdVersionsAndAddObjects) {
  auto add = Post(
      Objects("own"), "siem:s3cret", kTaxiiType,
      R"({"objects":[{"type":"indicator","spec_version":"2.1",
          "id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
          "created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z",
          "pattern":"[ipv4-addr:value = '203.0.113.9']","pattern_type":"stix",
          "valid_from":"2024-01-01T00:00:00Z",
          "object_marking_refs":["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]},
         {"type":"indicator","spec_version":"2.1",
          "id":"indicator--9e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
          "created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z",
          "pattern":"[ipv4-addr:value = '1.2.3.4'] AND [ipv4-addr:value = '5.6.7.8']",
          "pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"}]})");
  ASSERT_EQ(add.status, 202) << add.body;
  auto status = add.Json();
  EXPECT_EQ(status["success_count"], 1);
  EXPECT_EQ(status["failure_count"], 1);
  auto again = Get("/api/status/" + status["id"].get<std::string>() + "/");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.Json()["id"], status["id"]);

  auto list = Get(Objects("own"));
  ASSERT_EQ(list.Json()["objects"].size(), 1u) << list.body;
  const std::string id = list.Json()["objects"][0]["id"];
  auto one = Get(Objects("own") + id + "/");
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(one.Json()["objects"][0]["id"], id);
  auto versions = Get(Objects("own") + id + "/versions/");
  ASSERT_EQ(versions.status, 200);
  EXPECT_EQ(versions.Json()["versions"].size(), 1u);
  EXPECT_EQ(Get(Objects("own") +
                "indicator--00000000-0000-4000-8000-000000000000/")
                .status,
            404);
  EXPECT_EQ(Get(Objects("own") + "?match[type]=vulnerability").Json().contains(
                "objects"),
            false);
}

// TAXII add always merges (docs/taxii.md): a SIEM re-posting a value this
// node holds cannot drop its tags or loosen its TLP; labels it brings are
// added as tags.
TEST_F(TaxiiTest, AddObjectsMergesIntoKnownValues) {
  CommandResult r = node_.Cli({"submit", "ipv4", "203.0.113.44", "--tlp",
                               "green", "--tag", "internal"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  auto indicator = [](const std::string& extra) {
    return R"({"objects":[{"type":"indicator","spec_version":"2.1",
          "id":"indicator--7e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
          "created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z",
          "pattern":"[ipv4-addr:value = '203.0.113.44']","pattern_type":"stix",
          "valid_from":"2024-01-01T00:00:00Z")" +
           extra + "}]}";
  };
  auto plain = Post(Objects("own"), "siem:s3cret", kTaxiiType, indicator(""));
  ASSERT_EQ(plain.status, 202) << plain.body;
  EXPECT_EQ(plain.Json()["success_count"], 1) << plain.body;
  auto q = node_.CliJson({"query", "203.0.113.44"});
  ASSERT_EQ(q["indicators"].size(), 1u);
  EXPECT_EQ(q["indicators"][0]["revision"], 1) << q.dump();
  EXPECT_EQ(q["indicators"][0]["tags"], nlohmann::json::array({"internal"}));

  auto looser = Post(
      Objects("own"), "siem:s3cret", kTaxiiType,
      indicator(R"(,"labels":["c2"],"object_marking_refs":["marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"])"));
  ASSERT_EQ(looser.status, 202) << looser.body;
  EXPECT_EQ(looser.Json()["success_count"], 1) << looser.body;
  q = node_.CliJson({"query", "203.0.113.44"});
  ASSERT_EQ(q["indicators"].size(), 1u);
  EXPECT_EQ(q["indicators"][0]["revision"], 2) << q.dump();
  EXPECT_EQ(q["indicators"][0]["tlp"], "green") << q.dump();
  EXPECT_EQ(q["indicators"][0]["tags"],
            nlohmann::json::array({"c2", "internal"}));
}

}  // namespace
}  // namespace caravan::integration
