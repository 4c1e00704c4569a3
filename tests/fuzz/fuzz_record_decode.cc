// Fuzz: decoding untrusted signed records and record bodies. Invariants: a
// body that decodes re-encodes to exactly the input bytes, and
// DecodeStoredRecordBody (the same without the canonical-form checks)
// accepts it too with the same content; on any input it returns or fails
// without crashing.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "protocol/record_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace caravan::protocol;
  std::span<const uint8_t> bytes(data, size);
  auto body = DecodeRecordBody(bytes);
  auto stored = DecodeStoredRecordBody(bytes);
  if (body.ok()) {
    auto again = EncodeRecordBody(*body);
    if (again.size() != size || !std::equal(again.begin(), again.end(), data)) {
      std::abort();
    }
    if (!stored.ok() || !(*stored == *body)) std::abort();
  }
  auto rec = DecodeSignedRecord(bytes);
  if (rec.ok()) {
    (void)DecodeRecordBody(rec->body);
    auto again = DecodeSignedRecord(EncodeSignedRecord(*rec));
    if (!again.ok() || !(*again == *rec)) std::abort();
  }
  return 0;
}
