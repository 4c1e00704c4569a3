// Fuzz: STIX bundle import and the pattern parser on the same bytes. Every
// imported item must carry a type name caravan knows and a normalized value.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/indicator_parse.h"
#include "protocol/formats/stix.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace caravan::protocol;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto imported = ImportStixBundle(text);
  if (imported.ok()) {
    for (const StixImportItem& it : imported->items) {
      auto type = ParseTypeName(it.item.type);
      if (!type) std::abort();
      auto again = NormalizeValue(*type, it.item.value);
      if (!again.ok() || *again != it.item.value) std::abort();
    }
  }
  auto pattern = ParseStixPattern(text);
  if (pattern.ok() && pattern->empty()) std::abort();  // success means values
  return 0;
}
