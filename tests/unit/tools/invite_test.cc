// `key show --invite`: the peers add line, its quoting and its endpoint.

#include "tools/invite.h"

#include <gtest/gtest.h>

namespace caravan::tools {
namespace {

nlohmann::json KeyShow(nlohmann::json endpoint) {
  return {{"name", "CERT-UZ"},
          {"country", "UZ"},
          {"key", "caravan:abc-_def"},
          {"fingerprint", "1a2b:3c4d:5e6f:7081:92a3"},
          {"endpoint", std::move(endpoint)}};
}

TEST(Invite, APeersAddLineWithTheListenAddress) {
  const std::string text = InviteText(KeyShow("203.0.113.5:7443"));
  EXPECT_NE(text.find("fingerprint 1a2b:3c4d:5e6f:7081:92a3\n"),
            std::string::npos) << text;
  const auto last = text.rfind("caravan peers add");
  ASSERT_NE(last, std::string::npos);
  EXPECT_EQ(text.substr(last),
            "caravan peers add CERT-UZ --country UZ --key caravan:abc-_def "
            "--endpoint 203.0.113.5:7443\n");
  // Every other line is a shell comment.
  size_t start = 0;
  while (start < last) {
    EXPECT_EQ(text[start], '#') << text;
    start = text.find('\n', start) + 1;
  }
}

TEST(Invite, AWildcardListenAsksForTheHost) {
  EXPECT_EQ(InviteEndpoint(KeyShow("0.0.0.0:7443")), "HOST:7443");
  EXPECT_EQ(InviteEndpoint(KeyShow("[::]:7443")), "HOST:7443");
  EXPECT_EQ(InviteEndpoint(KeyShow("[2001:db8::1]:7443")), "[2001:db8::1]:7443");
  EXPECT_NE(InviteText(KeyShow("0.0.0.0:7443")).find("replace HOST"),
            std::string::npos);
}

TEST(Invite, ANodeThatDoesNotListenGetsNoEndpoint) {
  const std::string text = InviteText(KeyShow(nullptr));
  EXPECT_EQ(text.find("--endpoint"), std::string::npos) << text;
  EXPECT_NE(text.find("does not listen"), std::string::npos) << text;
}

TEST(Invite, ShellWordsAreQuotedOnlyWhenNeeded) {
  EXPECT_EQ(ShellWord("CERT-KZ"), "CERT-KZ");
  EXPECT_EQ(ShellWord("a b"), "'a b'");
  EXPECT_EQ(ShellWord("it's"), "'it'\\''s'");
  EXPECT_EQ(ShellWord("$(rm -rf /)"), "'$(rm -rf /)'");
  EXPECT_EQ(ShellWord(""), "''");
}

}  // namespace
}  // namespace caravan::tools
