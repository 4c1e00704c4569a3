// Compromise notices through a hub (issue 16 and issue 20,
// docs/federation.md "Compromise notices through a hub"): A and C reach
// each other only through hub H; A relays the records of TJ and KG (direct
// peers of A) to C. A declares a key compromised; C gets A's signed notice
// sealed in A's chain to it and applies it exactly as over a direct link
// (act_on_compromise_notices = "quarantine": exactly the records since T
// quarantined). A's stored notice for C is deleted on C's end-to-end
// receipt, not when the hub queued it: with C down, the row survives A's
// restart, and the notice is applied once when C comes back.
// Every wait is a bounded poll on a condition.
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

std::set<std::string> QuarantinedIds(const FedNode& n) {
  std::set<std::string> out;
  json q = n.CliJson({"quarantine", "list"});
  if (!q.contains("indicators")) return out;
  for (const auto& i : q["indicators"]) {
    if (i.value("quarantine_reason", "") == "compromised_key") {
      out.insert(i.value("id", ""));
    }
  }
  return out;
}

// C's `compromise-notice` audit entries about member `subject`.
std::vector<json> NoticesAbout(const FedNode& n, const std::string& subject) {
  std::vector<json> out;
  for (const auto& e : n.Audit()) {
    if (e.value("action", "") == "compromise-notice" &&
        e.value("subject", "") == subject) {
      out.push_back(e);
    }
  }
  return out;
}

void Route(const FedNode& member, const FedNode& hub, const FedNode& other) {
  AddPeer(member, hub);
  CommandResult r = member.Cli({"peers", "add", other.name(), "--country",
                                other.country(), "--key", other.key(), "--via",
                                hub.name()});
  ASSERT_EQ(r.exit_code, 0) << member.name() << ": " << r.Describe();
}

class HubCompromiseTest : public FederationFixture {
 protected:
  // Submits one record at `origin` before T and `n` after it (T: the
  // creation time of the first later one, returned).
  std::string BeforeAndAfter(FedNode& origin, const std::string& net,
                             std::set<std::string>& after) {
    Submit(origin, {"ipv4", net + ".0.1", "--reshare", "federation"});
    // created has one-second resolution.
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    for (const char* host : {".1.1", ".1.2"}) {
      after.insert(Submit(origin, {"ipv4", net + host, "--reshare",
                                   "federation"}));
    }
    return origin.Lookup(net + ".1.1")["created"].get<std::string>();
  }
  std::string Logs(std::initializer_list<const FedNode*> nodes) {
    std::string out;
    for (const FedNode* n : nodes) {
      out += n->name() + " log:\n" + n->node().LogText() + "\n";
    }
    return out;
  }
};

TEST_F(HubCompromiseTest, NoticeThroughTheHubIsAppliedAndForgottenOnlyOnCsReceipt) {
  FedNode& a = Make("CERT-A", "KZ");
  FedNode& h = Make("HUB", "DE");
  FedNode& c = Make("CERT-C", "UZ");
  FedNode& tj = Make("CERT-TJ", "TJ");
  FedNode& kg = Make("CERT-KG", "KG");
  ASSERT_TRUE(EnableHubIn(h));
  ASSERT_NO_FATAL_FAILURE(ActOnNotices(c, "quarantine"));
  tj.ShareWith("KZ", "amber", "reshare = \"federation\"\n");
  kg.ShareWith("KZ", "amber", "reshare = \"federation\"\n");
  a.ShareWith("UZ", "amber", "reshare = \"federation\"\n");
  ASSERT_NO_FATAL_FAILURE(StartAll());
  AddPeer(h, a, /*dial=*/false);
  AddPeer(h, c, /*dial=*/false);
  ASSERT_NO_FATAL_FAILURE(Route(a, h, c));
  ASSERT_NO_FATAL_FAILURE(Route(c, h, a));
  Connect(tj, a);
  Connect(kg, a);
  // C knows the origins' keys (relayed records verify) but links neither.
  AddPeer(c, tj, /*dial=*/false);
  AddPeer(c, kg, /*dial=*/false);

  std::set<std::string> tj_after, kg_after;
  const std::string t_tj = BeforeAndAfter(tj, "10.30", tj_after);
  const std::string t_kg = BeforeAndAfter(kg, "10.31", kg_after);
  ASSERT_TRUE(WaitFor([&] {
    return !c.Lookup("10.30.1.2").is_null() && !c.Lookup("10.31.1.2").is_null();
  })) << Logs({&a, &h, &c});
  // The deliveries to C are recorded on C's receipt: wait for them, the
  // declaration notifies the peers that got the records.
  ASSERT_TRUE(WaitFor([&] {
    json p = ListedPeer(a, c.name());
    return !p.is_null() && p.value("awaiting_receipt", -1) == 0;
  })) << ListedPeer(a, c.name()).dump();

  // 1. C is up: the notice goes sealed through H at once.
  json declared = a.CliJson({"peers", "compromised", tj.name(), "--since", t_tj});
  EXPECT_EQ(declared["notified"], json::array({c.name()})) << declared.dump();
  ASSERT_TRUE(WaitFor([&] { return QuarantinedIds(c) == tj_after; }))
      << Logs({&a, &h, &c});
  EXPECT_FALSE(c.Lookup("10.30.0.1").is_null());  // before T: usable
  auto applied = NoticesAbout(c, tj.name());
  ASSERT_EQ(applied.size(), 1u);
  EXPECT_NE(applied[0].dump().find("\"result\":\"quarantine\""), std::string::npos)
      << applied[0].dump();
  EXPECT_NE(applied[0].dump().find("\"via\":\"HUB\""), std::string::npos)
      << applied[0].dump();
  EXPECT_EQ(applied[0].value("actor", ""), "peer:" + a.name());
  // Forgotten at A on C's receipt.
  ASSERT_TRUE(WaitFor([&] { return PendingNoticeRows(a) == 0; }))
      << Logs({&a, &c});
  EXPECT_NE(a.node().LogText().find("compromise notices to CERT-C receipted by "
                                    "it via HUB: 1"),
            std::string::npos);

  // 2. C is down: the hub queues the notice, A keeps its row (the hub's
  // word is not C's), and keeps it across its own restart.
  ASSERT_EQ(c.Stop(), 0);
  declared = a.CliJson({"peers", "compromised", kg.name(), "--since", t_kg});
  EXPECT_EQ(declared["notified"], json::array({c.name()})) << declared.dump();
  ASSERT_TRUE(WaitFor([&] {
    json p = ListedPeer(a, c.name());
    return !p.is_null() && p.value("queued_at_hub", 0) >= 1;
  })) << ListedPeer(a, c.name()).dump() << Logs({&a, &h});
  EXPECT_EQ(PendingNoticeRows(a), 1);
  ASSERT_EQ(a.Stop(), 0);
  EXPECT_EQ(PendingNoticeRows(a), 1);
  std::string why;
  ASSERT_TRUE(a.Start(&why)) << why;
  ASSERT_TRUE(c.Start(&why)) << why;
  ASSERT_TRUE(WaitFor([&] { return QuarantinedIds(c).size() == 4; }))
      << Logs({&a, &h, &c});
  std::set<std::string> both = tj_after;
  both.insert(kg_after.begin(), kg_after.end());
  EXPECT_EQ(QuarantinedIds(c), both);
  EXPECT_FALSE(c.Lookup("10.31.0.1").is_null());
  ASSERT_TRUE(WaitFor([&] { return PendingNoticeRows(a) == 0; }))
      << Logs({&a, &c});
  // Applied once: the batch A sealed before its restart carried it (kept
  // with its outbox row), and A sent no second copy.
  auto kg_notices = NoticesAbout(c, kg.name());
  ASSERT_EQ(kg_notices.size(), 1u);
  EXPECT_NE(kg_notices[0].dump().find("\"result\":\"quarantine\""),
            std::string::npos);
  EXPECT_EQ(NoticesAbout(c, tj.name()).size(), 1u);
  // The hub relayed sealed bytes only: it never learned of a compromise.
  EXPECT_EQ(NoticesAbout(h, tj.name()).size(), 0u);
  EXPECT_EQ(NoticesAbout(h, kg.name()).size(), 0u);
  for (FedNode* n : {&a, &h, &c}) EXPECT_TRUE(n->AuditVerifies()) << n->name();
}

}  // namespace
}  // namespace caravan::integration
