#pragma once
// The whole `caravan` command line: defines every subcommand with CLI11,
// parses argv and runs the command chosen (tools/caravan_main.cc). main()
// only calls this; tests call it to walk the command tree.

#include <CLI/CLI.hpp>
#include <functional>

namespace caravan::tools {

// Runs `caravan` on argv and returns the process exit code. `before_parse`,
// when set, sees the fully defined command tree before argv is parsed.
int CaravanMain(int argc, const char* const* argv,
                const std::function<void(const CLI::App&)>& before_parse = {});

}  // namespace caravan::tools
