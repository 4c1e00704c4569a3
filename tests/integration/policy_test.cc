// Policy commands against a real node: check, explain, reload (good and
// broken sets; a broken set is refused whole and the running set stays).
#include <gtest/gtest.h>

#include "tests/integration/harness.h"
#include "tests/integration/node_fixture.h"

namespace caravan::integration {
namespace {

namespace fs = std::filesystem;

const char kKzPolicy[] =
    "applies_to = [\"KZ\"]\n"
    "\n"
    "[outbound]\n"
    "share = true\n"
    "max_tlp = \"amber\"\n"
    "min_confidence = 50\n";

TEST(PolicyCheckTest, GoodAndBrokenDirectories) {
  TestNode node;  // the daemon is not needed for check
  ASSERT_EQ(node.init_result().exit_code, 0);
  const fs::path dir = node.dir() / "policies";
  CommandResult good = node.Cli({"policy", "check", dir.string()});
  EXPECT_EQ(good.exit_code, 0) << good.Describe();
  EXPECT_NE(good.out.find("ok"), std::string::npos) << good.out;

  WriteFile(dir / "kz.toml", kKzPolicy);
  EXPECT_EQ(node.Cli({"policy", "check", dir.string()}).exit_code, 0);

  // Line 5 names a TLP that does not exist; line 7 an unknown key.
  WriteFile(dir / "kz.toml",
            "applies_to = [\"KZ\"]\n"
            "\n"
            "[outbound]\n"
            "share = true\n"
            "max_tlp = \"orange\"\n"
            "min_confidence = 50\n"
            "colour = \"red\"\n");
  CommandResult broken = node.Cli({"policy", "check", dir.string()});
  EXPECT_EQ(broken.exit_code, 4) << broken.Describe();
  EXPECT_NE(broken.err.find("kz.toml:5"), std::string::npos) << broken.err;
  EXPECT_NE(broken.err.find("kz.toml:7"), std::string::npos) << broken.err;

  CommandResult json = node.Cli({"policy", "check", dir.string(), "--json"});
  EXPECT_EQ(json.exit_code, 4);
  auto doc = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << json.out;
  EXPECT_EQ(doc["ok"], false);
  EXPECT_GE(doc["errors"].size(), 2u);

  // Two group files claiming one country with no country file.
  fs::remove(dir / "kz.toml");
  WriteFile(dir / "groups.toml",
            "[groups]\nsteppe = [\"KZ\", \"KG\"]\nlakes = [\"KG\"]\n");
  WriteFile(dir / "steppe.toml",
            "applies_to = [\"steppe\"]\n[outbound]\nshare = true\n");
  WriteFile(dir / "lakes.toml",
            "applies_to = [\"lakes\"]\n[outbound]\nshare = false\n");
  CommandResult clash = node.Cli({"policy", "check", dir.string()});
  EXPECT_EQ(clash.exit_code, 4) << clash.Describe();
  EXPECT_NE(clash.err.find("KG"), std::string::npos) << clash.err;

  CommandResult missing =
      node.Cli({"policy", "check", (node.root() / "nowhere").string()});
  EXPECT_NE(missing.exit_code, 0) << missing.Describe();
}

using PolicyTest = RunningNodeTest;

TEST_F(PolicyTest, ExplainOnTheDefaultSetWithholds) {
  auto doc = node_->CliJson(
      {"policy", "explain", "--to", "KZ", "ipv4", "1.2.3.4"});
  ASSERT_FALSE(doc.is_null());
  EXPECT_EQ(doc["decision"], "withhold");
  EXPECT_EQ(doc["rule"]["file"], "default.toml");
  EXPECT_EQ(doc["rule"]["key"], "outbound.share");
  EXPECT_TRUE(doc["reason"].is_string());
  EXPECT_FALSE(doc["reason"].get<std::string>().empty());
  EXPECT_EQ(doc["country"], "KZ");

  CommandResult text =
      node_->Cli({"policy", "explain", "--to", "KZ", "ipv4", "1.2.3[.]4"});
  ASSERT_EQ(text.exit_code, 0) << text.Describe();
  EXPECT_EQ(text.out.rfind("withhold\n", 0), 0u) << text.out;
  EXPECT_NE(text.out.find("default.toml"), std::string::npos) << text.out;

  auto inbound = node_->CliJson(
      {"policy", "explain", "--from", "KZ", "domain", "evil.example"});
  EXPECT_EQ(inbound["decision"], "accept");

  CommandResult both = node_->Cli({"policy", "explain", "--to", "KZ",
                                   "--from", "KG", "ipv4", "1.2.3.4"});
  EXPECT_EQ(both.exit_code, 2) << both.Describe();
  CommandResult bad_country =
      node_->Cli({"policy", "explain", "--to", "kz", "ipv4", "1.2.3.4"});
  EXPECT_EQ(bad_country.exit_code, 4) << bad_country.Describe();
  CommandResult bad_value =
      node_->Cli({"policy", "explain", "--to", "KZ", "ipv4", "1.2.3"});
  EXPECT_EQ(bad_value.exit_code, 4) << bad_value.Describe();
}

TEST_F(PolicyTest, ReloadAppliesGoodSetsAndRefusesBrokenOnesWhole) {
  const fs::path dir = node_->dir() / "policies";
  WriteFile(dir / "kz.toml", kKzPolicy);
  CommandResult reload = node_->Cli({"policy", "reload"});
  ASSERT_EQ(reload.exit_code, 0) << reload.Describe();

  auto shared = node_->CliJson({"policy", "explain", "--to", "KZ", "ipv4",
                                "1.2.3.4", "--tlp", "green",
                                "--confidence", "80"});
  EXPECT_EQ(shared["decision"], "share") << shared.dump();
  EXPECT_EQ(shared["rule"]["file"], "kz.toml");
  auto too_red = node_->CliJson({"policy", "explain", "--to", "KZ", "ipv4",
                                 "1.2.3.4", "--tlp", "red"});
  EXPECT_EQ(too_red["decision"], "withhold");
  auto low = node_->CliJson({"policy", "explain", "--to", "KZ", "ipv4",
                             "1.2.3.4", "--tlp", "green", "--confidence",
                             "10"});
  EXPECT_EQ(low["decision"], "withhold");
  EXPECT_EQ(low["rule"]["key"], "outbound.min_confidence");
  auto other = node_->CliJson(
      {"policy", "explain", "--to", "KG", "ipv4", "1.2.3.4"});
  EXPECT_EQ(other["rule"]["file"], "default.toml");

  // Break kz.toml and add a good file: the whole set is refused.
  WriteFile(dir / "kz.toml", std::string(kKzPolicy) + "share_more = true\n");
  WriteFile(dir / "kg.toml",
            "applies_to = [\"KG\"]\n[outbound]\nshare = true\n");
  CommandResult refused = node_->Cli({"policy", "reload"});
  EXPECT_EQ(refused.exit_code, 4) << refused.Describe();
  EXPECT_NE(refused.err.find("kz.toml:7"), std::string::npos) << refused.err;

  auto status = node_->CliJson({"status"});
  ASSERT_FALSE(status.is_null());
  EXPECT_NE(status["policy"]["state"].get<std::string>().find("loaded"),
            std::string::npos);
  ASSERT_TRUE(status["policy"]["last_error"].is_string())
      << status["policy"].dump();
  EXPECT_NE(status["policy"]["last_error"].get<std::string>().find("kz.toml"),
            std::string::npos);

  // The running set is the old one: KZ still shares under kz.toml, KG
  // still falls to default.toml (kg.toml was not applied).
  auto still = node_->CliJson({"policy", "explain", "--to", "KZ", "ipv4",
                               "1.2.3.4", "--tlp", "green", "--confidence",
                               "80"});
  EXPECT_EQ(still["decision"], "share");
  EXPECT_EQ(still["rule"]["file"], "kz.toml");
  auto kg = node_->CliJson(
      {"policy", "explain", "--to", "KG", "ipv4", "1.2.3.4"});
  EXPECT_EQ(kg["decision"], "withhold");
  EXPECT_EQ(kg["rule"]["file"], "default.toml");

  // Both attempts are in the audit log.
  auto audit = node_->CliJson({"audit"});
  bool loaded = false, refused_entry = false;
  for (const auto& e : audit["entries"]) {
    if (e["action"] == "policy-load" && e["actor"] == Actor()) loaded = true;
    if (e["action"] == "policy-refused" && e["actor"] == Actor()) {
      refused_entry = true;
    }
  }
  EXPECT_TRUE(loaded) << audit.dump();
  EXPECT_TRUE(refused_entry) << audit.dump();

  // Fixing the file and reloading clears the error.
  WriteFile(dir / "kz.toml", kKzPolicy);
  ASSERT_EQ(node_->Cli({"policy", "reload"}).exit_code, 0);
  auto fixed = node_->CliJson({"status"});
  EXPECT_TRUE(fixed["policy"]["last_error"].is_null());
  EXPECT_EQ(node_->CliJson({"policy", "explain", "--to", "KG", "ipv4",
                            "1.2.3.4"})["rule"]["file"],
            "kg.toml");
}

}  // namespace
}  // namespace caravan::integration
