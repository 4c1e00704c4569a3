#pragma once
// The policy files `caravan init` writes into DIR/policies/: a working
// default.toml and commented examples. They live in protocol/ (not with the
// policy engine in daemon/policy/) because the CLI may include only
// protocol/ and crypto/. The daemon's policy tests load every template, so
// a template that stops loading fails the build's tests.
//
// Pure functions returning constant text; thread-safe.

#include <string>
#include <utility>
#include <vector>

namespace caravan::protocol {

// default.toml: outbound share = false (default deny), inbound accept =
// true, every key commented.
std::string DefaultPolicyToml();

// (file name, content) pairs. Names end in ".sample" so the daemon does
// not load them (it reads only "*.toml"); an operator copies one to
// "kz.toml" and edits it. Includes groups.toml.sample and
// protected.toml.sample.
std::vector<std::pair<std::string, std::string>> ExamplePolicyFiles();

}  // namespace caravan::protocol
