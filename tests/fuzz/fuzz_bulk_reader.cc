// Fuzz: the bulk file readers, every format over the same bytes. Items must
// come with increasing line numbers.
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "protocol/formats/bulk_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace caravan::protocol;
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (BulkFormat f : {BulkFormat::kTxt, BulkFormat::kCsv, BulkFormat::kJsonl}) {
    std::istringstream in(text);
    BulkReader reader(in, f);
    BulkItem item;
    uint64_t last = 0;
    while (reader.Next(&item)) {
      if (item.line <= last) std::abort();
      last = item.line;
    }
  }
  return 0;
}
