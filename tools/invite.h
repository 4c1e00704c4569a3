#pragma once
// `caravan key show --invite` (docs/federation.md, onboarding): the
// paste-ready `caravan peers add ...` line the other CERT runs to add this
// node, from `key show`'s document (name, country, key, endpoint,
// fingerprint). Like `wg showconf`: what one side prints, the other side
// feeds in unchanged.
//
// Pure functions; thread-safe.

#include <nlohmann/json.hpp>
#include <string>

namespace caravan::tools {

// A word for a POSIX shell: as is when it holds only safe characters,
// else in single quotes (a quote inside written as '\'').
std::string ShellWord(const std::string& word);

// The endpoint other nodes should dial, from the listen address: a
// wildcard host (0.0.0.0, ::, empty) cannot be dialed, so it becomes
// "HOST:PORT" for the operator to fill in; "" when the node does not
// listen.
std::string InviteEndpoint(const nlohmann::json& key_show);

// "# fingerprint ..." comment lines, then the `caravan peers add` line, each
// ending in '\n'. Comments start with '#' so pasting all of it into a shell
// runs only the command.
std::string InviteText(const nlohmann::json& key_show);

}  // namespace caravan::tools
