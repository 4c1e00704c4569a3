// Fuzz: type detection, refanging and normalization of arbitrary text.
// Invariant checked: an accepted value is a fixed point of its type's
// normalization (normalizing the canonical form returns it unchanged).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/indicator_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace caravan::protocol;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto detected = DetectAndNormalize(text);
  if (detected.ok()) {
    auto again = NormalizeValue(detected->type, detected->value);
    if (!again.ok() || *again != detected->value) std::abort();
  }
  for (int t = 0; t < kIndicatorTypeCount; ++t) {
    auto r = NormalizeValue(static_cast<IndicatorType>(t), text);
    if (r.ok()) {
      auto again = NormalizeValue(static_cast<IndicatorType>(t), *r);
      if (!again.ok() || *again != *r) std::abort();
    }
  }
  (void)Refang(text);
  return 0;
}
