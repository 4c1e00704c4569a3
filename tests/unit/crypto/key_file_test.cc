#include "crypto/key_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace caravan::crypto {
namespace {

namespace fs = std::filesystem;

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/caravan-keyfile-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  void WriteRaw(const fs::path& p, const std::string& contents, mode_t mode) {
    { std::ofstream(p, std::ios::binary | std::ios::trunc) << contents; }
    ASSERT_EQ(::chmod(p.c_str(), mode), 0);
  }

  fs::path dir_;
};

TEST_F(KeyFileTest, IdentityRoundTripWithMode0600) {
  auto key = IdentityKey::Generate();
  fs::path p = dir_ / "identity.key";
  std::string error;
  ASSERT_TRUE(SaveIdentityKey(p, *key, &error)) << error;
  struct stat st{};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  auto loaded = LoadIdentityKey(p, &error);
  ASSERT_NE(loaded, nullptr) << error;
  EXPECT_EQ(loaded->public_key(), key->public_key());
  // No temporary files are left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(KeyFileTest, FileFormatIsDocumentedTextForm) {
  std::array<uint8_t, 32> seed{};
  auto key = IdentityKey::FromSeed(seed);
  fs::path p = dir_ / "identity.key";
  ASSERT_TRUE(SaveIdentityKey(p, *key, nullptr));
  std::ifstream in(p);
  std::string contents((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(contents,
            "caravan-identity-key v1\n"
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
}

TEST_F(KeyFileTest, SaveReplacesExistingFileAtomically) {
  fs::path p = dir_ / "link.key";
  auto a = LinkKey::Generate();
  auto b = LinkKey::Generate();
  ASSERT_TRUE(SaveLinkKey(p, *a, nullptr));
  ASSERT_TRUE(SaveLinkKey(p, *b, nullptr));
  std::string error;
  auto loaded = LoadLinkKey(p, &error);
  ASSERT_NE(loaded, nullptr) << error;
  EXPECT_EQ(loaded->public_key(), b->public_key());
}

TEST_F(KeyFileTest, LinkKeyRoundTrip) {
  auto key = LinkKey::Generate();
  fs::path p = dir_ / "link.key";
  std::string error;
  ASSERT_TRUE(SaveLinkKey(p, *key, &error)) << error;
  auto loaded = LoadLinkKey(p, &error);
  ASSERT_NE(loaded, nullptr) << error;
  EXPECT_EQ(loaded->public_key(), key->public_key());
}

TEST_F(KeyFileTest, RotatedLinkKeyKeepsSerialAndNotBefore) {
  LinkKeyFile file;
  file.key = LinkKey::Generate();
  file.serial = 1764900123;
  file.not_before = 1764900100;
  const fs::path p = dir_ / "link.key";
  std::string error;
  ASSERT_TRUE(SaveLinkKeyFile(p, file, &error)) << error;
  std::ifstream in(p);
  std::string first, second, third;
  std::getline(in, first);
  std::getline(in, second);
  std::getline(in, third);
  EXPECT_EQ(first, "caravan-link-key v2");
  EXPECT_EQ(third, "serial 1764900123 not_before 1764900100");
  auto loaded = LoadLinkKeyFile(p, &error);
  ASSERT_TRUE(loaded.has_value()) << error;
  EXPECT_EQ(loaded->key->public_key(), file.key->public_key());
  EXPECT_EQ(loaded->serial, 1764900123u);
  EXPECT_EQ(loaded->not_before, 1764900100);
  // The plain loader reads it too; a v1 file is serial 0.
  EXPECT_NE(LoadLinkKey(p, &error), nullptr) << error;
  file.serial = 0;
  ASSERT_TRUE(SaveLinkKeyFile(p, file, &error)) << error;
  auto v1 = LoadLinkKeyFile(p, &error);
  ASSERT_TRUE(v1.has_value()) << error;
  EXPECT_EQ(v1->serial, 0u);
}

TEST_F(KeyFileTest, RejectsMalformedRotatedLinkKeys) {
  const std::string b64 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  for (const std::string& third :
       {std::string("serial 0 not_before 5"), std::string("serial 5"),
        std::string("serial 5 not_before -1"), std::string("serial x not_before 5"),
        std::string("serial 5 not_before 5 extra"), std::string(""),
        std::string("serial 99999999999999999999 not_before 5")}) {
    const fs::path p = dir_ / "link.key";
    WriteRaw(p, "caravan-link-key v2\n" + b64 + "\n" + third + "\n", 0600);
    std::string error;
    EXPECT_FALSE(LoadLinkKeyFile(p, &error).has_value()) << third;
    EXPECT_NE(error.find("third line"), std::string::npos) << third << ": " << error;
  }
  // v2 without its third line.
  const fs::path p = dir_ / "link2.key";
  WriteRaw(p, "caravan-link-key v2\n" + b64 + "\n", 0600);
  std::string error;
  EXPECT_FALSE(LoadLinkKeyFile(p, &error).has_value());
  EXPECT_NE(error.find("three lines"), std::string::npos) << error;
}

TEST_F(KeyFileTest, RefusesGroupOrWorldAccessibleFiles) {
  auto key = IdentityKey::Generate();
  fs::path p = dir_ / "identity.key";
  ASSERT_TRUE(SaveIdentityKey(p, *key, nullptr));
  for (mode_t mode : {0644, 0640, 0604, 0660, 0620}) {
    ASSERT_EQ(::chmod(p.c_str(), mode), 0);
    std::string error;
    EXPECT_EQ(LoadIdentityKey(p, &error), nullptr) << std::oct << mode;
    EXPECT_NE(error.find(p.string()), std::string::npos) << error;
    char m[8];
    std::snprintf(m, sizeof m, "%04o", mode);
    EXPECT_NE(error.find(m), std::string::npos) << error;
    EXPECT_NE(error.find("chmod 600"), std::string::npos) << error;
  }
  ASSERT_EQ(::chmod(p.c_str(), 0400), 0);  // read-only by owner is fine
  EXPECT_NE(LoadIdentityKey(p, nullptr), nullptr);
}

TEST_F(KeyFileTest, RejectsMalformedFiles) {
  const std::string good_b64 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  struct Case {
    const char* what;
    std::string contents;
  } cases[] = {
      {"empty", ""},
      {"header only", "caravan-identity-key v1\n"},
      {"truncated base64", "caravan-identity-key v1\nAAAAAAAAAAAA\n"},
      {"missing final newline", "caravan-identity-key v1\n" + good_b64},
      {"trailing line", "caravan-identity-key v1\n" + good_b64 + "\nextra\n"},
      {"wrong header", "caravan-link-key v1\n" + good_b64 + "\n"},
      {"future version", "caravan-identity-key v2\n" + good_b64 + "\n"},
      {"garbage", std::string("\x00\xff garbage\n\n", 12)},
      {"not base64", "caravan-identity-key v1\n" + std::string(43, '!') + "=\n"},
      {"too long key", "caravan-identity-key v1\n" + good_b64 + "AAAA\n"},
      {"huge", std::string(8192, 'A')},
  };
  fs::path p = dir_ / "bad.key";
  for (const Case& c : cases) {
    WriteRaw(p, c.contents, 0600);
    std::string error;
    EXPECT_EQ(LoadIdentityKey(p, &error), nullptr) << c.what;
    EXPECT_NE(error.find(p.string()), std::string::npos) << c.what << ": " << error;
  }
  // The same well-formed body is accepted, so the cases above fail for the
  // reason named.
  WriteRaw(p, "caravan-identity-key v1\n" + good_b64 + "\n", 0600);
  EXPECT_NE(LoadIdentityKey(p, nullptr), nullptr);
}

TEST_F(KeyFileTest, MissingFileAndDirectoryErrorsNameThePath) {
  std::string error;
  EXPECT_EQ(LoadLinkKey(dir_ / "absent.key", &error), nullptr);
  EXPECT_NE(error.find("absent.key"), std::string::npos);
  auto key = LinkKey::Generate();
  EXPECT_FALSE(SaveLinkKey(dir_ / "no-such-dir" / "link.key", *key, &error));
  EXPECT_NE(error.find("no-such-dir"), std::string::npos) << error;
  EXPECT_EQ(LoadLinkKey(dir_, &error), nullptr);  // a directory
}

}  // namespace
}  // namespace caravan::crypto
