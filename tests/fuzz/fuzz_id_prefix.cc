// Fuzz: id prefixes as typed on the command line (protocol/id_prefix.h).
// Invariants: an accepted prefix is 6..64 lowercase hex digits, its range
// is ordered (low <= high), and both ends start with the prefix's digits.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/id_prefix.h"
#include "protocol/record_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto p = caravan::protocol::ParseIdPrefix(text);
  if (p.ok() != caravan::protocol::LooksLikeIdPrefix(text)) std::abort();
  if (!p.ok()) return 0;
  if (p->hex.size() != size) std::abort();
  if (!(p->low <= p->high)) std::abort();
  const std::string low = caravan::protocol::IdToHex(p->low);
  const std::string high = caravan::protocol::IdToHex(p->high);
  if (low.compare(0, p->hex.size(), p->hex) != 0) std::abort();
  if (high.compare(0, p->hex.size(), p->hex) != 0) std::abort();
  return 0;
}
