// A member reached through a hub that also has a direct link (issue 20,
// docs/federation.md "Hub and direct link at once"): A's roster routes C
// via hub H, C's roster names A with an endpoint, so C dials A directly
// while A also seals to C through H. What must hold: every record reaches
// C exactly once (stored once, whichever path came first), A's sealed
// batches are receipted (awaiting_receipt drains to 0), and A audits one
// `share` per record and peer, not one per path.
// Every wait is a bounded poll on a condition.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/integration/federation_fixture.h"

namespace caravan::integration {
namespace {

using json = nlohmann::json;

json ListedPeer(const FedNode& n, const std::string& peer) {
  json doc = n.CliJson({"peers", "list"});
  if (!doc.contains("peers")) return nullptr;
  for (const auto& p : doc["peers"]) {
    if (p["name"] == peer) return p;
  }
  return nullptr;
}

void EnableHub(const FedNode& h) {
  const auto path = h.node().config();
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  std::string s = text.str();
  const auto at = s.find("enabled = false", s.find("[hub]"));
  ASSERT_NE(at, std::string::npos);
  s.replace(at, 15, "enabled = true");
  std::ofstream(path, std::ios::trunc) << s;
}

// `share` entries at `n` for `peer`, per subject (indicator id).
std::map<std::string, int> SharesPerIndicator(const FedNode& n,
                                              const std::string& peer) {
  std::map<std::string, int> out;
  for (const auto& e : n.Audit(10000, peer)) {
    if (e.value("action", "") != "share") continue;
    const json d = e.value("detail", json::object());
    if (d.contains("ids") && d["ids"].is_array()) {
      for (const auto& id : d["ids"]) ++out[id.get<std::string>()];
    } else {
      ++out[e.value("subject", "")];
    }
  }
  return out;
}

class HubDirectTest : public FederationFixture {};

TEST_F(HubDirectTest, RecordsArriveOnceAndSealedBatchesAreReceipted) {
  FedNode& a = Make("CERT-A", "KZ");
  FedNode& h = Make("HUB", "DE");
  FedNode& c = Make("CERT-C", "UZ");
  ASSERT_NO_FATAL_FAILURE(EnableHub(h));
  a.ShareWith("UZ", "amber");
  ASSERT_NO_FATAL_FAILURE(StartAll());
  AddPeer(h, a, /*dial=*/false);
  AddPeer(h, c, /*dial=*/false);
  AddPeer(a, h);
  ASSERT_EQ(a.Cli({"peers", "add", c.name(), "--country", c.country(), "--key",
                   c.key(), "--via", h.name()})
                .exit_code,
            0);
  AddPeer(c, h);
  AddPeer(c, a);  // C dials A directly

  for (int i = 0; i < 5; ++i) {
    Submit(a, {"domain", "d" + std::to_string(i) + ".hub-direct-9b1e.example"});
  }
  ASSERT_TRUE(WaitFor([&] { return c.Count() == 5; }))
      << a.node().LogText() << c.node().LogText();
  ASSERT_TRUE(WaitFor([&] {
    json p = ListedPeer(a, c.name());
    return !p.is_null() && p.value("awaiting_receipt", -1) == 0 &&
           p.value("delivered_seq", int64_t{-1}) >= a.LogSeq();
  })) << ListedPeer(a, c.name()).dump() << a.node().LogText();
  std::cerr << "A->C peer: " << ListedPeer(a, c.name()).dump() << "\n";
  std::cerr << "C->A peer: " << ListedPeer(c, a.name()).dump() << "\n";
  size_t sealed = 0, direct = 0;
  for (const auto& e : c.Audit()) {
    const std::string act = e.value("action", "");
    if (act == "sealed_receive" || act == "sealed_duplicate") ++sealed;
    if (act == "accept") ++direct;
    std::cerr << "C audit: " << e.dump() << "\n";
  }
  std::cerr << "C sealed entries " << sealed << ", accept entries " << direct << "\n";
  for (const auto& e : a.Audit(10000, c.name())) std::cerr << "A audit: " << e.dump() << "\n";
  EXPECT_EQ(c.Values().size(), 5u);
  for (const auto& [id, n] : SharesPerIndicator(a, c.name())) {
    EXPECT_EQ(n, 1) << id;
  }
}

}  // namespace
}  // namespace caravan::integration
