#pragma once
// WarninglistHit: the store's record that an indicator matched a MISP
// warninglist (protocol/formats/warninglist.h), kept in table warninglist_hits (one
// row per indicator id, deleted with the indicator). A hit that is not
// forced keeps the indicator out of automatic sharing; `forced` means an
// operator submitted it with --force anyway.
//
// Plain value; copy freely.

#include <cstdint>
#include <string>

#include "protocol/indicator.h"

namespace caravan::store {

// Longest list name / entry text stored (longer ones are cut).
inline constexpr size_t kMaxWarninglistHitText = 4096;

struct WarninglistHit {
  protocol::IndicatorId id{};
  std::string list;   // the list's name
  std::string entry;  // the entry that matched, as written in the list
  bool forced = false;
  int64_t flagged_at = 0;  // Unix seconds, set by the store
  bool operator==(const WarninglistHit&) const = default;
};

}  // namespace caravan::store
