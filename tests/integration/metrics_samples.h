#pragma once
// Reading a Prometheus exposition text (GET /metrics) in tests: sample
// lines as "name{labels}" -> value. Comments (# HELP, # TYPE) are skipped.

#include <cstdlib>
#include <map>
#include <sstream>
#include <string>

namespace caravan::integration {

inline std::map<std::string, double> ParseMetricSamples(
    const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    out[line.substr(0, space)] = std::strtod(line.c_str() + space + 1, nullptr);
  }
  return out;
}

// The sample `key` ("name" or "name{labels}" exactly as exposed), -1 when
// absent.
inline double MetricSample(const std::map<std::string, double>& samples,
                           const std::string& key) {
  auto it = samples.find(key);
  return it == samples.end() ? -1 : it->second;
}

}  // namespace caravan::integration
