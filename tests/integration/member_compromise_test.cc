// Compromise at any member (issue 16, docs/federation.md "Compromise"):
// UZ's records reach KZ, which relays them to CN and TJ. KZ declares UZ's
// key compromised since T: exactly UZ's records created at or after T are
// quarantined at KZ and at CN (act_on_compromise_notices = "quarantine"),
// none at TJ ("ignore": audit only); they leave KZ no more (rule
// compromised_key), UZ's link to KZ is refused, and UZ cannot be added
// back with the same key.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "tests/integration/federation_fixture.h"
#include "tests/integration/hub_helpers.h"

namespace caravan::integration {
namespace {

using json = nlohmann::json;

std::set<std::string> QuarantinedIds(const FedNode& n,
                                     const std::string& reason = "") {
  std::set<std::string> out;
  json q = n.CliJson({"quarantine", "list"});
  if (!q.contains("indicators")) return out;
  for (const auto& i : q["indicators"]) {
    if (!reason.empty() && i.value("quarantine_reason", "") != reason) continue;
    out.insert(i.value("id", ""));
  }
  return out;
}

std::vector<json> AuditOf(const FedNode& n, const std::string& action) {
  std::vector<json> out;
  for (const auto& e : n.Audit()) {
    if (e.value("action", "") == action) out.push_back(e);
  }
  return out;
}

class MemberCompromiseTest : public FederationFixture {};

TEST_F(MemberCompromiseTest, NoticeQuarantinesExactlyTheRecordsSinceT) {
  FedNode& uz = Make("CERT-UZ", "UZ");
  FedNode& kz = Make("CERT-KZ", "KZ");
  FedNode& cn = Make("CERT-CN", "CN");
  FedNode& tj = Make("CERT-TJ", "TJ");
  uz.ShareWith("KZ", "amber", "reshare = \"federation\"\n");
  kz.ShareWithAll("amber", "reshare = \"federation\"\n");
  ASSERT_NO_FATAL_FAILURE(ActOnNotices(cn, "quarantine"));
  ASSERT_NO_FATAL_FAILURE(ActOnNotices(tj, "ignore"));
  ASSERT_NO_FATAL_FAILURE(StartAll());
  Connect(uz, kz);
  Connect(kz, cn);
  Connect(kz, tj);
  // CN and TJ know UZ's key (relayed records verify) but do not link it.
  AddPeer(cn, uz, /*dial=*/false);
  AddPeer(tj, uz, /*dial=*/false);

  std::set<std::string> before, after;
  for (const char* v : {"10.5.0.1", "10.5.0.2"}) {
    before.insert(Submit(uz, {"ipv4", v, "--reshare", "federation"}));
  }
  // created has one-second resolution: T lies strictly after the first
  // records and at or before the later ones.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  for (const char* v : {"10.6.0.1", "10.6.0.2", "10.6.0.3"}) {
    after.insert(Submit(uz, {"ipv4", v, "--reshare", "federation"}));
  }
  ASSERT_NO_FATAL_FAILURE(WaitSettled(uz, kz));
  ASSERT_NO_FATAL_FAILURE(WaitSettled(kz, cn));
  ASSERT_NO_FATAL_FAILURE(WaitSettled(kz, tj));
  for (FedNode* n : {&kz, &cn, &tj}) {
    ASSERT_FALSE(n->Lookup("10.6.0.3").is_null()) << n->name();
    ASSERT_TRUE(QuarantinedIds(*n).empty()) << n->name();
  }
  const std::string t =
      kz.Lookup("10.6.0.1")["created"].get<std::string>();
  ASSERT_LT(ParseTime(kz.Lookup("10.5.0.2")["created"]), ParseTime(t));

  json declared =
      kz.CliJson({"peers", "compromised", "CERT-UZ", "--since", t});
  EXPECT_EQ(declared["quarantined"], 3) << declared.dump();
  EXPECT_EQ(declared["notified"], json::array({"CERT-CN", "CERT-TJ"}))
      << declared.dump();

  // KZ: exactly the later records, as evidence with the reason.
  EXPECT_EQ(QuarantinedIds(kz, "compromised_key"), after);
  EXPECT_FALSE(kz.Lookup("10.5.0.1").is_null());
  json explained = kz.CliJson(
      {"policy", "explain", *after.begin(), "--to", "CN"});
  EXPECT_EQ(explained["rule"]["key"], "compromised_key") << explained.dump();

  // CN acts on notices: the same set, quarantined.
  ASSERT_TRUE(WaitFor([&] { return QuarantinedIds(cn) == after; }))
      << cn.node().LogText();
  EXPECT_EQ(QuarantinedIds(cn, "compromised_key"), after);
  EXPECT_FALSE(cn.Lookup("10.5.0.2").is_null());
  auto applied = AuditOf(cn, "compromise-notice");
  ASSERT_EQ(applied.size(), 1u);
  EXPECT_NE(applied[0].dump().find("\"result\":\"quarantine\""),
            std::string::npos)
      << applied[0].dump();

  // TJ ignores notices: audited, nothing quarantined.
  ASSERT_TRUE(WaitFor([&] { return !AuditOf(tj, "compromise-notice").empty(); }))
      << tj.node().LogText();
  EXPECT_NE(AuditOf(tj, "compromise-notice")[0].dump().find(
                "\"result\":\"ignore\""),
            std::string::npos);
  EXPECT_TRUE(QuarantinedIds(tj).empty());
  EXPECT_FALSE(tj.Lookup("10.6.0.1").is_null());

  // The key is refused: UZ's link to KZ goes down and stays down, and UZ
  // comes back only with a new key.
  ASSERT_TRUE(WaitFor([&] {
    const json p = kz.PeerState("CERT-UZ");
    return !p.is_object() || p.value("link", "") != "up";
  }));
  ASSERT_EQ(kz.Cli({"peers", "remove", "CERT-UZ"}).exit_code, 0);
  CommandResult again = kz.Cli({"peers", "add", "CERT-UZ", "--country", "UZ",
                                "--key", uz.key()});
  EXPECT_EQ(again.exit_code, 4) << again.out << again.err;
  EXPECT_NE(again.err.find("compromised"), std::string::npos) << again.err;

  for (FedNode* n : {&kz, &cn, &tj}) EXPECT_TRUE(n->AuditVerifies()) << n->name();
}

// A notice for a peer that is down waits in the issuer's store
// (pending_notices): the issuer restarts, the peer comes back and gets it
// (quarantining exactly the records since T), and the row is gone once
// delivered: after another restart of the issuer the peer receives
// nothing more (one compromise-notice entry, no replay).
TEST_F(MemberCompromiseTest, NoticeForAPeerThatIsDownSurvivesTheIssuersRestart) {
  FedNode& uz = Make("CERT-UZ", "UZ");
  FedNode& kz = Make("CERT-KZ", "KZ");
  FedNode& cn = Make("CERT-CN", "CN");
  uz.ShareWith("KZ", "amber", "reshare = \"federation\"\n");
  kz.ShareWithAll("amber", "reshare = \"federation\"\n");
  ASSERT_NO_FATAL_FAILURE(ActOnNotices(cn, "quarantine"));
  ASSERT_NO_FATAL_FAILURE(StartAll());
  Connect(uz, kz);
  Connect(kz, cn);
  AddPeer(cn, uz, /*dial=*/false);

  std::set<std::string> after;
  Submit(uz, {"ipv4", "10.7.0.1", "--reshare", "federation"});
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  for (const char* v : {"10.8.0.1", "10.8.0.2"}) {
    after.insert(Submit(uz, {"ipv4", v, "--reshare", "federation"}));
  }
  ASSERT_NO_FATAL_FAILURE(WaitSettled(uz, kz));
  ASSERT_NO_FATAL_FAILURE(WaitSettled(kz, cn));
  const std::string t = kz.Lookup("10.8.0.1")["created"].get<std::string>();

  ASSERT_EQ(cn.Stop(), 0);
  json declared = kz.CliJson({"peers", "compromised", "CERT-UZ", "--since", t});
  EXPECT_EQ(declared["notified"], json::array({"CERT-CN"})) << declared.dump();
  EXPECT_EQ(QuarantinedIds(kz, "compromised_key"), after);
  // The issuer restarts while the peer is down: before, the notice lived
  // in memory only and was lost here.
  ASSERT_EQ(kz.Stop(), 0);
  EXPECT_EQ(PendingNoticeRows(kz), 1);
  std::string why;
  ASSERT_TRUE(kz.Start(&why)) << why;
  ASSERT_TRUE(cn.Start(&why)) << why;
  ASSERT_TRUE(WaitFor([&] { return QuarantinedIds(cn) == after; }))
      << kz.node().LogText() << cn.node().LogText();
  EXPECT_EQ(QuarantinedIds(cn, "compromised_key"), after);
  EXPECT_FALSE(cn.Lookup("10.7.0.1").is_null());

  // Delivered, so deleted: KZ restarts again and sends its next record;
  // the notice would have gone before it (one stream, notices first), so
  // once CN holds the record CN has seen everything KZ had to send.
  ASSERT_TRUE(WaitFor([&] {
    return kz.node().LogText().find("compromise notices to CERT-CN confirmed") !=
           std::string::npos;
  })) << kz.node().LogText();
  ASSERT_EQ(kz.Stop(), 0);
  EXPECT_EQ(PendingNoticeRows(kz), 0);  // confirmed by CN's link: deleted
  ASSERT_TRUE(kz.Start(&why)) << why;
  Submit(kz, {"ipv4", "10.10.0.1"});
  ASSERT_TRUE(WaitFor([&] { return !cn.Lookup("10.10.0.1").is_null(); }))
      << kz.node().LogText();
  auto applied = AuditOf(cn, "compromise-notice");
  ASSERT_EQ(applied.size(), 1u);
  EXPECT_NE(applied[0].dump().find("\"result\":\"quarantine\""),
            std::string::npos)
      << applied[0].dump();
  for (FedNode* n : {&kz, &cn}) EXPECT_TRUE(n->AuditVerifies()) << n->name();
}

// The same across the issuer's identity key rotation: KZ declares while CN
// is down, then rotates (`caravan key rotate`: an in-process reload that
// used to drop the notice). CN comes back knowing only KZ's old key, learns
// the rotation in the handshake, and takes the notice, which KZ's new key
// signs again when sending (CN pins only that one).
TEST_F(MemberCompromiseTest, NoticeForAPeerThatIsDownSurvivesTheIssuersKeyRotation) {
  FedNode& uz = Make("CERT-UZ", "UZ");
  FedNode& kz = Make("CERT-KZ", "KZ");
  FedNode& cn = Make("CERT-CN", "CN");
  uz.ShareWith("KZ", "amber", "reshare = \"federation\"\n");
  kz.ShareWithAll("amber", "reshare = \"federation\"\n");
  ASSERT_NO_FATAL_FAILURE(ActOnNotices(cn, "quarantine"));
  ASSERT_NO_FATAL_FAILURE(StartAll());
  Connect(uz, kz);
  Connect(kz, cn);
  AddPeer(cn, uz, /*dial=*/false);

  std::set<std::string> after;
  Submit(uz, {"ipv4", "10.14.0.1", "--reshare", "federation"});
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  after.insert(Submit(uz, {"ipv4", "10.15.0.1", "--reshare", "federation"}));
  ASSERT_NO_FATAL_FAILURE(WaitSettled(uz, kz));
  ASSERT_NO_FATAL_FAILURE(WaitSettled(kz, cn));
  const std::string t = kz.Lookup("10.15.0.1")["created"].get<std::string>();

  ASSERT_EQ(cn.Stop(), 0);
  json declared = kz.CliJson({"peers", "compromised", "CERT-UZ", "--since", t});
  EXPECT_EQ(declared["notified"], json::array({"CERT-CN"})) << declared.dump();
  CommandResult rotated = kz.Cli({"key", "rotate"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.Describe();
  std::string why;
  ASSERT_TRUE(cn.Start(&why)) << why;
  ASSERT_TRUE(WaitFor([&] { return QuarantinedIds(cn) == after; }))
      << kz.node().LogText() << cn.node().LogText();
  EXPECT_EQ(QuarantinedIds(cn, "compromised_key"), after);
  EXPECT_FALSE(cn.Lookup("10.14.0.1").is_null());
  auto applied = AuditOf(cn, "compromise-notice");
  ASSERT_EQ(applied.size(), 1u);
  EXPECT_NE(applied[0].dump().find("\"result\":\"quarantine\""), std::string::npos)
      << applied[0].dump();
  EXPECT_EQ(AuditOf(cn, "identity-key-accept").size(), 1u);
}

// Quarantine on arrival: CN declared UZ's key compromised since T; a record
// UZ makes afterwards reaches CN relayed by TJ (which knows nothing of the
// compromise). CN stores it quarantined with the compromise, not as
// normal; UZ's record from before T stays usable.
TEST_F(MemberCompromiseTest, ARecordOfACompromisedKeyRelayedLaterIsQuarantinedOnArrival) {
  FedNode& uz = Make("CERT-UZ", "UZ");
  FedNode& tj = Make("CERT-TJ", "TJ");
  FedNode& cn = Make("CERT-CN", "CN");
  uz.ShareWith("TJ", "amber", "reshare = \"federation\"\n");
  tj.ShareWithAll("amber", "reshare = \"federation\"\n");
  ASSERT_NO_FATAL_FAILURE(StartAll());
  Connect(uz, tj);
  Connect(tj, cn);
  AddPeer(cn, uz, /*dial=*/false);

  const std::string early = Submit(uz, {"ipv4", "10.11.0.1", "--reshare", "federation"});
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  const std::string later = Submit(uz, {"ipv4", "10.12.0.1", "--reshare", "federation"});
  ASSERT_NO_FATAL_FAILURE(WaitSettled(uz, tj));
  ASSERT_NO_FATAL_FAILURE(WaitSettled(tj, cn));
  const std::string t = cn.Lookup("10.12.0.1")["created"].get<std::string>();
  json declared = cn.CliJson({"peers", "compromised", "CERT-UZ", "--since", t});
  EXPECT_EQ(declared["quarantined"], 1) << declared.dump();

  // Made after the declaration, relayed by TJ.
  const std::string arriving =
      Submit(uz, {"ipv4", "10.13.0.1", "--reshare", "federation"});
  ASSERT_NO_FATAL_FAILURE(WaitSettled(uz, tj));
  ASSERT_NO_FATAL_FAILURE(WaitSettled(tj, cn));
  const std::set<std::string> expected = {later, arriving};
  EXPECT_EQ(QuarantinedIds(cn, "compromised_key"), expected) << cn.node().LogText();
  EXPECT_TRUE(cn.Lookup("10.13.0.1").is_null());  // query leaves quarantine out
  EXPECT_FALSE(cn.Lookup("10.11.0.1").is_null());
  EXPECT_TRUE(QuarantinedIds(tj).empty());
  EXPECT_TRUE(cn.AuditVerifies());
}

TEST_F(MemberCompromiseTest, DeclarationRefusesAFutureTimeAndAnUnknownMember) {
  FedNode& kz = Make("CERT-KZ", "KZ");
  ASSERT_NO_FATAL_FAILURE(StartAll());
  CommandResult unknown =
      kz.Cli({"peers", "compromised", "CERT-XX", "--since", "2h"});
  EXPECT_EQ(unknown.exit_code, 3) << unknown.err;
  CommandResult future = kz.Cli(
      {"peers", "compromised", "CERT-XX", "--since", "2099-01-01T00:00:00Z"});
  EXPECT_EQ(future.exit_code, 4) << future.err;
  EXPECT_NE(future.err.find("future"), std::string::npos) << future.err;
  CommandResult missing = kz.Cli({"peers", "compromised", "CERT-XX"});
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  EXPECT_TRUE(AuditOf(kz, "peer-compromised").empty());
}

}  // namespace
}  // namespace caravan::integration
