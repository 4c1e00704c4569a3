#include "tools/did_you_mean.h"

#include <gtest/gtest.h>

namespace caravan::tools {
namespace {

const std::vector<std::string> kCommands = {
    "init",   "key",    "status", "submit",     "query",
    "show",   "revoke", "sight",  "audit",      "export",
    "policy", "peers",  "help",   "quarantine"};

TEST(EditDistance, CountsTranspositionAsOneEdit) {
  EXPECT_EQ(EditDistance("stauts", "status"), 1u);
  EXPECT_EQ(EditDistance("status", "status"), 0u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("abc", ""), 3u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
}

TEST(ClosestName, SuggestsTheLikelyCommand) {
  EXPECT_EQ(ClosestName("stauts", kCommands), "status");
  EXPECT_EQ(ClosestName("qurey", kCommands), "query");
  EXPECT_EQ(ClosestName("peer", kCommands), "peers");
  EXPECT_EQ(ClosestName("--tpye", {"--type", "--tag", "--tlp"}), "--type");
}

TEST(ClosestName, AnUnambiguousAbbreviationIsSuggested) {
  EXPECT_EQ(ClosestName("quar", kCommands), "quarantine");
}

TEST(ClosestName, NothingWhenNoNameIsClose) {
  EXPECT_EQ(ClosestName("frobnicate", kCommands), std::nullopt);
  EXPECT_EQ(ClosestName("", kCommands), std::nullopt);
  EXPECT_EQ(ClosestName("x", {}), std::nullopt);
  // "s" abbreviates several commands: no guess.
  EXPECT_EQ(ClosestName("su", {"submit", "sub"}), "sub");
  EXPECT_EQ(ClosestName("s", {"submit", "show", "sight"}), std::nullopt);
}

}  // namespace
}  // namespace caravan::tools
