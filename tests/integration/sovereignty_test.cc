// The sovereignty guarantee end to end (issue 13, docs/policy.md "Updates
// and holders"): only current revisions leave, revocations reach every
// holder including one that was offline, and an update a holder may no
// longer see becomes a withdrawal. Real caravand nodes on loopback, driven
// through the CLI; every wait is a bounded poll.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/integration/federation_fixture.h"

namespace caravan::integration {
namespace {

using nlohmann::json;

class SovereigntyTest : public FederationFixture {
 protected:
  // The 64-hex id of `value` at `n` (it must be there).
  std::string IdOf(const FedNode& n, const std::string& value) {
    json j = n.Lookup(value);
    EXPECT_FALSE(j.is_null()) << value << " is not at " << n.name();
    return j.is_null() ? "" : j["id"].get<std::string>();
  }
  void Restart(FedNode& n) {
    std::string why;
    ASSERT_TRUE(n.Start(&why)) << why;
  }
  // Audit entries at `n` with `action` naming `peer`.
  std::vector<json> AuditOf(const FedNode& n, const std::string& action,
                            const std::string& peer) {
    std::vector<json> out;
    for (const auto& e : n.Audit(10000, peer)) {
      if (e["action"] == action) out.push_back(e);
    }
    return out;
  }
};

// Finding 1: with KZ offline, a value submitted green and then red (or
// then tagged with a tag kz.toml excludes) must not reach KZ as its first
// revision when KZ catches up.
TEST_F(SovereigntyTest, SupersededRevisionsNeverLeaveOnCatchUp) {
  FedNode& uz = Make("CERT-UZ", "UZ");
  FedNode& kz = Make("CERT-KZ", "KZ");
  uz.ShareWith("KZ", "amber", "exclude_tags = [\"internal\"]\n");
  ASSERT_NO_FATAL_FAILURE(StartAllAndConnect(uz, kz));
  ASSERT_EQ(kz.Stop(), 0) << kz.node().LogText();

  Submit(uz, {"domain", "sup-red.example", "--tlp", "green"});
  Submit(uz, {"domain", "sup-red.example", "--tlp", "red"});
  Submit(uz, {"domain", "sup-tag.example", "--tlp", "green"});
  Submit(uz, {"domain", "sup-tag.example", "--tlp", "green", "--tag",
              "internal"});
  Submit(uz, {"domain", "control.example", "--tlp", "green"});
  ASSERT_EQ(uz.Lookup("sup-red.example")["revision"], 2);
  ASSERT_EQ(uz.Lookup("sup-tag.example")["revision"], 2);

  ASSERT_NO_FATAL_FAILURE(Restart(kz));
  ASSERT_NO_FATAL_FAILURE(WaitSettled(uz, kz));
  EXPECT_FALSE(kz.Lookup("control.example").is_null());
  EXPECT_TRUE(kz.Lookup("sup-red.example").is_null())
      << "a superseded revision left: " << kz.Lookup("sup-red.example").dump();
  EXPECT_TRUE(kz.Lookup("sup-tag.example").is_null())
      << "a superseded revision left: " << kz.Lookup("sup-tag.example").dump();
  // The current revisions were decided and withheld, with their rules.
  std::vector<std::string> rules;
  for (const auto& e : AuditOf(uz, "withhold", "CERT-KZ")) {
    rules.push_back(e["detail"]["rule"]["key"].get<std::string>());
  }
  EXPECT_NE(std::find(rules.begin(), rules.end(), "tlp_red"), rules.end());
  EXPECT_NE(std::find(rules.begin(), rules.end(), "outbound.exclude_tags"),
            rules.end());
}

// Finding 2, first half: a value submitted and revoked while KZ was offline
// never reaches KZ at all (neither the live first revision nor the
// revocation, which would only leak the value).
TEST_F(SovereigntyTest, RevokedBeforeCatchUpNeverArrivesLive) {
  FedNode& uz = Make("CERT-UZ", "UZ");
  FedNode& kz = Make("CERT-KZ", "KZ");
  uz.ShareWith("KZ", "amber");
  ASSERT_NO_FATAL_FAILURE(StartAllAndConnect(uz, kz));
  ASSERT_EQ(kz.Stop(), 0) << kz.node().LogText();
  const std::string id = Submit(uz, {"domain", "gone.example", "--tlp", "green"});
  CommandResult r = uz.Cli({"revoke", id, "--reason", "false positive"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  Submit(uz, {"domain", "control.example", "--tlp", "green"});
  ASSERT_NO_FATAL_FAILURE(Restart(kz));
  ASSERT_NO_FATAL_FAILURE(WaitSettled(uz, kz));
  EXPECT_FALSE(kz.Lookup("control.example").is_null());
  EXPECT_TRUE(kz.Lookup("gone.example").is_null())
      << kz.Lookup("gone.example").dump();
}

// Finding 2, second half: KZ holds a value, goes offline, the value is
// revoked; when KZ comes back the revocation reaches it without a reload
// or a second reconnect.
TEST_F(SovereigntyTest, RevocationReachesAHolderThatWasOffline) {
  FedNode& uz = Make("CERT-UZ", "UZ");
  FedNode& kz = Make("CERT-KZ", "KZ");
  uz.ShareWith("KZ", "amber");
  ASSERT_NO_FATAL_FAILURE(StartAllAndConnect(uz, kz));
  const std::string id = Submit(uz, {"domain", "held.example", "--tlp", "green"});
  ASSERT_NO_FATAL_FAILURE(WaitSettled(uz, kz));
  ASSERT_FALSE(kz.Lookup("held.example").is_null());
  ASSERT_EQ(kz.Stop(), 0) << kz.node().LogText();
  CommandResult r = uz.Cli({"revoke", id, "--reason", "false positive"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  ASSERT_NO_FATAL_FAILURE(Restart(kz));
  ASSERT_TRUE(WaitFor([&] {
    json j = kz.Lookup("held.example");
    return !j.is_null() && j["revoked"] == true;
  })) << "the revocation did not reach the holder: "
      << kz.Lookup("held.example").dump();
  EXPECT_EQ(kz.Lookup("held.example")["revoke_reason"], "false positive");
}

// Finding 3: KZ holds a green value; UZ stops sharing with KZ and raises
// the value to amber+strict (above KZ's max_tlp). KZ must not receive the
// amber+strict revision; it gets a signed withdrawal of what it holds, and
// explain agrees with the sender.
TEST_F(SovereigntyTest, UpdateUnderShareFalseBecomesAWithdrawal) {
  FedNode& uz = Make("CERT-UZ", "UZ");
  FedNode& kz = Make("CERT-KZ", "KZ");
  uz.ShareWith("KZ", "amber");
  ASSERT_NO_FATAL_FAILURE(StartAllAndConnect(uz, kz));
  Submit(uz, {"domain", "tightened.example", "--tlp", "green",
              "--description", "first look"});
  ASSERT_NO_FATAL_FAILURE(WaitSettled(uz, kz));
  ASSERT_EQ(kz.Lookup("tightened.example")["tlp"], "green");

  uz.WritePolicy("kz.toml",
                 "applies_to = [\"KZ\"]\n[outbound]\nshare = false\n"
                 "max_tlp = \"amber\"\n");
  CommandResult r = uz.Cli({"policy", "reload"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  Submit(uz, {"domain", "tightened.example", "--tlp", "amber+strict",
              "--description", "now from a sensitive source"});
  ASSERT_EQ(uz.Lookup("tightened.example")["tlp"], "amber+strict");

  ASSERT_TRUE(WaitFor([&] {
    json j = kz.Lookup("tightened.example");
    return !j.is_null() && j["revoked"] == true;
  })) << "no withdrawal reached KZ: " << kz.Lookup("tightened.example").dump();
  json k = kz.Lookup("tightened.example");
  EXPECT_EQ(k["tlp"], "green") << "the withdrawal leaked the new TLP";
  EXPECT_EQ(k["description"], "") << "the withdrawal leaked a description";
  EXPECT_EQ(k["revision"], 2);
  const std::string id = k["id"].get<std::string>();
  json shown = kz.CliJson({"show", id});
  ASSERT_FALSE(shown.is_null());
  // Revision 2 is held only as the withdrawal, never in full.
  ASSERT_EQ(shown["revisions"].size(), 2u) << shown.dump();
  EXPECT_EQ(shown["revisions"][1]["revision"], 2) << shown.dump();
  EXPECT_EQ(shown["revisions"][1]["variant"], 65536) << shown.dump();
  for (const auto& rev : shown["revisions"]) {
    EXPECT_EQ(rev.value("verified", false), true) << shown.dump();
  }
  ASSERT_NO_FATAL_FAILURE(WaitSettled(uz, kz));
  const auto withdrawals = AuditOf(uz, "withdraw", "CERT-KZ");
  ASSERT_EQ(withdrawals.size(), 1u);
  EXPECT_EQ(withdrawals[0]["detail"]["rule"]["key"], "outbound.share");

  json explained = uz.CliJson({"policy", "explain", "--to", "KZ", "domain",
                               "tightened.example", "--tlp", "amber+strict"});
  EXPECT_EQ(explained["decision"], "withhold") << explained.dump();
}

// Finding 7: explain is the sender's answer. It reads today's quota, it
// refuses a code no policy file may name, built-in rules have a null file,
// and for a stored indicator it says what each peer gets given what it
// holds.
TEST_F(SovereigntyTest, ExplainIsTheSendersDecision) {
  FedNode& uz = Make("CERT-UZ", "UZ");
  FedNode& kz = Make("CERT-KZ", "KZ");
  uz.ShareWith("KZ", "amber", "max_per_day = 1\n");
  ASSERT_NO_FATAL_FAILURE(StartAllAndConnect(uz, kz));
  const std::string id = Submit(uz, {"domain", "first.example", "--tlp", "green"});
  ASSERT_NO_FATAL_FAILURE(WaitSettled(uz, kz));
  ASSERT_FALSE(kz.Lookup("first.example").is_null());

  json quota = uz.CliJson({"policy", "explain", "--to", "KZ", "domain",
                           "second.example", "--tlp", "green"});
  EXPECT_EQ(quota["decision"], "defer") << quota.dump();
  EXPECT_EQ(quota["rule"]["key"], "outbound.max_per_day") << quota.dump();

  CommandResult zz = uz.Cli({"policy", "explain", "--to", "ZZ", "domain",
                             "second.example"});
  EXPECT_EQ(zz.exit_code, 4) << zz.Describe();
  EXPECT_NE(zz.err.find("ZZ"), std::string::npos) << zz.Describe();

  json red = uz.CliJson({"policy", "explain", "--to", "KZ", "domain",
                         "second.example", "--tlp", "red"});
  EXPECT_EQ(red["rule"]["key"], "tlp_red") << red.dump();
  EXPECT_TRUE(red["rule"]["file"].is_null()) << red.dump();

  json stored = uz.CliJson({"policy", "explain", "--to", "KZ", id});
  ASSERT_EQ(stored["peers"].size(), 1u) << stored.dump();
  EXPECT_EQ(stored["peers"][0]["name"], "CERT-KZ");
  EXPECT_EQ(stored["peers"][0]["holds_revision"], 1);
  EXPECT_EQ(stored["peers"][0]["decision"], "skip") << stored.dump();
  CommandResult text = uz.Cli({"policy", "explain", "--to", "KZ", id});
  ASSERT_EQ(text.exit_code, 0) << text.Describe();
  EXPECT_NE(text.out.find("peer CERT-KZ (holds revision 1): skip"),
            std::string::npos)
      << text.out;
}

}  // namespace
}  // namespace caravan::integration
