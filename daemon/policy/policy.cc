#include "daemon/policy/policy.h"

#include <array>

namespace caravan::policy {
namespace {

constexpr std::array<std::string_view, kRedactFieldCount> kRedactNames = {
    "description", "tags", "first_seen", "last_seen", "valid_until"};

}  // namespace

std::string_view RedactFieldName(RedactField field) {
  const size_t i = static_cast<size_t>(field);
  return i < kRedactNames.size() ? kRedactNames[i] : "unknown";
}

std::optional<RedactField> ParseRedactField(std::string_view name) {
  for (size_t i = 0; i < kRedactNames.size(); ++i) {
    if (kRedactNames[i] == name) return static_cast<RedactField>(i);
  }
  return std::nullopt;
}

int PolicyFile::LineOf(std::string_view key) const {
  auto it = key_lines.find(key);
  return it == key_lines.end() ? 0 : it->second;
}

}  // namespace caravan::policy
