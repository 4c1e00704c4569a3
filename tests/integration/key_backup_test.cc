// `caravan key export --encrypted` and `caravan key import` through the
// CLI (docs/deploy.md, Backup): a round trip to another node's directory
// brings back the same identity, the file is 0600, and a wrong passphrase,
// a changed or truncated file and existing keys without --force are
// refused with a clear message and nothing written.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "crypto/key_file.h"
#include "tests/integration/harness.h"

namespace caravan::integration {
namespace {

namespace fs = std::filesystem;

class KeyBackupCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(from_.init_result().exit_code, 0) << from_.init_result().Describe();
    ASSERT_EQ(to_.init_result().exit_code, 0) << to_.init_result().Describe();
    pass_ = from_.root() / "pass";
    WriteFile(pass_, "a long enough passphrase\n");
    wrong_ = from_.root() / "wrong";
    WriteFile(wrong_, "another long passphrase\n");
    backup_ = from_.root() / "keys.bak";
  }

  static std::string PublicOf(const fs::path& identity) {
    std::string error;
    auto key = crypto::LoadIdentityKey(identity, &error);
    EXPECT_NE(key, nullptr) << error;
    return key ? std::string(key->public_key().begin(), key->public_key().end()) : "";
  }

  TestNode from_{"CERT-UZ", "UZ"};
  TestNode to_{"CERT-NEW", "UZ"};
  fs::path pass_, wrong_, backup_;
};

TEST_F(KeyBackupCliTest, ExportThenImportRestoresTheIdentity) {
  CommandResult out = from_.Cli({"key", "export", "--encrypted", backup_.string(),
                                 "--passphrase-file", pass_.string()});
  ASSERT_EQ(out.exit_code, 0) << out.Describe();
  struct stat st{};
  ASSERT_EQ(::stat(backup_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  // Never over an existing file.
  CommandResult again = from_.Cli({"key", "export", "--encrypted", backup_.string(),
                                   "--passphrase-file", pass_.string()});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("exists"), std::string::npos) << again.err;

  const fs::path identity = to_.dir() / "identity.key";
  const std::string before = PublicOf(identity);
  // The target node has keys: refused without --force, nothing changes.
  CommandResult refused = to_.Cli({"key", "import", backup_.string(), "--passphrase-file",
                                   pass_.string()});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("--force"), std::string::npos) << refused.err;
  EXPECT_EQ(PublicOf(identity), before);
  // Wrong passphrase: refused, nothing changes.
  CommandResult wrong = to_.Cli({"key", "import", backup_.string(), "--passphrase-file",
                                 wrong_.string(), "--force"});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.err.find("wrong passphrase"), std::string::npos) << wrong.err;
  EXPECT_EQ(PublicOf(identity), before);

  CommandResult ok = to_.Cli({"key", "import", backup_.string(), "--passphrase-file",
                              pass_.string(), "--force"});
  ASSERT_EQ(ok.exit_code, 0) << ok.Describe();
  EXPECT_EQ(PublicOf(identity), PublicOf(from_.dir() / "identity.key"));
  EXPECT_NE(PublicOf(identity), before);
  ASSERT_EQ(::stat(identity.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(KeyBackupCliTest, ChangedTruncatedAndForeignFilesAreRefused) {
  CommandResult out = from_.Cli({"key", "export", "--encrypted", backup_.string(),
                                 "--passphrase-file", pass_.string()});
  ASSERT_EQ(out.exit_code, 0) << out.Describe();
  const std::string good = ReadFile(backup_);
  const fs::path identity = to_.dir() / "identity.key";
  const std::string before = PublicOf(identity);
  struct Case {
    std::string name, bytes, expect;
  };
  std::string tampered = good;
  tampered[good.size() - 5] ^= 0x40;
  const Case cases[] = {
      {"tampered", tampered, "wrong passphrase, or the key backup was changed"},
      {"truncated", good.substr(0, good.size() - 10), "truncated"},
      {"foreign", "not a backup at all\n", "not a caravan key backup"},
  };
  for (const Case& c : cases) {
    const fs::path f = from_.root() / c.name;
    WriteFile(f, c.bytes);
    CommandResult r = to_.Cli({"key", "import", f.string(), "--passphrase-file",
                               pass_.string(), "--force"});
    EXPECT_NE(r.exit_code, 0) << c.name;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.name << ": " << r.err;
    EXPECT_EQ(PublicOf(identity), before) << c.name;
  }
  // A short passphrase is refused at export.
  const fs::path shortp = from_.root() / "short";
  WriteFile(shortp, "short\n");
  CommandResult weak = from_.Cli({"key", "export", "--encrypted",
                                  (from_.root() / "weak.bak").string(), "--passphrase-file",
                                  shortp.string()});
  EXPECT_NE(weak.exit_code, 0);
  EXPECT_NE(weak.err.find("at least 12"), std::string::npos) << weak.err;
  EXPECT_FALSE(fs::exists(from_.root() / "weak.bak"));
}

}  // namespace
}  // namespace caravan::integration
