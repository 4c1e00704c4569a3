#pragma once
// Indicator ids as people type them: the full 64 hex digits, or a unique
// prefix of at least kMinIdPrefixDigits (like git's short hashes). This
// file only reads the text; the store resolves the range (store::Reader::
// IdsInRange) with one index range query.
//
// Pure functions; thread-safe.

#include <string>
#include <string_view>

#include "protocol/indicator.h"
#include "protocol/status.h"

namespace caravan::protocol {

inline constexpr size_t kMinIdPrefixDigits = 6;

// Every id that starts with a prefix lies in [low, high] (inclusive,
// byte-wise order, which is SQLite's BLOB order).
struct IdPrefix {
  std::string hex;      // the digits, lowercased
  IndicatorId low{};    // the prefix, then zero bits
  IndicatorId high{};   // the prefix, then one bits
  bool exact() const { return hex.size() == 64; }
};

// True when `text` is 6 to 64 hex digits (either case): what the id
// arguments of the CLI take as an id rather than a value.
bool LooksLikeIdPrefix(std::string_view text);

// InvalidInput naming the problem when `text` is not 6 to 64 hex digits
// (too short, too long, not hex).
Result<IdPrefix> ParseIdPrefix(std::string_view text);

}  // namespace caravan::protocol
