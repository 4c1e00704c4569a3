// Fuzz: MISP event import. Imported items carry known types and normalized
// values; the attribute count never exceeds its bound.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/indicator_parse.h"
#include "protocol/formats/misp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace caravan::protocol;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto imported = ImportMispEvent(text);
  if (imported.ok()) {
    if (imported->attributes > kMaxMispAttributes) std::abort();
    for (const MispImportItem& it : imported->items) {
      auto type = ParseTypeName(it.item.type);
      if (!type) std::abort();
      auto again = NormalizeValue(*type, it.item.value);
      if (!again.ok() || *again != it.item.value) std::abort();
    }
  }
  return 0;
}
