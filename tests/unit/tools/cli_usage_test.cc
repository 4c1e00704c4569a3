// The caravan command tree itself: every option has a help line, mistyped
// words get a suggestion, `help CMD` finds commands.
#include "tools/cli_usage.h"

#include <gtest/gtest.h>

#include "tools/caravan_app.h"

namespace caravan::tools {
namespace {

// Runs `caravan` on `args`; `inspect` sees the command tree before parsing.
int RunCaravan(std::vector<std::string> args,
               const std::function<void(const CLI::App&)>& inspect = {}) {
  args.insert(args.begin(), "caravan");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return CaravanMain(static_cast<int>(argv.size()), argv.data(), inspect);
}

TEST(CaravanCli, EveryOptionAndCommandHasAHelpLine) {
  std::vector<std::string> missing;
  size_t walked = 0;
  testing::internal::CaptureStdout();
  const int code = RunCaravan({"help"}, [&](const CLI::App& app) {
    missing = UndescribedOptions(app);
    walked = app.get_subcommands([](const CLI::App*) { return true; }).size();
  });
  const std::string help = testing::internal::GetCapturedStdout();
  EXPECT_EQ(code, 0);
  EXPECT_GE(walked, 13u);  // the tree was really walked
  EXPECT_TRUE(missing.empty()) << "options without a help line:\n"
                               << testing::PrintToString(missing);
  // The root help lists the exit codes.
  EXPECT_NE(help.find("Exit codes:"), std::string::npos) << help;
  EXPECT_NE(help.find("5  caravand unreachable"), std::string::npos);
}

TEST(CaravanCli, UndescribedOptionsNamesTheOffender) {
  CLI::App app{"test", "caravan"};
  std::string value;
  auto* query = app.add_subcommand("query", "search");
  query->add_option("--type", value);
  query->add_option("--tag", value, "described");
  app.add_subcommand("bare");
  EXPECT_EQ(UndescribedOptions(app),
            (std::vector<std::string>{"caravan query --type", "caravan bare"}));
}

class UsageTest : public testing::Test {
 protected:
  UsageTest() : app_("test", "caravan") {
    app_.add_option("--config", value_, "config");
    app_.add_flag("--json", flag_, "json");
    auto* status = app_.add_subcommand("status", "status");
    (void)status;
    auto* query = app_.add_subcommand("query", "search");
    query->add_option("VALUE", value_, "value");
    query->add_option("--type", value_, "type");
    auto* peers = app_.add_subcommand("peers", "peers");
    peers->add_subcommand("list", "list");
    peers->add_subcommand("add", "add")->add_option("NAME", value_, "name");
  }
  CLI::App app_;
  std::string value_;
  bool flag_ = false;
};

TEST_F(UsageTest, MistypedCommandGetsASuggestion) {
  EXPECT_EQ(UnknownWordMessage(app_, {"stauts"}),
            "unknown command 'stauts'; did you mean 'status'?");
  EXPECT_EQ(UnknownWordMessage(app_, {"--config", "x.toml", "qurey", "a"}),
            "unknown command 'qurey'; did you mean 'query'?");
  EXPECT_EQ(UnknownWordMessage(app_, {"peers", "lsit"}),
            "unknown command 'lsit' for 'caravan peers'; did you mean 'list'?");
  EXPECT_EQ(UnknownWordMessage(app_, {"zzzzzz"}),
            "unknown command 'zzzzzz' (see 'caravan --help')");
}

TEST_F(UsageTest, MistypedOptionGetsASuggestion) {
  EXPECT_EQ(UnknownWordMessage(app_, {"query", "--tpye", "ipv4"}),
            "unknown option '--tpye' for 'caravan query'; did you mean "
            "'--type'?");
  // Global options are known below every command (fallthrough).
  EXPECT_EQ(UnknownWordMessage(app_, {"query", "--jsno"}),
            "unknown option '--jsno' for 'caravan query'; did you mean "
            "'--json'?");
  EXPECT_EQ(UnknownWordMessage(app_, {"--cnofig=a"}),
            "unknown option '--cnofig'; did you mean '--config'?");
}

TEST_F(UsageTest, KnownWordsAreNotFlagged) {
  EXPECT_EQ(UnknownWordMessage(app_, {"query", "--type", "status", "x"}),
            std::nullopt);
  EXPECT_EQ(UnknownWordMessage(app_, {"peers", "add", "kz", "--json"}),
            std::nullopt);
  EXPECT_EQ(UnknownWordMessage(app_, {"query", "--", "--weird"}),
            std::nullopt);
}

TEST_F(UsageTest, FindCommandWalksThePath) {
  auto add = FindCommand(app_, {"peers", "add"});
  ASSERT_TRUE(add.ok());
  EXPECT_EQ((*add)->get_name(), "add");
  EXPECT_EQ(CommandPath(**add), "caravan peers add");
  auto root = FindCommand(app_, {});
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(*root, &app_);
  auto typo = FindCommand(app_, {"peers", "ad"});
  ASSERT_FALSE(typo.ok());
  EXPECT_EQ(typo.status().message(),
            "unknown command 'ad' for 'caravan peers'; did you mean 'add'?");
}

TEST(CaravanCli, HelpCmdPrintsWhatDashDashHelpPrints) {
  testing::internal::CaptureStdout();
  EXPECT_EQ(RunCaravan({"help", "peers", "add"}), 0);
  const std::string via_help = testing::internal::GetCapturedStdout();
  testing::internal::CaptureStdout();
  EXPECT_EQ(RunCaravan({"peers", "add", "--help"}), 0);
  const std::string via_flag = testing::internal::GetCapturedStdout();
  EXPECT_EQ(via_help, via_flag);
  EXPECT_NE(via_help.find("--country"), std::string::npos) << via_help;
}

TEST(CaravanCli, UnknownCommandExitsTwo) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(RunCaravan({"stauts"}), 2);
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            "caravan: unknown command 'stauts'; did you mean 'status'?\n");
  testing::internal::CaptureStderr();
  EXPECT_EQ(RunCaravan({"help", "stauts"}), 2);
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            "caravan: unknown command 'stauts'; did you mean 'status'?\n");
  testing::internal::CaptureStderr();
  EXPECT_EQ(RunCaravan({"query", "--tpye", "ipv4"}), 2);
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            "caravan: unknown option '--tpye' for 'caravan query'; did you "
            "mean '--type'?\n");
}

}  // namespace
}  // namespace caravan::tools
