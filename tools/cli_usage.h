#pragma once
// Usage help beyond what CLI11 does by itself: naming the mistyped
// subcommand or option with a "did you mean", finding a command by its path
// for `caravan help CMD`, and listing options without a help line (a unit
// test keeps that list empty).
//
// Reads a fully built CLI::App; never changes it. Not thread-safe (CLI11).

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "protocol/status.h"

namespace caravan::tools {

// Walks `args` (argv without the program name) through `app`'s command
// tree the way the parser does and describes the first word it cannot
// place: "unknown command 'stauts'; did you mean 'status'?" or "unknown
// option '--tpye' for 'caravan query'; did you mean '--type'?". nullopt
// when every command and long option is known (the error is then another
// one, which CLI11 reports itself).
std::optional<std::string> UnknownWordMessage(
    const CLI::App& app, const std::vector<std::string>& args);

// The command that `path` names below `app` ({"peers", "add"}), or
// InvalidInput naming the first unknown word, with a suggestion.
Result<const CLI::App*> FindCommand(const CLI::App& app,
                                    const std::vector<std::string>& path);

// "caravan peers add": the words that run `command`.
std::string CommandPath(const CLI::App& command);

// `command`'s help text, exactly as `CMD --help` prints it.
std::string CommandHelp(const CLI::App& command);

// Every option, positional argument and subcommand of the whole tree
// whose help line is empty, as "caravan query --type".
std::vector<std::string> UndescribedOptions(const CLI::App& app);

}  // namespace caravan::tools
