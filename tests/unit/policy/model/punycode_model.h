#pragma once
// The model's IDN step: one domain label to its lowercase A-label, as
// DESIGN.md asks of stored hosts ("IDN to A-labels"). Case folding covers
// ASCII, Latin-1 and Cyrillic (the letters the generator writes), then
// Punycode (RFC 3492) encodes a label that is not pure ASCII. Independent of
// libidn2, which the engine's parser uses.

#include <optional>
#include <string>
#include <string_view>

namespace caravan::policy::model {

// nullopt for invalid UTF-8 or an empty label.
std::optional<std::string> ToALabel(std::string_view utf8_label);

}  // namespace caravan::policy::model
