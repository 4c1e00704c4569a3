// Fuzz: decoding untrusted signed records and record bodies. Invariant: a
// body that decodes re-encodes to exactly the input bytes.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "protocol/record_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace caravan::protocol;
  std::span<const uint8_t> bytes(data, size);
  auto body = DecodeRecordBody(bytes);
  if (body.ok()) {
    auto again = EncodeRecordBody(*body);
    if (again.size() != size || !std::equal(again.begin(), again.end(), data)) {
      std::abort();
    }
  }
  auto rec = DecodeSignedRecord(bytes);
  if (rec.ok()) {
    (void)DecodeRecordBody(rec->body);
    auto again = DecodeSignedRecord(EncodeSignedRecord(*rec));
    if (!again.ok() || !(*again == *rec)) std::abort();
  }
  return 0;
}
