// STIX and MISP through the CLI (`caravan export --format stix|misp`,
// `caravan submit --format stix|misp`) against real daemons.
#include <gtest/gtest.h>

#include <sodium.h>

#include <cstdio>
#include <map>
#include <set>
#include <vector>

#include "protocol/formats/stix.h"
#include "protocol/record_codec.h"
#include "protocol/time_text.h"
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

// Issue 17: the paging cursor is a log position (keyset), so records
// stored between two pages neither shift what follows nor repeat what came
// before: every object is served exactly once, in date_added order, and a
// page's objects, manifest and the envelope stay well formed.
TEST_F(TaxiiTest, KeysetPagingAcrossInsertsLosesAndRepeatsNothing) {
  std::string lines;
  for (int i = 0; i < 40; ++i) lines += "192.0.2." + std::to_string(i) + "\n";
  WriteFile(node_.root() / "first.txt", lines);
  ASSERT_EQ(node_.Cli({"submit", "--file", (node_.root() / "first.txt").string(),
                       "--tlp", "green"}).exit_code, 0);
  std::set<std::string> names;
  std::set<std::string> versions;  // id + modified
  size_t repeated = 0;
  std::string last_added;
  std::string target = Objects("all") + "?limit=7";
  int inserted = 0;
  for (int guard = 0; guard < 40; ++guard) {
    auto page = Get(target);
    ASSERT_EQ(page.status, 200) << page.body;
    const auto doc = page.Json();
    if (doc.contains("objects")) {
      EXPECT_LE(doc["objects"].size(), 7u);
      EXPECT_LT(last_added, page.headers["x-taxii-date-added-first"]);
      last_added = page.headers["x-taxii-date-added-last"];
      for (const auto& o : doc["objects"]) {
        EXPECT_EQ(o["type"], "indicator");
        EXPECT_EQ(o["spec_version"], "2.1");
        names.insert(o["name"].get<std::string>());
        if (!versions.insert(o["id"].get<std::string>() +
                             o["modified"].get<std::string>()).second) {
          ++repeated;
        }
      }
    }
    if (!doc["more"].get<bool>()) break;
    // Between pages: a new value, stored after the cursor.
    if (inserted < 5) {
      ASSERT_EQ(node_.Cli({"submit", "domain",
                           "late" + std::to_string(inserted) + ".example.org",
                           "--tlp", "green"}).exit_code, 0);
      ++inserted;
    }
    target = Objects("all") + "?next=" + doc["next"].get<std::string>();
  }
  EXPECT_EQ(repeated, 0u);
  EXPECT_EQ(inserted, 5);
  EXPECT_EQ(names.size(), 45u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(names.count("late" + std::to_string(i) + ".example.org")) << i;
  }
  // The manifest pages the same log: the same 45 versions.
  std::set<std::string> manifest;
  target = "/api/collections/" + ids_["all"] + "/manifest/?limit=10";
  for (int guard = 0; guard < 20; ++guard) {
    auto page = Get(target);
    ASSERT_EQ(page.status, 200) << page.body;
    const auto doc = page.Json();
    for (const auto& m : doc.value("objects", nlohmann::json::array())) {
      EXPECT_EQ(m["media_type"], "application/stix+json;version=2.1");
      manifest.insert(m["id"].get<std::string>() +
                      m["version"].get<std::string>());
    }
    if (!doc["more"].get<bool>()) break;
    target = "/api/collections/" + ids_["all"] + "/manifest/?next=" +
             doc["next"].get<std::string>();
  }
  EXPECT_EQ(manifest, versions);
  // A token with one character changed is refused with the reason.
  auto first = Get(Objects("all") + "?limit=7").Json();
  std::string token = first["next"];
  token[token.size() / 2] = token[token.size() / 2] == 'A' ? 'B' : 'A';
  auto refused = Get(Objects("all") + "?next=" + token);
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_EQ(refused.Json()["title"], "bad next token") << refused.body;
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

// Issue 19, finding 3: the `next` token was unsigned base64 JSON whose
// limit the server trusted. Now it is MACed: an altered one (the issue's
// forged limit of 100000), another account's, or the old unsigned shape
// is a 400 with a TAXII error, and a genuine one never gets more than
// page_size_max whatever `limit` is sent beside it.
TEST_F(TaxiiTest, PagingTokensAreAuthenticatedAndCapped) {
  std::string lines;
  for (int i = 0; i < 30; ++i) lines += "198.51.100." + std::to_string(i) + "\n";
  WriteFile(node_.root() / "few.txt", lines);
  ASSERT_EQ(node_.Cli({"submit", "--file", (node_.root() / "few.txt").string(),
                       "--tlp", "green"}).exit_code, 0);
  auto first = Get(Objects("own") + "?limit=10");
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_TRUE(first.Json()["more"].get<bool>()) << first.body;
  const std::string token = first.Json()["next"];

  // Genuine: continues, with the token's limit (10), not the 100000 asked.
  auto second = Get(Objects("own") + "?next=" + token + "&limit=100000");
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(second.Json()["objects"].size(), 10u);

  // Forged: the payload re-encoded with a huge limit and the MAC kept.
  std::string raw(token.size(), '\0');
  size_t len = 0;
  ASSERT_EQ(sodium_base642bin(reinterpret_cast<uint8_t*>(raw.data()),
                              raw.size(), token.data(), token.size(), nullptr,
                              &len, nullptr,
                              sodium_base64_VARIANT_URLSAFE_NO_PADDING),
            0);
  raw.resize(len);
  ASSERT_GT(raw.size(), 32u);
  auto payload = nlohmann::json::parse(raw.substr(32), nullptr, false);
  ASSERT_TRUE(payload.is_object()) << raw;
  EXPECT_EQ(payload["l"], 10);
  payload["l"] = 100000;
  payload["c"] = "all";
  auto b64 = [](const std::string& bytes) {
    std::string out(sodium_base64_encoded_len(
                        bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                    '\0');
    sodium_bin2base64(out.data(), out.size(),
                      reinterpret_cast<const uint8_t*>(bytes.data()),
                      bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    out.resize(out.size() - 1);
    return out;
  };
  const std::string forged = b64(raw.substr(0, 32) + payload.dump());
  auto refused = Get(Objects("all") + "?next=" + forged);
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_EQ(refused.Json()["title"], "bad next token") << refused.body;
  EXPECT_EQ(refused.Json()["http_status"], "400");
  EXPECT_NE(refused.Json().value("description", "").find("not issued"),
            std::string::npos)
      << refused.body;
  EXPECT_FALSE(refused.Json().contains("objects"));

  // The pre-MAC token shape is refused the same way.
  auto unsigned_token = Get(Objects("own") + "?next=" + b64(payload.dump()));
  EXPECT_EQ(unsigned_token.status, 400) << unsigned_token.body;
  // A genuine token sent to another collection's URL is refused.
  auto moved = Get(Objects("all") + "?next=" + token);
  EXPECT_EQ(moved.status, 400) << moved.body;
  // A token is bound to its account: "peeronly" cannot read "own" at all
  // (403 before the token is looked at), and a token issued to "siem" for
  // "received" would be refused to it, so the caps of the URL's
  // collection and the caller always apply.
  EXPECT_EQ(Get(Objects("own") + "?next=" + token, "peeronly:other").status,
            403);
}

// Issue 19, finding 2: a posted object keeps its id (GET by it works, it
// is listed and exported under it), the status names every object sent
// with its id and version, and what caravan does not store (an AND
// pattern, a Malware SDO) is a failure with a reason, counted in
// total_count.
TEST_F(TaxiiTest, PostedObjectsKeepTheirIdsAndAllAreInTheStatus) {
  const std::string posted = "indicator--aff865bd-0a0b-4c0d-8e0f-101112131415";
  auto add = Post(Objects("own"), "siem:s3cret", kTaxiiType, R"({"objects":[
      {"type":"indicator","spec_version":"2.1","id":")" + posted + R"(",
       "created":"2024-01-01T00:00:00.000Z","modified":"2024-01-02T03:04:05.678Z",
       "pattern":"[domain-name:value = 'posted.example.org']","pattern_type":"stix",
       "valid_from":"2024-01-01T00:00:00Z",
       "object_marking_refs":["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]},
      {"type":"indicator","spec_version":"2.1",
       "id":"indicator--9e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
       "created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z",
       "pattern":"[ipv4-addr:value = '1.2.3.4'] AND [ipv4-addr:value = '5.6.7.8']",
       "pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"},
      {"type":"malware","spec_version":"2.1",
       "id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b",
       "created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z",
       "name":"Poison Ivy","is_family":true}]})");
  ASSERT_EQ(add.status, 202) << add.body;
  const auto status = add.Json();
  EXPECT_EQ(status["total_count"], 3) << add.body;
  EXPECT_EQ(status["success_count"], 1);
  EXPECT_EQ(status["failure_count"], 2);
  EXPECT_EQ(status["pending_count"], 0);
  ASSERT_EQ(status["successes"].size(), 1u);
  EXPECT_EQ(status["successes"][0]["id"], posted);
  EXPECT_EQ(status["successes"][0]["version"], "2024-01-02T03:04:05.678Z");
  std::map<std::string, std::string> failures;
  for (const auto& f : status["failures"]) {
    EXPECT_TRUE(f.contains("version")) << f.dump();
    failures[f["id"].get<std::string>()] = f.value("message", "");
  }
  EXPECT_NE(failures["malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"].find(
                "not stored"),
            std::string::npos)
      << add.body;
  EXPECT_NE(failures["indicator--9e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"].find(
                "AND"),
            std::string::npos)
      << add.body;

  // GET by the posted id, its versions, the listing and match[id].
  auto one = Get(Objects("own") + posted + "/");
  ASSERT_EQ(one.status, 200) << one.body;
  ASSERT_EQ(one.Json()["objects"].size(), 1u);
  EXPECT_EQ(one.Json()["objects"][0]["id"], posted);
  EXPECT_EQ(one.Json()["objects"][0]["pattern"],
            "[domain-name:value = 'posted.example.org']");
  auto versions = Get(Objects("own") + posted + "/versions/");
  ASSERT_EQ(versions.status, 200) << versions.body;
  EXPECT_EQ(versions.Json()["versions"].size(), 1u);
  auto list = Get(Objects("own"));
  ASSERT_EQ(list.Json()["objects"].size(), 1u) << list.body;
  EXPECT_EQ(list.Json()["objects"][0]["id"], posted);
  auto matched = Get(Objects("own") + "?match[id]=" + posted);
  ASSERT_EQ(matched.Json()["objects"].size(), 1u) << matched.body;
  EXPECT_FALSE(matched.Json()["more"].get<bool>());

  // The CLI's STIX export gives the same id back.
  auto stix = node_.Cli({"export", "--format", "stix"});
  ASSERT_EQ(stix.exit_code, 0) << stix.Describe();
  EXPECT_NE(stix.out.find(posted), std::string::npos);

  // Posting it again (same id, now known) is a success under that id.
  auto again = Post(Objects("own"), "siem:s3cret", kTaxiiType,
                    R"({"objects":[{"type":"indicator","spec_version":"2.1",
      "id":")" + posted + R"(","created":"2024-01-01T00:00:00.000Z",
      "modified":"2024-01-03T00:00:00.000Z",
      "pattern":"[domain-name:value = 'posted.example.org']",
      "pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"}]})");
  ASSERT_EQ(again.status, 202) << again.body;
  EXPECT_EQ(again.Json()["success_count"], 1) << again.body;
  EXPECT_EQ(Get(Objects("own") + posted + "/").status, 200);
}

// Issue 19, finding 4: objects/ID/, versions/ and match[id] are answered
// from indexes, so match[id] answers on its first page (it used to give an
// empty first page with more: true), and paging by id works.
TEST_F(TaxiiTest, LookupsByIdAnswerOnTheFirstPage) {
  std::string lines;
  for (int i = 0; i < 40; ++i) lines += "192.0.2." + std::to_string(i) + "\n";
  WriteFile(node_.root() / "ids.txt", lines);
  ASSERT_EQ(node_.Cli({"submit", "--file", (node_.root() / "ids.txt").string(),
                       "--tlp", "green"}).exit_code, 0);
  ASSERT_EQ(node_.Cli({"submit", "domain", "amber.example.org", "--tlp",
                       "amber"}).exit_code, 0);
  auto all = Get(Objects("own") + "?limit=1000");
  ASSERT_EQ(all.status, 200) << all.body;
  const auto objects = all.Json()["objects"];
  ASSERT_EQ(objects.size(), 40u);
  // The last submitted values: far from the start of the log.
  const std::string a = objects[38]["id"], b = objects[39]["id"];

  auto first = Get(Objects("own") + "?match[id]=" + a + "," + b + "&limit=1");
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(first.Json()["objects"].size(), 1u) << first.body;
  EXPECT_EQ(first.Json()["objects"][0]["id"], a);
  ASSERT_TRUE(first.Json()["more"].get<bool>());
  auto second = Get(Objects("own") + "?next=" + first.Json()["next"].get<std::string>());
  ASSERT_EQ(second.status, 200) << second.body;
  ASSERT_EQ(second.Json()["objects"].size(), 1u) << second.body;
  EXPECT_EQ(second.Json()["objects"][0]["id"], b);
  EXPECT_FALSE(second.Json()["more"].get<bool>());

  auto both = Get(Objects("own") + "?match[id]=" + a + "," + b);
  EXPECT_EQ(both.Json()["objects"].size(), 2u) << both.body;
  EXPECT_FALSE(both.Json()["more"].get<bool>());
  auto manifest = Get("/api/collections/" + ids_["own"] + "/manifest/?match[id]=" + b);
  ASSERT_EQ(manifest.Json()["objects"].size(), 1u) << manifest.body;
  EXPECT_EQ(manifest.Json()["objects"][0]["id"], b);

  auto one = Get(Objects("all") + b + "/");
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(one.Json()["objects"][0]["id"], b);
  EXPECT_EQ(one.Json()["objects"][0]["pattern"], objects[39]["pattern"]);

  // Same UUID under the other type, unknown and malformed ids: 404. The
  // amber object exists but is above the account's ceiling: 404 too.
  const std::string uuid = b.substr(std::string("indicator--").size());
  EXPECT_EQ(Get(Objects("own") + "vulnerability--" + uuid + "/").status, 404);
  EXPECT_EQ(Get(Objects("own") + "indicator--" + std::string(36, 'x') + "/").status,
            404);
  EXPECT_EQ(Get(Objects("own") + "indicator--/").status, 404);
  EXPECT_EQ(Get(Objects("received") + b + "/", "peeronly:other").status, 404);
  auto none = Get(Objects("own") +
                  "?match[id]=indicator--00000000-0000-4000-8000-000000000000");
  ASSERT_EQ(none.status, 200);
  EXPECT_FALSE(none.Json().contains("objects"));
  EXPECT_FALSE(none.Json()["more"].get<bool>());
}

// Issue 19, finding 1: two revisions in the same second (here in one
// batch, so the same millisecond too) have distinct, increasing
// `modified`, match[version] finds exactly one object each, the latest is
// the last, and the signed record carries that same time.
TEST_F(TaxiiTest, RevisionsInOneSecondHaveExactIncreasingVersions) {
  WriteFile(node_.root() / "twice.csv",
            "type,value,tlp,confidence\n"
            "domain,twice.example.org,green,80\n"
            "domain,twice.example.org,green,90\n");
  auto r = node_.Cli({"submit", "--file", (node_.root() / "twice.csv").string(),
                      "--format", "csv"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  // And one more right after through the CLI (the issue's case).
  ASSERT_EQ(node_.Cli({"submit", "domain", "twice.example.org", "--tlp",
                       "green", "--confidence", "70"}).exit_code, 0);
  auto list = Get(Objects("own"));
  ASSERT_EQ(list.Json()["objects"].size(), 1u) << list.body;
  const auto latest = list.Json()["objects"][0];
  EXPECT_EQ(latest["confidence"], 70);
  const std::string id = latest["id"];

  auto versions = Get(Objects("own") + id + "/versions/");
  ASSERT_EQ(versions.status, 200) << versions.body;
  const auto v = versions.Json()["versions"];
  ASSERT_EQ(v.size(), 3u) << versions.body;
  EXPECT_LT(v[0].get<std::string>(), v[1].get<std::string>());
  EXPECT_LT(v[1].get<std::string>(), v[2].get<std::string>());
  EXPECT_EQ(v[2], latest["modified"]);
  const int confidences[] = {80, 90, 70};
  for (size_t i = 0; i < 3; ++i) {
    auto at = Get(Objects("own") + id + "/?match[version]=" +
                  v[i].get<std::string>());
    ASSERT_EQ(at.status, 200) << at.body;
    ASSERT_EQ(at.Json()["objects"].size(), 1u) << at.body;
    EXPECT_EQ(at.Json()["objects"][0]["confidence"], confidences[i]);
    EXPECT_EQ(at.Json()["objects"][0]["modified"], v[i]);
    // Same version as a listing filter.
    auto listed = Get(Objects("own") + "?match[version]=" +
                      v[i].get<std::string>());
    EXPECT_EQ(listed.Json()["objects"].size(), 1u) << listed.body;
    // The signed record says the same time to the millisecond.
    const nlohmann::json doc = at.Json();
    const auto& object = doc["objects"][0];
    ASSERT_TRUE(object.contains("extensions")) << at.body;
    const auto& ext =
        object["extensions"][std::string(protocol::kCaravanExtensionId)];
    ASSERT_TRUE(ext.contains("signed_record")) << at.body;
    const std::string b64 = ext["signed_record"].get<std::string>();
    std::vector<uint8_t> bytes(b64.size());
    size_t len = 0;
    ASSERT_EQ(sodium_base642bin(bytes.data(), bytes.size(), b64.data(),
                                b64.size(), nullptr, &len, nullptr,
                                sodium_base64_VARIANT_ORIGINAL),
              0);
    bytes.resize(len);
    auto rec = protocol::DecodeSignedRecord(bytes);
    ASSERT_TRUE(rec.ok());
    auto body = protocol::DecodeRecordBody(rec->body);
    ASSERT_TRUE(body.ok());
    std::string signed_time = protocol::FormatTime(body->created);
    char ms[8];
    std::snprintf(ms, sizeof ms, ".%03d", body->created_millis);
    signed_time.insert(signed_time.size() - 1, ms);
    EXPECT_EQ(signed_time, v[i].get<std::string>());
  }
  // Every version at once, in order.
  auto all = Get(Objects("own") + id + "/?match[version]=all");
  ASSERT_EQ(all.Json()["objects"].size(), 3u) << all.body;
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
