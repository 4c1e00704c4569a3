// Fuzz: the streaming STIX and MISP importers (stix_stream.h,
// misp_stream.h) on the same bytes. Invariant: they agree with the
// whole-document importers (ImportStixBundle, ImportMispEvent) on every
// input under the whole-document size cap (tests/fuzz/stream_equivalence.h
// says what "agree" means); any difference aborts with the description.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "tests/fuzz/stream_equivalence.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace caravan::protocol;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (text.size() > kMaxStixBytes) return 0;
  for (const std::string& why :
       {testing::StixStreamMismatch(text), testing::MispStreamMismatch(text)}) {
    if (!why.empty()) {
      std::fprintf(stderr, "streaming and whole-document import differ: %s\n",
                   why.c_str());
      std::abort();
    }
  }
  return 0;
}
