#pragma once
// Loading and strict validation of a policy directory (policies/*.toml,
// CONTRACT.md "Policy files"; every key is documented in docs/policy.md).
//
// A set is all or nothing: every error in every file is collected and the
// whole set is refused, so a reload with one typo leaves the running policy
// in place. Errors are reported one per line as `file:line: reason`, with
// `file` relative to the policy directory, e.g.
//   kz.toml:7: unknown key 'max_tpl' in [outbound]; did you mean 'max_tlp'?
// A problem that belongs to no line (a missing or unreadable file) is
// reported at line 1.
//
// Pure functions (LoadPolicyDir only reads files); thread-safe.

#include <filesystem>
#include <map>
#include <string>

#include "daemon/policy/policy.h"
#include "protocol/status.h"

namespace caravan::policy {

// Reads every regular file named `*.toml` directly in `dir`, in name order:
// `default.toml` (required), `protected.toml` and `groups.toml` (optional)
// and any other name as a scope file. Other names (`*.toml.sample`,
// editor backups) and subdirectories are ignored.
// Success: the validated set. Failure: kInvalidInput listing every error;
// kUnavailable when `dir` cannot be listed.
Result<PolicySet> LoadPolicyDir(const std::filesystem::path& dir);

// The same validation over in-memory files (file name -> content); names
// not ending in ".toml" are ignored just as LoadPolicyDir ignores them.
Result<PolicySet> LoadPolicyText(const std::map<std::string, std::string>& files);

}  // namespace caravan::policy
