#pragma once
// Ids as the operator types them: the full 64 hex digits or a unique
// prefix (protocol/id_prefix.h), resolved with one range query of the id
// index. Shared by every control request that takes an id (show, revoke,
// sight, quarantine decisions, policy explain).

#include <string_view>

#include "daemon/store/reader.h"
#include "protocol/indicator.h"
#include "protocol/status.h"

namespace caravan::daemon {

// How many candidates an ambiguous prefix's error lists.
inline constexpr size_t kMaxListedCandidates = 10;

// The one stored id that `text` names. A full id is returned as is (the
// caller says whether it is held); a prefix must match exactly one id:
// NotFound when none does, InvalidInput listing the candidates (id, type,
// value) when several do, or when `text` is not 6 to 64 hex digits.
Result<protocol::IndicatorId> ResolveId(store::Reader& reader,
                                        std::string_view text);

}  // namespace caravan::daemon
