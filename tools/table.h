#pragma once
// Aligned text tables for people (the --json output is for scripts), and
// CSV field quoting.

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace caravan::tools {

class Table {
 public:
  explicit Table(std::vector<std::string> headers);
  void AddRow(std::vector<std::string> cells);
  // Columns padded to their widest cell; long values are not cut.
  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// RFC 4180 quoting when the field needs it.
std::string CsvField(const std::string& field);
inline std::string CsvField(const nlohmann::json& field) {
  return CsvField(field.get<std::string>());
}

}  // namespace caravan::tools
