// Crash safety of `caravan key rotate` at start (daemon/node/identity_rotate.cc,
// FinishIdentityRotation): a rotation the store committed is finished from
// <identity>.next, one it never committed leaves the old key in use, and a
// key file the store says was rotated away stops the start.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "crypto/identity_rotation.h"
#include "crypto/key_file.h"
#include "daemon/node/node.h"

namespace caravan::daemon {
namespace {

namespace fs = std::filesystem;

struct Dir {
  fs::path path = fs::temp_directory_path() /
                  ("caravan-identity-rotate-" + std::to_string(::getpid()) + "-" +
                   std::to_string(counter++));
  static inline int counter = 0;
  Dir() { fs::create_directories(path); }
  ~Dir() { fs::remove_all(path); }
};

store::IdentityRotationRow RowOf(const crypto::IdentityKey& from, const crypto::IdentityKey& to) {
  const auto s = crypto::SignRotation(from, to, 1'800'000'000, 1'800'000'000);
  store::IdentityRotationRow row;
  row.old_key = s.old_key;
  row.new_key = s.new_key;
  row.rotated_at = s.rotated_at;
  row.issued_at = s.issued_at;
  row.statement = crypto::EncodeRotationStatement(s);
  return row;
}

TEST(FinishIdentityRotation, CommittedRotationIsFinishedFromNext) {
  Dir d;
  const fs::path id = d.path / "identity.key";
  auto k0 = crypto::IdentityKey::Generate();
  auto k1 = crypto::IdentityKey::Generate();
  std::string error;
  ASSERT_TRUE(crypto::SaveIdentityKey(id, *k0, &error)) << error;
  ASSERT_TRUE(crypto::SaveIdentityKey(NextIdentityKeyPath(id), *k1, &error)) << error;
  std::unique_ptr<crypto::IdentityKey> loaded = crypto::LoadIdentityKey(id, &error);
  Status s = FinishIdentityRotation(id, {RowOf(*k0, *k1)}, loaded);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(loaded->public_key(), k1->public_key());
  EXPECT_EQ(crypto::LoadIdentityKey(id, &error)->public_key(), k1->public_key());
  EXPECT_FALSE(fs::exists(NextIdentityKeyPath(id)));
}

TEST(FinishIdentityRotation, UncommittedNextIsRemovedAndTheOldKeyStays) {
  Dir d;
  const fs::path id = d.path / "identity.key";
  auto k0 = crypto::IdentityKey::Generate();
  auto k1 = crypto::IdentityKey::Generate();
  std::string error;
  ASSERT_TRUE(crypto::SaveIdentityKey(id, *k0, &error)) << error;
  ASSERT_TRUE(crypto::SaveIdentityKey(NextIdentityKeyPath(id), *k1, &error)) << error;
  std::unique_ptr<crypto::IdentityKey> loaded = crypto::LoadIdentityKey(id, &error);
  Status s = FinishIdentityRotation(id, {}, loaded);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(loaded->public_key(), k0->public_key());
  EXPECT_FALSE(fs::exists(NextIdentityKeyPath(id)));
}

TEST(FinishIdentityRotation, AKeyRotatedAwayRefusesToStart) {
  Dir d;
  const fs::path id = d.path / "identity.key";
  auto k0 = crypto::IdentityKey::Generate();
  auto k1 = crypto::IdentityKey::Generate();
  std::string error;
  ASSERT_TRUE(crypto::SaveIdentityKey(id, *k0, &error)) << error;
  std::unique_ptr<crypto::IdentityKey> loaded = crypto::LoadIdentityKey(id, &error);
  Status s = FinishIdentityRotation(id, {RowOf(*k0, *k1)}, loaded);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidInput);
  EXPECT_NE(s.message().find("was rotated to"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(id.string()), std::string::npos) << s.message();
}

}  // namespace
}  // namespace caravan::daemon
