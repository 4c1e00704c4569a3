// Hub mode configuration: roster `via` and the [hub] table.
#include <gtest/gtest.h>
#include <sodium.h>

#include <array>
#include <string>

#include "protocol/config/node_config.h"
#include "protocol/config/roster_file.h"

namespace caravan::protocol {
namespace {

// A valid Ed25519 key from a seed filled with `b` (the roster loader
// refuses keys that are not points of the prime-order subgroup).
PublicKey Key(uint8_t b) {
  EXPECT_GE(sodium_init(), 0);
  std::array<uint8_t, crypto_sign_SEEDBYTES> seed;
  seed.fill(b);
  std::array<uint8_t, crypto_sign_SECRETKEYBYTES> secret;
  PublicKey k{};
  crypto_sign_seed_keypair(k.data(), secret.data(), seed.data());
  return k;
}

std::string Member(const std::string& name, uint8_t key,
                   const std::string& extra) {
  return "[[member]]\nname = \"" + name + "\"\ncountry = \"KZ\"\nkey = \"" +
         PublicKeyToText(Key(key)) + "\"\n" + extra + "\n";
}

TEST(HubRosterTest, ViaIsParsedRenderedAndReadBack) {
  auto r = ParseRoster(Member("HUB", 1, "endpoint = \"127.0.0.1:7420\"") +
                           Member("C", 2, "via = \"HUB\""),
                       "roster.toml");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].via, "");
  EXPECT_EQ((*r)[1].via, "HUB");
  EXPECT_FALSE((*r)[1].endpoint.has_value());
  auto back = ParseRoster(RenderRoster(*r), "roster.toml");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, *r);
}

TEST(HubRosterTest, BadViaIsRefusedWithFileAndLine) {
  auto both = ParseRoster(
      Member("HUB", 1, "") +
          Member("C", 2, "endpoint = \"127.0.0.1:1\"\nvia = \"HUB\""),
      "roster.toml");
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.status().message().find("roster.toml:11: [[member]] via: a "
                                         "member reached through a hub has "
                                         "no endpoint"),
            std::string::npos)
      << both.status().message();
  auto unknown = ParseRoster(Member("C", 2, "via = \"NOPE\""), "roster.toml");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("no member named 'NOPE'"),
            std::string::npos);
  auto self = ParseRoster(Member("C", 2, "via = \"C\""), "roster.toml");
  ASSERT_FALSE(self.ok());
  EXPECT_NE(self.status().message().find("cannot be its own hub"),
            std::string::npos);
  auto chain = ParseRoster(Member("H1", 1, "via = \"H2\"") +
                               Member("H2", 2, "") +
                               Member("C", 3, "via = \"H1\""),
                           "roster.toml");
  ASSERT_FALSE(chain.ok());
  EXPECT_NE(chain.status().message().find("is itself reached through a hub"),
            std::string::npos);
}

constexpr char kMinimal[] = "[node]\nname = \"HUB\"\ncountry = \"DE\"\n";

TEST(HubConfigTest, HubTableDefaultsParseAndRender) {
  auto off = ParseNodeConfig(kMinimal, "/etc/caravan/caravand.toml");
  ASSERT_TRUE(off.ok()) << off.status().message();
  EXPECT_FALSE(off->hub.enabled);
  EXPECT_EQ(off->hub.max_queued_per_sender, 10000u);
  EXPECT_EQ(off->hub.resend_after, std::chrono::seconds(60));
  auto on = ParseNodeConfig(std::string(kMinimal) +
                                "[hub]\nenabled = true\nmax_envelope_bytes = "
                                "65536\nmax_queued_per_sender = 3\n"
                                "resend_after = \"2m30s\"\n",
                            "/etc/caravan/caravand.toml");
  ASSERT_TRUE(on.ok()) << on.status().message();
  EXPECT_TRUE(on->hub.enabled);
  EXPECT_EQ(on->hub.max_envelope_bytes, 65536u);
  EXPECT_EQ(on->hub.max_queued_per_sender, 3u);
  EXPECT_EQ(on->hub.resend_after, std::chrono::seconds(150));
  auto back = ParseNodeConfig(RenderNodeConfig(*on),
                              "/etc/caravan/caravand.toml");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->hub, on->hub);
}

TEST(HubConfigTest, BadHubValuesAreRefusedWithLines) {
  auto bad = ParseNodeConfig(std::string(kMinimal) +
                                 "[hub]\nenabled = \"yes\"\n"
                                 "max_queued_per_sender = 0\nsurprise = 1\n",
                             "caravand.toml");
  ASSERT_FALSE(bad.ok());
  const std::string& m = bad.status().message();
  EXPECT_NE(m.find("caravand.toml:5: [hub] enabled: must be true or false"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("caravand.toml:6: [hub] max_queued_per_sender: 0 is out "
                   "of range"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("unknown key 'surprise' in [hub]"), std::string::npos) << m;
  for (const char* resend : {"0s", "2d", "soon"}) {
    auto r = ParseNodeConfig(std::string(kMinimal) + "[hub]\nresend_after = \"" +
                                 resend + "\"\n",
                             "caravand.toml");
    ASSERT_FALSE(r.ok()) << resend;
    EXPECT_NE(r.status().message().find("[hub] resend_after"),
              std::string::npos)
        << r.status().message();
  }
}

TEST(HubConfigTest, PrekeyPeriodsHaveSafeDefaultsRangesAndRoundTrip) {
  auto defaults = ParseNodeConfig(kMinimal, "caravand.toml");
  ASSERT_TRUE(defaults.ok()) << defaults.status().message();
  EXPECT_EQ(defaults->hub.prekey_rotate, std::chrono::hours(24));
  EXPECT_EQ(defaults->hub.prekey_grace, std::chrono::hours(48));
  auto set = ParseNodeConfig(std::string(kMinimal) +
                                 "[hub]\nprekey_rotate = \"6h\"\n"
                                 "prekey_grace = \"1d12h\"\n",
                             "/etc/caravan/caravand.toml");
  ASSERT_TRUE(set.ok()) << set.status().message();
  EXPECT_EQ(set->hub.prekey_rotate, std::chrono::hours(6));
  EXPECT_EQ(set->hub.prekey_grace, std::chrono::hours(36));
  auto back = ParseNodeConfig(RenderNodeConfig(*set),
                              "/etc/caravan/caravand.toml");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->hub, set->hub);
  for (const char* key : {"prekey_rotate", "prekey_grace"}) {
    for (const char* value : {"0s", "31d", "soon"}) {
      auto r = ParseNodeConfig(std::string(kMinimal) + "[hub]\n" + key +
                                   " = \"" + value + "\"\n",
                               "caravand.toml");
      ASSERT_FALSE(r.ok()) << key << " = " << value;
      EXPECT_NE(r.status().message().find(std::string("[hub] ") + key),
                std::string::npos)
          << r.status().message();
    }
  }
  // Hub delay alert: 5 min by default, 1s..7d, rendered and read back.
  EXPECT_EQ(defaults->hub.delay_alert, std::chrono::minutes(5));
  EXPECT_NE(RenderNodeConfig(*defaults).find("delay_alert = \"5m\""),
            std::string::npos);
  auto alert = ParseNodeConfig(std::string(kMinimal) +
                                   "[hub]\ndelay_alert = \"90s\"\n",
                               "caravand.toml");
  ASSERT_TRUE(alert.ok()) << alert.status().message();
  EXPECT_EQ(alert->hub.delay_alert, std::chrono::seconds(90));
  auto alert_back =
      ParseNodeConfig(RenderNodeConfig(*alert), "caravand.toml");
  ASSERT_TRUE(alert_back.ok()) << alert_back.status().message();
  EXPECT_EQ(alert_back->hub.delay_alert, std::chrono::seconds(90));
  for (const char* value : {"0s", "8d", "later"}) {
    auto r = ParseNodeConfig(std::string(kMinimal) +
                                 "[hub]\ndelay_alert = \"" + value + "\"\n",
                             "caravand.toml");
    ASSERT_FALSE(r.ok()) << "delay_alert = " << value;
    EXPECT_NE(r.status().message().find("[hub] delay_alert"),
              std::string::npos)
        << r.status().message();
  }
  // A grace shorter than the resend timer could meet an erased prekey.
  auto short_grace = ParseNodeConfig(std::string(kMinimal) +
                                         "[hub]\nresend_after = \"10m\"\n"
                                         "prekey_grace = \"5m\"\n",
                                     "caravand.toml");
  ASSERT_FALSE(short_grace.ok());
  EXPECT_NE(short_grace.status().message().find("shorter than resend_after"),
            std::string::npos)
      << short_grace.status().message();
}

}  // namespace
}  // namespace caravan::protocol
