// TaxiiAccounts: authentication, the verified-login cache, and that an
// unknown name costs what a wrong password costs (no user enumeration by
// timing).
#include "daemon/feeds/taxii_accounts.h"

#include <gtest/gtest.h>

#include <chrono>

namespace caravan::feeds {
namespace {

TaxiiAccounts TwoAccounts() {
  auto h1 = HashTaxiiPassword("s3cret");
  auto h2 = HashTaxiiPassword("other");
  EXPECT_TRUE(h1.ok() && h2.ok());
  auto parsed = TaxiiAccounts::Parse(
      "[[account]]\nname = \"siem\"\npassword_hash = \"" + *h1 +
      "\"\ncollections = [\"all\"]\nmax_tlp = \"green\"\n"
      "[[account]]\nname = \"soar\"\npassword_hash = \"" + *h2 +
      "\"\ncollections = [\"own\"]\nmax_tlp = \"amber\"\ncan_write = true\n");
  EXPECT_TRUE(parsed.ok()) << parsed.status().message();
  return std::move(*parsed);
}

double SecondsFor(const TaxiiAccounts& a, std::string_view name,
                  std::string_view password) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(a.Authenticate(name, password).has_value());
  return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                       start)
      .count();
}

TEST(TaxiiAccountsTest, RightPasswordIsAcceptedWrongOnesAreNot) {
  TaxiiAccounts a = TwoAccounts();
  auto ok = a.Authenticate("soar", "other");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->name, "soar");
  EXPECT_TRUE(ok->can_write);
  EXPECT_FALSE(a.Authenticate("soar", "s3cret").has_value());
  EXPECT_FALSE(a.Authenticate("nobody", "other").has_value());
  EXPECT_FALSE(a.Authenticate("", "").has_value());
  EXPECT_FALSE(a.Authenticate("siem", std::string(2000, 'x')).has_value());
  EXPECT_TRUE(a.Exists("siem"));
  EXPECT_FALSE(a.Exists("sie"));
  EXPECT_FALSE(a.Exists("siemx"));
}

TEST(TaxiiAccountsTest, CachedOnlyAfterASuccessfulVerification) {
  TaxiiAccounts a = TwoAccounts();
  EXPECT_FALSE(a.Cached("siem", "s3cret").has_value());
  ASSERT_TRUE(a.Authenticate("siem", "s3cret").has_value());
  auto cached = a.Cached("siem", "s3cret");
  ASSERT_TRUE(cached.has_value());
  EXPECT_EQ(cached->name, "siem");
  // The cache is keyed by name and password together.
  EXPECT_FALSE(a.Cached("siem", "s3cret ").has_value());
  EXPECT_FALSE(a.Cached("soar", "s3cret").has_value());
  EXPECT_FALSE(a.Authenticate("siem", "wrong").has_value());
}

TEST(TaxiiAccountsTest, UnknownNameCostsWhatAWrongPasswordCosts) {
  TaxiiAccounts a = TwoAccounts();
  // Best of three each, against scheduler noise; Argon2 dominates both.
  double unknown = 1e9, wrong = 1e9;
  for (int i = 0; i < 3; ++i) {
    unknown = std::min(unknown, SecondsFor(a, "nobody", "guess"));
    wrong = std::min(wrong, SecondsFor(a, "siem", "guess"));
  }
  EXPECT_GT(unknown, wrong / 3) << "unknown " << unknown << " s, wrong "
                                << wrong << " s";
  EXPECT_LT(unknown, wrong * 3) << "unknown " << unknown << " s, wrong "
                                << wrong << " s";
}

TEST(TaxiiAccountsTest, NoAccountsRefusesEveryoneCheaply) {
  TaxiiAccounts empty;
  EXPECT_FALSE(empty.Authenticate("siem", "s3cret").has_value());
  EXPECT_FALSE(empty.Cached("siem", "s3cret").has_value());
}

}  // namespace
}  // namespace caravan::feeds
