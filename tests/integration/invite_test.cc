// Onboarding like `wg`: `caravan key show --invite` at one node prints the
// line the other node runs; after it, both show the same fingerprint for
// the first node, and the two link.

#include <gtest/gtest.h>

#include <sstream>

#include "tests/integration/federation_fixture.h"

namespace caravan::integration {
namespace {

class InviteTest : public FederationFixture {};

// The words of the `caravan peers add` line of an invite (its words need
// no quotes: names, countries, key text and endpoints are plain).
std::vector<std::string> PeersAddArgs(const std::string& invite) {
  std::istringstream lines(invite);
  std::string line;
  std::vector<std::string> args;
  while (std::getline(lines, line)) {
    if (line.rfind("caravan peers add ", 0) != 0) continue;
    std::istringstream words(line.substr(8));  // after "caravan "
    for (std::string w; words >> w;) args.push_back(w);
  }
  return args;
}

TEST_F(InviteTest, TheOtherSideRunsTheLineAndSeesTheSameFingerprint) {
  FedNode& uz = Make("CERT-UZ", "UZ");
  FedNode& kz = Make("CERT-KZ", "KZ");
  uz.ShareWith("KZ", "green");
  kz.ShareWith("UZ", "green");
  ASSERT_NO_FATAL_FAILURE(StartAll());

  CommandResult invite = uz.Cli({"key", "show", "--invite"});
  ASSERT_EQ(invite.exit_code, 0) << invite.Describe();
  const nlohmann::json key = uz.CliJson({"key", "show"});
  const std::string fingerprint = key["fingerprint"].get<std::string>();
  EXPECT_NE(invite.out.find("fingerprint " + fingerprint), std::string::npos)
      << invite.out;
  const auto args = PeersAddArgs(invite.out);
  ASSERT_EQ(args, (std::vector<std::string>{
                      "peers", "add", "CERT-UZ", "--country", "UZ", "--key",
                      uz.key(), "--endpoint", uz.endpoint()}))
      << invite.out;

  // KZ pastes it; UZ adds KZ the usual way (without dialing: KZ dials).
  CommandResult added = kz.Cli(args);
  ASSERT_EQ(added.exit_code, 0) << added.Describe();
  AddPeer(uz, kz, /*dial=*/false);
  nlohmann::json listed = nullptr;
  const nlohmann::json peers = kz.CliJson({"peers", "list"});
  for (const auto& p : peers["peers"]) {
    if (p["name"] == "CERT-UZ") listed = p;
  }
  ASSERT_FALSE(listed.is_null()) << peers.dump();
  EXPECT_EQ(listed["fingerprint"], fingerprint);
  CommandResult table = kz.Cli({"peers", "list"});
  EXPECT_NE(table.out.find(fingerprint), std::string::npos) << table.out;

  Submit(uz, {"domain", "invited.example", "--tlp", "green"});
  EXPECT_TRUE(WaitFor([&] { return !kz.Lookup("invited.example").is_null(); }))
      << kz.node().LogText();
}

}  // namespace
}  // namespace caravan::integration
