#pragma once
// "did you mean ...?" for mistyped subcommands and options: the closest
// known name by edit distance, when it is close enough to be a likely typo.
//
// Pure functions on strings; thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace caravan::tools {

// Optimal string alignment distance: insertions, deletions, substitutions
// and transpositions of two neighbours each cost 1 ("stauts" -> "status"
// is 1).
size_t EditDistance(std::string_view a, std::string_view b);

// The name in `known` closest to `typed`, if it is within a third of its
// length (at least 1, at most 3 edits) or `typed` is a prefix of exactly
// one name; nullopt otherwise. Ties go to the first in `known`.
std::optional<std::string> ClosestName(std::string_view typed,
                                       const std::vector<std::string>& known);

}  // namespace caravan::tools
