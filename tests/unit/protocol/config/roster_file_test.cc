// Tests of the roster file (protocol/config/roster_file.h).

#include <gtest/gtest.h>
#include <sodium.h>

#include <array>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "protocol/config/node_config.h"
#include "protocol/config/roster_file.h"
#include "tests/unit/protocol/config/config_test_util.h"

namespace caravan {
namespace {

namespace fs = std::filesystem;
using config_test::ErrorOf;
using config_test::TempDir;
using protocol::HostPort;
using protocol::RosterMember;

// ---- roster ------------------------------------------------------------------

// A valid Ed25519 public key derived from a seed filled with `b` (the
// loader refuses keys that are not points of the prime-order subgroup).
protocol::PublicKey KeyFilledWith(uint8_t b) {
  EXPECT_GE(sodium_init(), 0);
  std::array<uint8_t, crypto_sign_SEEDBYTES> seed;
  seed.fill(b);
  std::array<uint8_t, crypto_sign_SECRETKEYBYTES> secret;
  protocol::PublicKey k;
  crypto_sign_seed_keypair(k.data(), secret.data(), seed.data());
  return k;
}

TEST(RosterTest, PublicKeyTextRoundTripAndErrors) {
  protocol::PublicKey key;
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i * 7 + 250);
  std::string text = protocol::PublicKeyToText(key);
  EXPECT_EQ(text.size(), 8u + 43u);
  EXPECT_EQ(text.substr(0, 8), "caravan:");
  EXPECT_EQ(text.find_first_of("+/="), std::string::npos);  // URL-safe
  Result<protocol::PublicKey> back = protocol::ParsePublicKeyText(text);
  ASSERT_TRUE(back.ok()) << ErrorOf(back);
  EXPECT_EQ(*back, key);

  EXPECT_FALSE(protocol::ParsePublicKeyText(text.substr(8)).ok());
  EXPECT_FALSE(protocol::ParsePublicKeyText("caravan:" + text.substr(9)).ok());
  std::string bad_char = text;
  bad_char[20] = '+';
  EXPECT_FALSE(protocol::ParsePublicKeyText(bad_char).ok());
  // 43 characters carry 258 bits; the 2 spare bits must be zero.
  std::string spare_bits = protocol::PublicKeyToText(protocol::PublicKey{});
  spare_bits.back() = 'B';
  EXPECT_FALSE(protocol::ParsePublicKeyText(spare_bits).ok());
}

TEST(RosterTest, RenderThenParseRoundTrip) {
  std::vector<RosterMember> members = {
      {"CERT-KZ", "KZ", KeyFilledWith(1), HostPort{"kz.example.org", 7420}},
      {"CERT \"KG\"", "KG", KeyFilledWith(2), std::nullopt},
      {"CERT-TJ", "TJ", KeyFilledWith(3), HostPort{"2001:db8::5", 7420}},
  };
  std::string text = protocol::RenderRoster(members);
  Result<std::vector<RosterMember>> back = protocol::ParseRoster(text, "r.toml");
  ASSERT_TRUE(back.ok()) << ErrorOf(back);
  EXPECT_EQ(*back, members);

  Result<std::vector<RosterMember>> empty =
      protocol::ParseRoster(protocol::RenderRoster({}), "r.toml");
  ASSERT_TRUE(empty.ok()) << ErrorOf(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(RosterTest, WriteRosterFileReplacesTheFileAtomically) {
  TempDir dir;
  fs::path path = dir.path() / "roster.toml";
  std::vector<RosterMember> one = {{"A", "UZ", KeyFilledWith(9), std::nullopt}};
  ASSERT_TRUE(protocol::WriteRosterFile(path, one).ok());
  std::vector<RosterMember> two = one;
  two.push_back({"B", "KZ", KeyFilledWith(8), HostPort{"192.0.2.7", 1}});
  ASSERT_TRUE(protocol::WriteRosterFile(path, two).ok());
  Result<std::vector<RosterMember>> loaded = protocol::LoadRosterFile(path);
  ASSERT_TRUE(loaded.ok()) << ErrorOf(loaded);
  EXPECT_EQ(*loaded, two);
  EXPECT_FALSE(fs::exists(dir.path() / "roster.toml.tmp"));

  Status s = protocol::WriteRosterFile(dir.path() / "no/such/dir/r.toml", one);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  Result<std::vector<RosterMember>> missing =
      protocol::LoadRosterFile(dir.path() / "absent.toml");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(RosterTest, ErrorsNameFileAndLine) {
  const std::string k1 = protocol::PublicKeyToText(KeyFilledWith(1));
  const std::string k2 = protocol::PublicKeyToText(KeyFilledWith(2));
  const std::string text =
      "[[member]]\n"                                        // 1
      "name = \"A\"\n"                                      // 2
      "country = \"UZ\"\n"                                  // 3
      "key = \"" + k1 + "\"\n"                              // 4
      "\n"                                                  // 5
      "[[member]]\n"                                        // 6
      "name = \"A\"\n"                                      // 7
      "country = \"kz\"\n"                                  // 8
      "key = \"" + k1 + "\"\n"                              // 9
      "endpoint = \"kz.example.org\"\n"                     // 10
      "\n"                                                  // 11
      "[[member]]\n"                                        // 12
      "name = \"C\"\n"                                      // 13
      "country = \"TJ\"\n"                                  // 14
      "key = \"ed25519:abc\"\n"                             // 15
      "fingerprint = \"x\"\n"                               // 16
      "\n"                                                  // 17
      "[[member]]\n"                                        // 18
      "name = 5\n"                                          // 19
      "key = \"" + k2 + "\"\n";                             // 20
  Result<std::vector<RosterMember>> r = protocol::ParseRoster(text, "/r.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(r.status().message(),
            "/r.toml:7: duplicate member name 'A' (first at line 1)\n"
            "/r.toml:8: [[member]] country: 'kz' is not an ISO 3166-1 alpha-2 "
            "code (two uppercase letters)\n"
            "/r.toml:9: duplicate member key (first at line 1)\n"
            "/r.toml:10: [[member]] endpoint: 'kz.example.org' has no port; "
            "expected HOST:PORT\n"
            "/r.toml:15: [[member]] key: key does not start with 'caravan:'\n"
            "/r.toml:16: unknown key 'fingerprint' in [[member]]\n"
            "/r.toml:18: [[member]] country: is required\n"
            "/r.toml:19: [[member]] name: must be a string, not an integer");
}

TEST(RosterTest, StructuralErrors) {
  Result<std::vector<RosterMember>> r =
      protocol::ParseRoster("member = 3\n", "r.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "r.toml:1: 'member' must be written as [[member]] tables");
  r = protocol::ParseRoster("[peer]\nname = \"x\"\n", "r.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "r.toml:1: unknown key 'peer' (a roster holds only [[member]] "
            "tables)");
  r = protocol::ParseRoster("[[member]\n", "r.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("r.toml:1: ", 0), 0u)
      << r.status().message();
}

}  // namespace
}  // namespace caravan

namespace caravan {
namespace {

// Issue 14: a roster naming an unassigned country ("ZZ") or a key that is no
// Ed25519 identity (all zero, small order) used to load.
std::string OneMember(const std::string& country, const std::string& key) {
  return "[[member]]\n"
         "name = \"X\"\n"
         "country = \"" + country + "\"\n"
         "key = \"" + key + "\"\n";
}

TEST(RosterTest, UnassignedCountryIsRefusedWithFileAndLine) {
  const std::string key = protocol::PublicKeyToText(KeyFilledWith(1));
  for (const std::string cc : {"ZZ", "AA", "QM", "XA", "UK"}) {
    Result<std::vector<RosterMember>> r =
        protocol::ParseRoster(OneMember(cc, key), "/r.toml");
    ASSERT_FALSE(r.ok()) << cc;
    EXPECT_EQ(r.status().message(),
              "/r.toml:3: [[member]] country: '" + cc +
                  "' is not an assigned ISO 3166-1 alpha-2 country code");
  }
  EXPECT_TRUE(protocol::ParseRoster(OneMember("XK", key), "/r.toml").ok());
  EXPECT_TRUE(protocol::ParseRoster(OneMember("GB", key), "/r.toml").ok());
}

TEST(RosterTest, AllZeroAndSmallOrderKeysAreRefused) {
  protocol::PublicKey identity_point{};  // y = 1: the neutral element
  identity_point[0] = 1;
  protocol::PublicKey order_two{};  // y = -1 (p - 1): order 2
  for (size_t i = 0; i < order_two.size(); ++i) order_two[i] = 0xff;
  order_two[0] = 0xec;
  order_two[31] = 0x7f;
  struct Case {
    protocol::PublicKey key;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {protocol::PublicKey{}, "the all-zero key is not an identity key"},
      {identity_point,
       "not a valid Ed25519 public key (small-order or non-canonical point)"},
      {order_two,
       "not a valid Ed25519 public key (small-order or non-canonical point)"},
  };
  for (const Case& c : cases) {
    Result<std::vector<RosterMember>> r = protocol::ParseRoster(
        OneMember("KZ", protocol::PublicKeyToText(c.key)), "/r.toml");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(), "/r.toml:4: [[member]] key: " + c.reason);
  }
}

TEST(RosterTest, CheckNewMemberRefusesUnassignedCountryAndBadKey) {
  const protocol::PublicKey self = KeyFilledWith(7);
  RosterMember zz{"X", "ZZ", KeyFilledWith(1), std::nullopt};
  Status s = protocol::CheckNewMember({}, zz, self);
  EXPECT_EQ(s.code(), StatusCode::kInvalidInput);
  EXPECT_NE(s.message().find("'ZZ' is not an assigned"), std::string::npos)
      << s.message();
  RosterMember zero{"X", "KZ", protocol::PublicKey{}, std::nullopt};
  s = protocol::CheckNewMember({}, zero, self);
  EXPECT_EQ(s.code(), StatusCode::kInvalidInput);
  EXPECT_NE(s.message().find("--key: the all-zero key"), std::string::npos)
      << s.message();
  RosterMember good{"X", "KZ", KeyFilledWith(1), std::nullopt};
  EXPECT_TRUE(protocol::CheckNewMember({}, good, self).ok());
}

}  // namespace
}  // namespace caravan
