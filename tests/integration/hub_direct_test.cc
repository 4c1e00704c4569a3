// A member reached through a hub that also has a direct link (issue 20,
// docs/federation.md "A hub and a direct link at once"): A's roster routes
// C via hub H, C's roster names A with an endpoint, so C dials A directly
// while A also seals to C through H (and C refuses those: its roster says
// A is direct). What must hold: every record reaches C exactly once, the
// sealed batches A made while C was down are settled by C's direct
// acknowledgement (awaiting_receipt drains to 0 instead of A sending them
// again forever), and A audits one `share` per record, not one per path.
// Every wait is a bounded poll on a condition.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/integration/federation_fixture.h"
#include "tests/integration/hub_helpers.h"

namespace caravan::integration {
namespace {

using json = nlohmann::json;

// `share` entries at `n` for `peer`: how many name each indicator id.
std::map<std::string, int> SharesPerIndicator(const FedNode& n,
                                              const std::string& peer) {
  std::map<std::string, int> out;
  for (const auto& e : n.Audit(10000, peer)) {
    if (e.value("action", "") != "share") continue;
    const json d = e.value("detail", json::object());
    for (const auto& r : d.value("records", json::array())) {
      ++out[r.value("id", "")];
    }
  }
  return out;
}

// C's audit entries with `action`.
size_t Entries(const FedNode& n, const std::string& action) {
  size_t k = 0;
  for (const auto& e : n.Audit()) k += e.value("action", "") == action;
  return k;
}

class HubDirectTest : public FederationFixture {};

TEST_F(HubDirectTest, RecordsArriveOnceAndSealedBatchesAreReceipted) {
  FedNode& a = Make("CERT-A", "KZ");
  FedNode& h = Make("HUB", "DE");
  FedNode& c = Make("CERT-C", "UZ");
  ASSERT_TRUE(EnableHubIn(h));
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
  auto drained = [&] {
    json p = ListedPeer(a, c.name());
    return !p.is_null() && p.value("awaiting_receipt", -1) == 0 &&
           p.value("delivered_seq", int64_t{-1}) >= a.LogSeq();
  };
  ASSERT_TRUE(WaitFor(drained)) << ListedPeer(a, c.name()).dump()
                                << a.node().LogText();

  // C goes down; A seals its next records to C through H (queued there).
  ASSERT_EQ(c.Stop(), 0);
  for (int i = 5; i < 8; ++i) {
    Submit(a, {"domain", "d" + std::to_string(i) + ".hub-direct-9b1e.example"});
  }
  ASSERT_TRUE(WaitFor([&] {
    json p = ListedPeer(a, c.name());
    return !p.is_null() && p.value("queued_at_hub", 0) >= 1;
  })) << ListedPeer(a, c.name()).dump() << a.node().LogText();
  // C comes back on both paths: the direct link and the hub's queue.
  std::string why;
  ASSERT_TRUE(c.Start(&why)) << why;
  ASSERT_TRUE(WaitFor([&] { return c.Count() == 8; }))
      << a.node().LogText() << c.node().LogText();
  ASSERT_TRUE(WaitFor(drained)) << ListedPeer(a, c.name()).dump()
                                << a.node().LogText() << c.node().LogText();
  // The three records C missed came on the direct link; C refuses A's
  // sealed batches (its roster routes A directly), and A settled them by
  // C's direct acknowledgement instead of sending them again forever.
  EXPECT_EQ(Entries(c, "sealed_receive"), 0u);
  EXPECT_NE(a.node().LogText().find("settled by its direct link"),
            std::string::npos)
      << a.node().LogText();
  EXPECT_EQ(c.Values().size(), 8u);  // stored once each
  const auto shares = SharesPerIndicator(a, c.name());
  EXPECT_EQ(shares.size(), 8u);
  for (const auto& [id, n] : shares) EXPECT_EQ(n, 1) << id;
  for (FedNode* n : {&a, &h, &c}) EXPECT_TRUE(n->AuditVerifies()) << n->name();
}

}  // namespace
}  // namespace caravan::integration
