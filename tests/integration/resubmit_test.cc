// Re-submitting a value a node already holds (docs/policy.md,
// "Re-submitting a known value") with real daemons: a plain re-submission
// merges and never loosens what may leave (issue 13 finding 6: a plain feed
// line dropped the tag that kept the value from KZ), --replace is the only
// way to make the submission the whole new revision, and the CLI says what
// changed. The spool and TAXII add paths are pinned in spool_test.cc and
// taxii_test.cc.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/federation_fixture.h"
#include "tests/integration/node_fixture.h"

namespace caravan::integration {
namespace {

using nlohmann::json;

std::set<std::string> Tags(const json& indicator) {
  std::set<std::string> tags;
  if (indicator.is_null()) return tags;
  for (const auto& t : indicator["tags"]) tags.insert(t.get<std::string>());
  return tags;
}

class ResubmitFederationTest : public FederationFixture {};

// Issue 13 finding 6. UZ's kz.toml excludes tag `internal`. A value
// submitted with that tag and then again from a plain feed kept no tag and
// went to KZ, the CLI saying only "1 stored". Now the plain line is
// "unchanged", UZ keeps the tag, KZ never gets the value; only --replace
// drops the tag, and only then does the value reach KZ.
TEST_F(ResubmitFederationTest,
       Issue13Finding6PlainResubmitKeepsExcludedTagAndStaysHome) {
  FedNode& uz = Make("CERT-UZ", "UZ");
  FedNode& kz = Make("CERT-KZ", "KZ");
  uz.ShareWith("KZ", "amber", "exclude_tags = [\"internal\"]\n");
  ASSERT_NO_FATAL_FAILURE(StartAll());
  Connect(uz, kz);

  const std::string value = "intranet.example.org";
  CommandResult first =
      uz.Cli({"submit", "domain", value, "--tag", "internal"});
  ASSERT_EQ(first.exit_code, 0) << first.Describe();

  CommandResult plain = uz.Cli({"submit", "--file", "-", "--type", "domain"},
                               value + "\n");
  ASSERT_EQ(plain.exit_code, 0) << plain.Describe();
  EXPECT_NE(plain.out.find("1 lines: 0 stored, 1 unchanged, 0 rejected"),
            std::string::npos)
      << plain.Describe() << "\nstdout: " << plain.out;
  EXPECT_NE(plain.out.find("0 new, 0 updated"), std::string::npos)
      << plain.out;

  json held = uz.Lookup(value);
  ASSERT_FALSE(held.is_null());
  EXPECT_EQ(held["revision"], 1) << held.dump();
  EXPECT_EQ(Tags(held), std::set<std::string>{"internal"}) << held.dump();

  // A shareable marker after it: once KZ acknowledged everything, every
  // decision about the tagged value has been made.
  CommandResult marker = uz.Cli({"submit", "domain", "marker.example.org"});
  ASSERT_EQ(marker.exit_code, 0) << marker.Describe();
  ASSERT_TRUE(WaitFor([&] { return uz.Settled(kz.name()); }))
      << "UZ -> KZ did not settle: " << uz.PeerState(kz.name()).dump();
  EXPECT_FALSE(kz.Lookup("marker.example.org").is_null());
  EXPECT_TRUE(kz.Lookup(value).is_null())
      << "the excluded value reached KZ: " << kz.Lookup(value).dump();

  // The operator means it: --replace makes the plain line the whole new
  // revision, says the tag went, and the value may now go to KZ.
  CommandResult replace =
      uz.Cli({"submit", "--file", "-", "--type", "domain", "--replace"},
             value + "\n");
  ASSERT_EQ(replace.exit_code, 0) << replace.Describe();
  EXPECT_NE(replace.out.find("1 stored, 0 unchanged"), std::string::npos)
      << replace.out;
  EXPECT_NE(replace.out.find("0 new, 1 updated"), std::string::npos)
      << replace.out;
  EXPECT_NE(replace.err.find("stdin:1: updated rev 2: -tag internal"),
            std::string::npos)
      << replace.Describe();
  held = uz.Lookup(value);
  EXPECT_EQ(held["revision"], 2) << held.dump();
  EXPECT_TRUE(Tags(held).empty()) << held.dump();
  ASSERT_TRUE(WaitFor([&] { return !kz.Lookup(value).is_null(); }))
      << "the replaced, now shareable value did not reach KZ";
  json at_kz = kz.Lookup(value);
  EXPECT_EQ(at_kz["revision"], 2) << at_kz.dump();
  EXPECT_TRUE(Tags(at_kz).empty()) << at_kz.dump();

  // The audit trail of the replacement names what it dropped.
  bool audited = false;
  for (const auto& e : uz.Audit()) {
    if (e["action"] == "submit" && e["detail"].value("replaced", false)) {
      audited = true;
      EXPECT_EQ(e["detail"]["changes"], json::array({"-tag internal"}))
          << e.dump();
    }
  }
  EXPECT_TRUE(audited) << "no audited replacement";
}

class ResubmitCliTest : public RunningNodeTest {};

TEST_F(ResubmitCliTest, SingleSubmitSaysWhatChanged) {
  CommandResult r = node_->Cli(
      {"submit", "domain", "c2.example.net", "--tlp", "green", "--tag", "c2"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  const std::string id = r.out.substr(0, r.out.find('\n'));
  EXPECT_EQ(r.out, id + "\n") << "stdout is the id alone";
  EXPECT_EQ(r.err, "") << "a new value needs no note";

  // Stricter TLP, one more tag: a new revision, said on stderr; stdout
  // stays the id, as scripts capture it.
  r = node_->Cli({"submit", "domain", "c2.example.net", "--tlp", "amber",
                  "--tag", "apt"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.out, id + "\n");
  EXPECT_EQ(r.err, "updated rev 2: tlp green->amber, +tag apt\n");

  // Looser TLP and no tags: nothing may loosen, so nothing changes.
  r = node_->Cli({"submit", "domain", "c2.example.net", "--tlp", "clear"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.out, id + "\n");
  EXPECT_EQ(r.err, "unchanged rev 2\n");

  json j = node_->CliJson({"submit", "domain", "c2.example.net", "--tag",
                           "C2", "--confidence", "80"});
  ASSERT_FALSE(j.is_null());
  EXPECT_EQ(j["id"], id);
  EXPECT_EQ(j["status"], "updated");
  EXPECT_EQ(j["revision"], 3);
  EXPECT_EQ(j["unchanged"], false);
  EXPECT_EQ(j["changes"], json::array({"confidence 50->80"}))
      << "C2 is the tag c2 to policy, so it is not added again";

  j = node_->CliJson({"submit", "domain", "c2.example.net", "--tlp", "clear",
                      "--replace"});
  ASSERT_FALSE(j.is_null());
  EXPECT_EQ(j["status"], "updated");
  EXPECT_EQ(j["revision"], 4);
  EXPECT_EQ(j["changes"],
            json::array({"tlp amber->clear", "-tag apt", "-tag c2",
                         "confidence 80->50"}));
  auto now = Query({"c2.example.net"});
  ASSERT_EQ(now.size(), 1u);
  EXPECT_EQ(now[0]["tlp"], "clear");
  EXPECT_TRUE(now[0]["tags"].empty());

  j = node_->CliJson({"submit", "domain", "fresh.example.net"});
  ASSERT_FALSE(j.is_null());
  EXPECT_EQ(j["status"], "new");
  EXPECT_EQ(j["revision"], 1);
  EXPECT_EQ(j["changes"], json::array());
  j = node_->CliJson({"submit", "domain", "fresh.example.net"});
  EXPECT_EQ(j["status"], "unchanged");
  EXPECT_EQ(j["revision"], 1);
}

TEST_F(ResubmitCliTest, RevokedValueIsNotRevivedWithoutReplace) {
  const std::string id = Submit("ipv4", "198.51.100.77", {"--tag", "x"});
  ASSERT_FALSE(id.empty());
  CommandResult r = node_->Cli({"revoke", id, "--reason", "false positive"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();

  r = node_->Cli({"submit", "ipv4", "198.51.100.77"});
  EXPECT_EQ(r.exit_code, 4) << r.Describe();
  EXPECT_NE(r.err.find("revoked (false positive)"), std::string::npos)
      << r.Describe();
  EXPECT_NE(r.err.find("--replace"), std::string::npos) << r.Describe();
  // In a bulk file it is that line's error; the others go on.
  r = node_->Cli({"submit", "--file", "-"}, "198.51.100.77\n198.51.100.78\n");
  EXPECT_EQ(r.exit_code, 4) << r.Describe();  // one line rejected
  EXPECT_NE(r.err.find("stdin:1: indicator is revoked"), std::string::npos)
      << r.Describe();
  EXPECT_NE(r.out.find("2 lines: 1 stored, 0 unchanged, 1 rejected"),
            std::string::npos)
      << r.out;
  auto held = Query({"198.51.100.77", "--include-revoked"});
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0]["revoked"], true);
  EXPECT_EQ(held[0]["revision"], 2);

  json j = node_->CliJson({"submit", "ipv4", "198.51.100.77", "--replace"});
  ASSERT_FALSE(j.is_null());
  EXPECT_EQ(j["revision"], 3);
  EXPECT_EQ(j["status"], "updated");
  EXPECT_EQ(j["changes"], json::array({"-tag x", "revived"}));
  held = Query({"198.51.100.77"});
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0]["revoked"], false);
}

TEST_F(ResubmitCliTest, BulkSummaryCountsNewUpdatedUnchanged) {
  Submit("domain", "a.example.com", {"--tag", "keep"});
  Submit("domain", "b.example.com");
  CommandResult r = node_->Cli(
      {"--json", "submit", "--file", "-", "--format", "csv"},
      "value,type,tags\n"
      "a.example.com,domain,\n"          // plain: unchanged, tag kept
      "b.example.com,domain,new\n"       // +tag new
      "c.example.com,domain,\n"          // new value
      "c.example.com,domain,later\n");   // same file: merges into line 4
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  json sum = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(sum.is_discarded()) << r.out;
  EXPECT_EQ(sum["lines"], 4);
  EXPECT_EQ(sum["stored"], 3);
  EXPECT_EQ(sum["new"], 1);
  EXPECT_EQ(sum["updated"], 2);
  EXPECT_EQ(sum["unchanged"], 1);
  EXPECT_EQ(sum["rejected"], 0);
  EXPECT_NE(r.err.find("stdin:3: updated rev 2: +tag new"), std::string::npos)
      << r.Describe();
  EXPECT_NE(r.err.find("stdin:5: updated rev 2: +tag later"),
            std::string::npos)
      << r.Describe();
  EXPECT_EQ(Tags(Query({"a.example.com"})[0]), std::set<std::string>{"keep"});
  EXPECT_EQ(Tags(Query({"c.example.com"})[0]), std::set<std::string>{"later"});
}

// The merge reads the current revision inside the store's single writer:
// submissions racing on one value each add their tag, none is lost.
TEST_F(ResubmitCliTest, ConcurrentResubmissionsLoseNoTag) {
  Submit("domain", "race.example.com");
  constexpr int kWriters = 8;
  std::vector<CommandResult> results(kWriters);
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      results[i] = RunProgram({CaravanPath(), "--config",
                               node_->config().string(), "submit", "domain",
                               "race.example.com", "--tag",
                               "t" + std::to_string(i)});
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> want;
  for (int i = 0; i < kWriters; ++i) {
    EXPECT_EQ(results[i].exit_code, 0) << results[i].Describe();
    want.insert("t" + std::to_string(i));
  }
  auto now = Query({"race.example.com"});
  ASSERT_EQ(now.size(), 1u);
  EXPECT_EQ(Tags(now[0]), want) << now[0].dump();
  EXPECT_EQ(now[0]["revision"], 1 + kWriters);
}

}  // namespace
}  // namespace caravan::integration
