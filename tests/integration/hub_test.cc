// Hub mode end to end (docs/federation.md): three real caravand nodes on
// loopback, A and C linked only to the hub H. Records A's policy allows for
// C's country arrive at C sealed through H, verified with A as origin;
// records A withholds from C never leave; kill -9 of H in the middle of a
// transfer loses nothing; H's database never holds a plaintext value.
// Every wait is a bounded poll on a condition.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/integration/federation_fixture.h"

namespace caravan::integration {
namespace {

using nlohmann::json;

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void AppendFile(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::app);
  out << text;
}

std::string Member(const FedNode& n, const std::string& extra) {
  return "\n[[member]]\nname = \"" + n.name() + "\"\ncountry = \"" +
         n.country() + "\"\nkey = \"" + n.key() + "\"\n" + extra;
}

// A member's acknowledged point at `n` (through the hub for via members).
int64_t Acked(const FedNode& n, const std::string& peer) {
  json p = n.PeerState(peer);
  return p.is_null() ? -1 : p.value("acked_seq", int64_t{-1});
}

class HubTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (FedNode* n : {&a_, &h_, &c_}) {
      if (n->node().running()) {
        EXPECT_EQ(n->Stop(), 0) << n->name() << " log:\n"
                                << n->node().LogText();
      }
    }
  }

  std::string Logs() {
    return "A log:\n" + a_.node().LogText() + "\nH log:\n" +
           h_.node().LogText() + "\nC log:\n" + c_.node().LogText();
  }

  FedNode a_{"CERT-A", "KZ"};
  FedNode h_{"HUB", "DE"};
  FedNode c_{"CERT-C", "UZ"};
};

TEST_F(HubTest, SealedThroughTheHubArrivesVerifiedAndTheHubCannotRead) {
  ASSERT_TRUE(a_.ok() && h_.ok() && c_.ok()) << a_.why() << h_.why() << c_.why();
  {
    // `caravan init` writes [hub] with enabled = false: turn it on.
    std::string config = ReadAll(h_.node().config());
    const size_t table = config.find("[hub]");
    ASSERT_NE(table, std::string::npos) << config;
    const size_t key = config.find("enabled = false", table);
    ASSERT_NE(key, std::string::npos) << config;
    config.replace(key, 15, "enabled = true");
    std::ofstream(h_.node().config(), std::ios::trunc) << config;
  }
  for (FedNode* n : {&a_, &h_, &c_}) {
    std::string why;
    ASSERT_TRUE(n->Start(&why)) << why;
  }
  // A shares with UZ, except what is tagged internal; H's country (DE) gets
  // nothing in the clear (default deny).
  a_.WritePolicy("uz.toml",
                 "applies_to = [\"UZ\"]\n[outbound]\nshare = true\n"
                 "max_tlp = \"amber\"\nexclude_tags = [\"internal\"]\n");
  // Rosters: A and C reach each other only via HUB; the hub knows both.
  AppendFile(a_.node().dir() / "roster.toml",
             Member(h_, "endpoint = \"" + h_.endpoint() + "\"\n") +
                 Member(c_, "via = \"HUB\"\n"));
  AppendFile(c_.node().dir() / "roster.toml",
             Member(h_, "endpoint = \"" + h_.endpoint() + "\"\n") +
                 Member(a_, "via = \"HUB\"\n"));
  AddPeer(h_, a_, /*dial=*/false);
  AddPeer(h_, c_, /*dial=*/false);
  for (FedNode* n : {&a_, &c_}) {
    CommandResult r = n->Cli({"policy", "reload"});
    ASSERT_EQ(r.exit_code, 0) << n->name() << ": " << r.Describe();
  }

  const std::string shared = "hub-shared-7f3a9c.example";
  const std::string withheld = "hub-withheld-7f3a9c.example";
  ASSERT_EQ(a_.Cli({"submit", "domain", shared, "--tlp", "green"}).exit_code, 0);
  ASSERT_EQ(a_.Cli({"submit", "domain", withheld, "--tlp", "green", "--tag",
                    "internal"})
                .exit_code,
            0);
  ASSERT_TRUE(WaitFor([&] { return !c_.Lookup(shared).is_null(); }))
      << Logs();
  json got = c_.Lookup(shared);
  EXPECT_EQ(got["origin_name"], a_.name());
  EXPECT_EQ(got["received_from"], a_.name());
  EXPECT_EQ(got["verified"], true);
  // Everything A decided for C is acknowledged (by the hub), and the
  // withheld record is not at C.
  ASSERT_TRUE(WaitFor([&] { return Acked(a_, c_.name()) >= a_.LogSeq(); }))
      << a_.PeerState(c_.name()).dump() << Logs();
  EXPECT_TRUE(c_.Lookup(withheld).is_null());
  bool withhold_audited = false;
  for (const auto& e : a_.Audit(10000, c_.name())) {
    if (e["action"] == "withhold") withhold_audited = true;
  }
  EXPECT_TRUE(withhold_audited);
  bool via_audited = false;
  for (const auto& e : c_.Audit()) {
    if (e["action"] == "sealed_receive" &&
        e.dump().find("HUB") != std::string::npos) {
      via_audited = true;
    }
  }
  EXPECT_TRUE(via_audited);

  // kill -9 of the hub during a transfer, then restart: nothing lost.
  std::vector<std::string> bulk;
  for (int i = 0; i < 3000; ++i) {
    bulk.push_back("bulk" + std::to_string(i) + ".hub-7f3a9c.example");
  }
  const auto path = a_.node().root() / "bulk.txt";
  WriteLinesFile(path, bulk);
  ASSERT_EQ(a_.Cli({"submit", "--file", path.string(), "--type", "domain",
                    "--tlp", "green"})
                .exit_code,
            0);
  ASSERT_TRUE(WaitFor([&] { return c_.Count() > 2; })) << Logs();
  h_.Kill();
  std::string why;
  ASSERT_TRUE(h_.Start(&why)) << why;
  const int64_t expected = 1 + 3000;
  ASSERT_TRUE(WaitFor([&] { return c_.Count() == expected; }))
      << "C holds " << c_.Count() << Logs();
  ASSERT_TRUE(WaitFor([&] { return Acked(a_, c_.name()) >= a_.LogSeq(); }))
      << Logs();
  auto values = c_.Values();
  EXPECT_EQ(values.size(), static_cast<size_t>(expected));  // no doubles

  // The hub stored and forwarded, but holds no plaintext value.
  bool stored = false, forwarded = false;
  for (const auto& e : h_.Audit()) {
    if (e["action"] == "hub_store") stored = true;
    if (e["action"] == "hub_forward") forwarded = true;
  }
  EXPECT_TRUE(stored);
  EXPECT_TRUE(forwarded);
  ASSERT_EQ(h_.Stop(), 0);
  std::string bytes = ReadAll(h_.node().database());
  bytes += ReadAll(h_.node().database().string() + "-wal");
  EXPECT_GT(bytes.size(), 0u);
  EXPECT_EQ(bytes.find("7f3a9c"), std::string::npos)
      << "the hub's database holds a plaintext indicator value";
}

}  // namespace
}  // namespace caravan::integration
