// The [spool] table of caravand.toml (protocol/config/node_config.h): defaults,
// the keys the spool service reads, strict errors, and the rendered file
// reading back the same values.
#include <gtest/gtest.h>

#include <string>

#include "protocol/config/node_config.h"

namespace caravan::protocol {
namespace {

constexpr char kNode[] = "[node]\nname = \"CERT-UZ\"\ncountry = \"UZ\"\n";

Result<NodeConfig> Parse(const std::string& spool) {
  return ParseNodeConfig(std::string(kNode) + spool, "/etc/caravan/caravand.toml");
}

TEST(SpoolConfigTest, OffByDefaultWithDocumentedDefaults) {
  auto c = Parse("");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->spool.dir.empty());
  EXPECT_EQ(c->spool.max_file_bytes, 256ull * 1024 * 1024);
  EXPECT_EQ(c->spool.poll_interval, std::chrono::seconds(2));
  EXPECT_EQ(c->spool.settle_time, std::chrono::seconds(2));
}

TEST(SpoolConfigTest, SettleTimeIsReadBoundedAndMayBeOff) {
  auto c = Parse("[spool]\nsettle_time = \"10s\"\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->spool.settle_time, std::chrono::seconds(10));
  auto off = Parse("[spool]\nsettle_time = \"0s\"\n");
  ASSERT_TRUE(off.ok()) << off.status().message();
  EXPECT_EQ(off->spool.settle_time, std::chrono::seconds(0));
  auto lng = Parse("[spool]\nsettle_time = \"2h\"\n");
  ASSERT_FALSE(lng.ok());
  EXPECT_NE(lng.status().message().find("settle_time"), std::string::npos)
      << lng.status().message();
  EXPECT_NE(lng.status().message().find("longer than 1h"), std::string::npos)
      << lng.status().message();
  auto bad = Parse("[spool]\nsettle_time = 5\n");
  ASSERT_FALSE(bad.ok());
}

TEST(SpoolConfigTest, KeysAreRead) {
  auto c = Parse(
      "[spool]\ndir = \"spool\"\nmax_file_bytes = 1048576\n"
      "poll_interval = \"1m30s\"\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->spool.dir, "/etc/caravan/spool");  // relative to the file
  EXPECT_EQ(c->spool.max_file_bytes, 1048576u);
  EXPECT_EQ(c->spool.poll_interval, std::chrono::seconds(90));
}

TEST(SpoolConfigTest, BadValuesAreErrorsWithTheirLine) {
  auto c = Parse(
      "[spool]\ndir = \"spool\"\nmax_file_bytes = 10\n"
      "poll_interval = \"soon\"\ninotify = true\n");
  ASSERT_FALSE(c.ok());
  const std::string& m = c.status().message();
  EXPECT_NE(m.find("caravand.toml:6:"), std::string::npos) << m;
  EXPECT_NE(m.find("10 is out of range 1024..4294967296"), std::string::npos)
      << m;
  EXPECT_NE(m.find("caravand.toml:7:"), std::string::npos) << m;
  EXPECT_NE(m.find("inotify"), std::string::npos) << m;
  auto neg = Parse("[spool]\nmax_file_bytes = \"big\"\n");
  ASSERT_FALSE(neg.ok());
  EXPECT_NE(neg.status().message().find("must be an integer"),
            std::string::npos)
      << neg.status().message();
}

TEST(SpoolConfigTest, RenderedConfigReadsBackTheSameSpool) {
  auto c = Parse(
      "[spool]\ndir = \"/var/spool/caravan\"\nmax_file_bytes = 2048\n"
      "poll_interval = \"5s\"\nsettle_time = \"0s\"\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  const std::string text = RenderNodeConfig(*c);
  auto back = ParseNodeConfig(text, "/etc/caravan/caravand.toml");
  ASSERT_TRUE(back.ok()) << back.status().message() << "\n" << text;
  EXPECT_EQ(back->spool, c->spool);
  NodeConfig defaults;
  defaults.node.name = "CERT-UZ";
  defaults.node.country = "UZ";
  auto off = ParseNodeConfig(RenderNodeConfig(defaults), "/x/caravand.toml");
  ASSERT_TRUE(off.ok()) << off.status().message();
  EXPECT_TRUE(off->spool.dir.empty());
  EXPECT_EQ(off->spool.poll_interval, std::chrono::seconds(2));
}

}  // namespace
}  // namespace caravan::protocol
