#include "crypto/secret_bytes.h"

#include <gtest/gtest.h>

#include <array>
#include <type_traits>

namespace caravan::crypto {
namespace {

static_assert(!std::is_copy_constructible_v<SecretBytes<32>>);
static_assert(!std::is_copy_assignable_v<SecretBytes<32>>);
static_assert(std::is_nothrow_move_constructible_v<SecretBytes<32>>);

TEST(SecretBytesTest, StartsZeroedAndCopiesInput) {
  SecretBytes<16> zero;
  for (size_t i = 0; i < zero.size(); ++i) EXPECT_EQ(zero.data()[i], 0);
  std::array<uint8_t, 16> in{};
  in.fill(0xab);
  SecretBytes<16> s{std::span<const uint8_t, 16>(in)};
  EXPECT_EQ(s.data()[15], 0xab);
  EXPECT_FALSE(s.Equals(zero));
}

TEST(SecretBytesTest, MoveTransfersOwnership) {
  std::array<uint8_t, 8> in{1, 2, 3, 4, 5, 6, 7, 8};
  SecretBytes<8> a{std::span<const uint8_t, 8>(in)};
  SecretBytes<8> b = std::move(a);
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): the point
  ASSERT_TRUE(b.valid());
  EXPECT_EQ(b.data()[7], 8);
  SecretBytes<8> c;
  c = std::move(b);
  EXPECT_EQ(c.data()[0], 1);
}

TEST(SecretBytesDeathTest, UseAfterMoveAborts) {
  SecretBytes<8> a;
  SecretBytes<8> b = std::move(a);
  EXPECT_DEATH((void)a.data(), "moved-from");  // NOLINT
}

}  // namespace
}  // namespace caravan::crypto
