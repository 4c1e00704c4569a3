// The files `caravan init` writes must load, and default.toml must say what
// CONTRACT.md promises: outbound deny, inbound accept.

#include <gtest/gtest.h>

#include "daemon/policy/policy_eval.h"
#include "daemon/policy/policy_loader.h"
#include "protocol/config/policy_templates.h"

namespace caravan::policy {
namespace {

TEST(PolicyTemplates, DefaultDeniesOutAndAcceptsIn) {
  auto set = LoadPolicyText({{"default.toml", protocol::DefaultPolicyToml()}});
  ASSERT_TRUE(set.ok()) << set.status().message();
  EXPECT_FALSE(set->default_file.outbound->share);
  EXPECT_NE(set->default_file.LineOf("outbound.share"), 0);  // written out
  EXPECT_TRUE(set->default_file.inbound->accept);
  EXPECT_NE(set->default_file.LineOf("inbound.accept"), 0);
}

TEST(PolicyTemplates, ExamplesAreIgnoredAsWrittenAndLoadWhenRenamed) {
  std::map<std::string, std::string> as_written = {
      {"default.toml", protocol::DefaultPolicyToml()}};
  std::map<std::string, std::string> renamed = as_written;
  for (const auto& [name, content] : protocol::ExamplePolicyFiles()) {
    ASSERT_TRUE(name.ends_with(".toml.sample")) << name;
    as_written[name] = content;
    renamed[name.substr(0, name.size() - 7)] = content;
  }
  auto ignored = LoadPolicyText(as_written);
  ASSERT_TRUE(ignored.ok()) << ignored.status().message();
  EXPECT_TRUE(ignored->scopes.empty());

  auto loaded = LoadPolicyText(renamed);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->scopes.size(), 3u);
  EXPECT_FALSE(loaded->protected_assets.cidrs.empty());
  EXPECT_EQ(ScopeFor(*loaded, "KZ").outbound_file->name, "example-partner.toml");
  EXPECT_EQ(ScopeFor(*loaded, "UZ").outbound_file->name, "example-group.toml");
  EXPECT_EQ(ScopeFor(*loaded, "TJ").outbound_file->name, "example-new-member.toml");
  // The group file has no [inbound]: UZ's inbound falls back to default.toml.
  EXPECT_EQ(ScopeFor(*loaded, "UZ").inbound_file->name, "default.toml");
}

}  // namespace
}  // namespace caravan::policy
