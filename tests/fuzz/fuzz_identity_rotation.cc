// Feeds arbitrary bytes to the identity rotation statement reader
// (crypto/identity_rotation.h), as a statement arrives from a peer:
// ParseRotationStatement accepts only 209-byte version-1 statements with
// sane fields, every refusal says why, a parsed statement re-encodes to the
// same bytes (one statement, one spelling), and ReadRotationStatement never
// accepts what Parse refused.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "crypto/identity_rotation.h"

using namespace caravan::crypto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxRotationStatementBytes) return 0;  // the link refuses these first
  const std::span<const uint8_t> bytes(data, size);
  std::string error;
  auto parsed = ParseRotationStatement(bytes, &error);
  if (!parsed && error.empty()) std::abort();  // every refusal says why
  if (parsed) {
    if (size != kRotationStatementBytes) std::abort();
    const auto again = EncodeRotationStatement(*parsed);
    if (!std::equal(again.begin(), again.end(), bytes.begin(), bytes.end())) std::abort();
  }
  std::string read_error;
  auto read = ReadRotationStatement(bytes, &read_error);
  if (read && !parsed) std::abort();
  if (!read && read_error.empty()) std::abort();
  return 0;
}
