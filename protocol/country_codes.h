#pragma once
// The assigned ISO 3166-1 alpha-2 country codes, for validating country
// names wherever an operator writes one (policy files, the roster): a typo
// such as "KS" for "KZ", or "ZZ", would otherwise silently make a policy
// apply to nobody or a member belong to no country.
//
// Pure functions over a constant table; thread-safe.

#include <string_view>

namespace caravan::protocol {

// True for the 249 officially assigned codes plus "XK" (Kosovo: user
// assigned, but used by the EU and most CERT bodies). Case-sensitive:
// codes are upper case.
bool IsAssignedCountryCode(std::string_view code);

}  // namespace caravan::protocol
