#include "crypto/key_backup.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <cstring>
#include <string>
#include <vector>

namespace caravan::crypto {
namespace {

// The cheapest Argon2 the format allows, so the tests run fast; the CLI
// uses DefaultKeyBackupParams.
KeyBackupParams FastParams() {
  KeyBackupParams p = DefaultKeyBackupParams();
  p.opslimit = crypto_pwhash_OPSLIMIT_MIN;
  p.memlimit = crypto_pwhash_MEMLIMIT_MIN;
  return p;
}

BackupKeys SomeKeys() {
  BackupKeys k;
  for (size_t i = 0; i < 32; ++i) {
    k.identity_seed.data()[i] = static_cast<uint8_t>(i);
    k.link_secret.data()[i] = static_cast<uint8_t>(100 + i);
  }
  k.link_serial = 1764900123;
  k.link_not_before = 1764900100;
  return k;
}

std::vector<uint8_t> Sealed(const std::string& pass = "correct horse battery") {
  std::string error;
  auto out = SealKeyBackup(SomeKeys(), pass, FastParams(), &error);
  EXPECT_TRUE(out.has_value()) << error;
  return out.value_or(std::vector<uint8_t>{});
}

TEST(KeyBackupTest, RoundTripKeepsEveryKeyAndTheLinkSerial) {
  const auto file = Sealed();
  ASSERT_EQ(file.size(), kKeyBackupSize);
  EXPECT_EQ(std::string(file.begin(), file.begin() + 16), "caravan-keys-bak");
  std::string error;
  auto keys = OpenKeyBackup(file, "correct horse battery", &error);
  ASSERT_TRUE(keys.has_value()) << error;
  const BackupKeys want = SomeKeys();
  EXPECT_EQ(std::memcmp(keys->identity_seed.data(), want.identity_seed.data(), 32), 0);
  EXPECT_EQ(std::memcmp(keys->link_secret.data(), want.link_secret.data(), 32), 0);
  EXPECT_EQ(keys->link_serial, want.link_serial);
  EXPECT_EQ(keys->link_not_before, want.link_not_before);
  // The header says what was used.
  auto h = ParseKeyBackupHeader(file, &error);
  ASSERT_TRUE(h.has_value()) << error;
  EXPECT_EQ(h->params.opslimit, crypto_pwhash_OPSLIMIT_MIN);
  EXPECT_EQ(h->params.memlimit, crypto_pwhash_MEMLIMIT_MIN);
  // Two exports differ (salt and stream header are random).
  EXPECT_NE(Sealed(), file);
}

TEST(KeyBackupTest, WrongPassphraseIsRefused) {
  const auto file = Sealed();
  std::string error;
  EXPECT_FALSE(OpenKeyBackup(file, "correct horse battery!", &error).has_value());
  EXPECT_NE(error.find("wrong passphrase"), std::string::npos) << error;
  EXPECT_FALSE(OpenKeyBackup(file, "", &error).has_value());
}

TEST(KeyBackupTest, EveryFlippedByteIsRefused) {
  const auto file = Sealed();
  // Every byte past the magic, version and algorithm (those have their own
  // messages below); the Argon2 parameters are tried at sizes that stay
  // cheap by flipping their lowest bit.
  for (size_t i = 18; i < file.size(); ++i) {
    auto bad = file;
    bad[i] ^= 0x01;
    std::string error;
    EXPECT_FALSE(OpenKeyBackup(bad, "correct horse battery", &error).has_value()) << i;
    EXPECT_FALSE(error.empty()) << i;
  }
}

TEST(KeyBackupTest, TruncatedExtendedAndForeignFilesAreRefusedWithAReason) {
  const auto file = Sealed();
  std::string error;
  for (size_t size : {size_t{0}, size_t{10}, size_t{20}, size_t{73}, size_t{74},
                      kKeyBackupSize - 1}) {
    std::vector<uint8_t> cut(file.begin(), file.begin() + static_cast<long>(size));
    EXPECT_FALSE(OpenKeyBackup(cut, "correct horse battery", &error).has_value()) << size;
    if (size >= 16) {
      EXPECT_NE(error.find("truncated"), std::string::npos) << error;
    }
  }
  auto longer = file;
  longer.push_back(0);
  EXPECT_FALSE(ParseKeyBackupHeader(longer, &error).has_value());
  EXPECT_NE(error.find("after its end"), std::string::npos) << error;
  std::vector<uint8_t> text(200, 'x');
  EXPECT_FALSE(ParseKeyBackupHeader(text, &error).has_value());
  EXPECT_NE(error.find("not a caravan key backup"), std::string::npos) << error;
  auto version = file;
  version[16] = 2;
  EXPECT_FALSE(ParseKeyBackupHeader(version, &error).has_value());
  EXPECT_NE(error.find("version 2"), std::string::npos) << error;
  auto algorithm = file;
  algorithm[17] = 1;
  EXPECT_FALSE(ParseKeyBackupHeader(algorithm, &error).has_value());
  EXPECT_NE(error.find("Argon2id"), std::string::npos) << error;
}

TEST(KeyBackupTest, ParametersOutOfBoundsAreRefusedBeforeAnyWork) {
  auto file = Sealed();
  std::string error;
  auto huge_memory = file;
  huge_memory[26] = 0x01;  // memlimit >= 2^56 bytes
  EXPECT_FALSE(OpenKeyBackup(huge_memory, "correct horse battery", &error).has_value());
  EXPECT_NE(error.find("memlimit"), std::string::npos) << error;
  auto many_passes = file;
  many_passes[25] = 0xff;  // opslimit 255
  EXPECT_FALSE(ParseKeyBackupHeader(many_passes, &error).has_value());
  EXPECT_NE(error.find("opslimit"), std::string::npos) << error;
  KeyBackupParams p = FastParams();
  p.memlimit = kMaxMemLimit + 1;
  EXPECT_FALSE(SealKeyBackup(SomeKeys(), "correct horse battery", p, &error).has_value());
  EXPECT_FALSE(SealKeyBackup(SomeKeys(), "", FastParams(), &error).has_value());
  EXPECT_NE(error.find("empty"), std::string::npos) << error;
}

}  // namespace
}  // namespace caravan::crypto
