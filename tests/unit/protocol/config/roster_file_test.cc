// Tests of the roster file (protocol/config/roster_file.h).

#include <gtest/gtest.h>

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

protocol::PublicKey KeyFilledWith(uint8_t b) {
  protocol::PublicKey k;
  k.fill(b);
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
  std::string spare_bits = protocol::PublicKeyToText(KeyFilledWith(0));
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
