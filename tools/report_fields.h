#pragma once
// Safe reads of a report document's fields for the views (report_text.cc,
// report_html.cc): a missing key or a value of another type reads as 0,
// "" or an empty array instead of throwing or reading out of bounds.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace caravan::tools::report {

inline const nlohmann::json& Field(const nlohmann::json& obj, const char* key) {
  static const nlohmann::json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

inline uint64_t Count(const nlohmann::json& obj, const char* key) {
  const auto& v = Field(obj, key);
  return v.is_number_unsigned() ? v.get<uint64_t>() : 0;
}

inline std::string Text(const nlohmann::json& obj, const char* key) {
  const auto& v = Field(obj, key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) return v.dump();
  return "";
}

inline const nlohmann::json& List(const nlohmann::json& obj, const char* key) {
  static const nlohmann::json kEmpty = nlohmann::json::array();
  const auto& v = Field(obj, key);
  return v.is_array() ? v : kEmpty;
}

// "countries/KZ.toml:3 outbound.max_tlp", or the key alone for a built-in
// rule (tlp_red), or "-".
inline std::string RuleText(const nlohmann::json& row) {
  const auto& rule = Field(row, "rule");
  std::string file = Text(rule, "file"), key = Text(rule, "key");
  std::string where = file;
  if (!file.empty() && Count(rule, "line") != 0) where += ":" + Text(rule, "line");
  std::string out = where.empty() ? key : key.empty() ? where : where + " " + key;
  return out.empty() ? "-" : out;
}

}  // namespace caravan::tools::report
