#pragma once
// The policy engine's name for protocol/country_codes.h (the table moved to
// protocol/ so the roster loader, which may not include daemon/, checks
// member countries against the same list).

#include "protocol/country_codes.h"

namespace caravan::policy {

using protocol::IsAssignedCountryCode;

}  // namespace caravan::policy
