#include "tools/did_you_mean.h"

#include <algorithm>

namespace caravan::tools {

size_t EditDistance(std::string_view a, std::string_view b) {
  // Three rows of the dynamic programme: the one before the previous is
  // needed for transpositions. Names are short, so this is cheap.
  std::vector<size_t> before(b.size() + 1), previous(b.size() + 1),
      current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitution = a[i - 1] == b[j - 1] ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1,
                             previous[j - 1] + substitution});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        current[j] = std::min(current[j], before[j - 2] + 1);
      }
    }
    before.swap(previous);
    previous.swap(current);
  }
  return previous[b.size()];
}

std::optional<std::string> ClosestName(std::string_view typed,
                                       const std::vector<std::string>& known) {
  if (typed.empty()) return std::nullopt;
  const size_t allowed = std::clamp<size_t>(typed.size() / 3, 1, 3);
  std::optional<std::string> best;
  size_t best_distance = allowed + 1;
  for (const auto& name : known) {
    const size_t d = EditDistance(typed, name);
    if (d < best_distance) {
      best_distance = d;
      best = name;
    }
  }
  if (best) return best;
  // "quar" for "quarantine": an abbreviation of one name only.
  std::optional<std::string> prefixed;
  for (const auto& name : known) {
    if (name.size() > typed.size() && name.compare(0, typed.size(), typed) == 0) {
      if (prefixed) return std::nullopt;
      prefixed = name;
    }
  }
  return prefixed;
}

}  // namespace caravan::tools
