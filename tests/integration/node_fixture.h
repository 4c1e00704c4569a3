#pragma once
// GoogleTest fixture for tests that need a running node: init + start in
// SetUp (a failure there fails the test with the daemon log), a clean
// SIGTERM stop asserted in TearDown, and small helpers for common CLI
// calls. The fixture owns its TestNode; the harness kills the daemon if a
// test ends early.

#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/integration/harness.h"

namespace caravan::integration {

class RunningNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = std::make_unique<TestNode>();
    ASSERT_EQ(node_->init_result().exit_code, 0)
        << "caravan init: " << node_->init_result().Describe();
    std::string why;
    ASSERT_TRUE(node_->Start(&why)) << why;
  }

  void TearDown() override {
    if (node_ && node_->running()) {
      EXPECT_EQ(node_->Stop(), 0) << "caravand log:\n" << node_->LogText();
    }
  }

  // Restarts the daemon: SIGTERM (must exit 0), then start again.
  void Restart() {
    ASSERT_EQ(node_->Stop(), 0) << node_->LogText();
    std::string why;
    ASSERT_TRUE(node_->Start(&why)) << why;
  }

  // `caravan submit TYPE VALUE extra...`; returns the printed id, or ""
  // after recording a failure.
  std::string Submit(const std::string& type, const std::string& value,
                     const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"submit", type, value};
    args.insert(args.end(), extra.begin(), extra.end());
    CommandResult r = node_->Cli(args);
    if (r.exit_code != 0) {
      ADD_FAILURE() << "submit " << type << " " << value << ": "
                    << r.Describe();
      return "";
    }
    std::string id = r.out;
    while (!id.empty() && id.back() == '\n') id.pop_back();
    return id;
  }

  // `caravan query args... --json`: the indicators list (exit 3, "no
  // match", gives an empty list).
  nlohmann::json Query(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"query"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--json");
    CommandResult r = node_->Cli(argv);
    if (r.exit_code != 0 && r.exit_code != 3) {
      ADD_FAILURE() << "query failed: " << r.Describe();
      return nlohmann::json::array();
    }
    auto doc = nlohmann::json::parse(r.out, nullptr, false);
    if (doc.is_discarded() || !doc.contains("indicators")) {
      ADD_FAILURE() << "query printed no indicator list: " << r.out;
      return nlohmann::json::array();
    }
    EXPECT_EQ(r.exit_code == 3, doc["indicators"].empty() &&
                                    !args.empty() && args[0][0] != '-')
        << "exit 3 means exactly: a value lookup found nothing";
    return doc["indicators"];
  }

  // counts from `caravan status --json`.
  nlohmann::json Counts() {
    auto doc = node_->CliJson({"status"});
    return doc.is_null() ? nlohmann::json::object() : doc["counts"];
  }

  std::string Actor() const { return "uid:" + std::to_string(getuid()); }

  std::unique_ptr<TestNode> node_;
};

}  // namespace caravan::integration
