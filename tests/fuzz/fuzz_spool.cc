// Fuzz: spool format sniffing and progress-marker parsing
// (daemon/feeds/spool_format.h, spool_state.h). Sniffing must never crash
// or read past its input; a marker that parses must format back to a
// marker that parses to the same value.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "daemon/feeds/spool_format.h"
#include "daemon/feeds/spool_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace caravan::feeds;
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (std::string_view name : {"drop", "drop.json", "drop.csv"}) {
    (void)DetectSpoolFormat(name, text);
  }
  const JsonHead head = ScanJsonHead(text);
  if (head.closed && (head.end == 0 || head.end > text.size())) std::abort();
  if (head.keys.size() > 64 || head.type.size() > 64) std::abort();
  auto progress = ParseSpoolProgress(text);
  if (progress.ok()) {
    auto again = ParseSpoolProgress(FormatSpoolProgress(*progress));
    if (!again.ok() || !(*again == *progress)) std::abort();
  }
  return 0;
}
