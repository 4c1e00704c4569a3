#pragma once
// Internal to daemon/policy: reading each kind of policy file into the
// PolicySet structs ([outbound]/[inbound] tables, groups.toml,
// protected.toml), reporting every problem with its line. Scope
// resolution across files is policy_loader.cc's job.
//
// Pure functions; thread-safe.

#include <string>
#include <string_view>

#include <toml++/toml.h>

#include "daemon/policy/policy.h"
#include "daemon/policy/toml_fields.h"

namespace caravan::policy::detail {

// [outbound] and [inbound] of a default or scope file into `out`.
void ReadDirections(const toml::table& root, std::string_view file,
                    Errors& errors, PolicyFile& out);
// groups.toml into set.groups.
void ReadGroups(const toml::table& root, std::string_view file, Errors& errors,
                PolicySet& set);
// protected.toml into `out`.
void ReadProtected(const toml::table& root, std::string_view file,
                   Errors& errors, ProtectedAssets& out);

// Lower-case group names: 1..64 of a-z 0-9 - _, starting with a letter.
bool IsGroupName(std::string_view name);
// Why `code` is not an assigned country code, or "" when it is.
std::string CountryError(std::string_view code);
std::string Upper(std::string_view s);

}  // namespace caravan::policy::detail
