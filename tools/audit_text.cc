#include "tools/audit_text.h"

#include "protocol/id_prefix.h"
#include "protocol/time_text.h"

namespace caravan::tools {
namespace {

// Fixed widths: pages arrive one after another, so the table cannot size
// columns by their widest cell.
constexpr size_t kWidths[] = {7, 20, 8, 22, 12, 10};

std::string Line(const std::vector<std::string>& cells) {
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) {
    line += cells[i];
    if (i + 1 == cells.size()) break;
    const size_t width = i < std::size(kWidths) ? kWidths[i] : 0;
    line.append(cells[i].size() < width ? width - cells[i].size() : 0, ' ');
    line += "  ";
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line + "\n";
}

std::string Text(const nlohmann::json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool IsTimeKey(const std::string& key) {
  return key.size() > 3 && key.compare(key.size() - 3, 3, "_at") == 0;
}

std::string ValueText(const std::string& key, const nlohmann::json& v) {
  if (v.is_string()) return ShortId(v.get<std::string>());
  if (IsTimeKey(key) && v.is_number_integer() && v.get<int64_t>() > 0) {
    return protocol::FormatTime(v.get<int64_t>());
  }
  if (key == "records" && v.is_array() && v.size() > 1) {
    return std::to_string(v.size()) + " records, listed with --json";
  }
  return Text(v);
}

}  // namespace

std::string ShortId(const std::string& text) {
  if (text.size() == 64 && protocol::LooksLikeIdPrefix(text)) {
    return text.substr(0, 12);
  }
  return text;
}

std::string AuditSummary(const nlohmann::json& detail) {
  std::string summary;
  if (detail.is_object()) {
    for (const auto& [key, value] : detail.items()) {
      if (value.is_null()) continue;
      if (!summary.empty()) summary += ", ";
      summary += key + "=" + ValueText(key, value);
    }
  } else {
    summary = Text(detail);
  }
  // One line whatever the detail holds.
  for (char& c : summary) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (summary.size() > kMaxAuditSummary) {
    summary.resize(kMaxAuditSummary - 3);
    summary += "...";
  }
  return summary;
}

std::string AuditHeader() {
  return Line({"SEQ", "TIME", "ACTOR", "ACTION", "SUBJECT", "PEER", "SUMMARY"});
}

std::string AuditRow(const nlohmann::json& e) {
  const auto field = [&](const char* key) {
    const auto it = e.find(key);
    return it == e.end() ? std::string("-") : Text(*it);
  };
  const auto detail = e.find("detail");
  return Line({field("seq"), field("time"), field("actor"), field("action"),
               ShortId(field("subject")), field("peer"),
               detail == e.end() ? std::string() : AuditSummary(*detail)});
}

}  // namespace caravan::tools
