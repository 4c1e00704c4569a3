// Feeds arbitrary bytes to the key backup header parser
// (crypto/key_backup.h), as `caravan key import FILE` reads a file: it must
// accept only a file of exactly kKeyBackupSize bytes whose magic, version,
// algorithm and Argon2 bounds are right, say why otherwise, and never crash
// or read out of bounds. (OpenKeyBackup is not fuzzed here: each call runs
// Argon2, which the bounds this parser enforces keep finite.)
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "crypto/key_backup.h"

using namespace caravan::crypto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string error;
  auto header = ParseKeyBackupHeader(std::span<const uint8_t>(data, size), &error);
  if (header) {
    if (size != kKeyBackupSize) std::abort();
    if (header->params.memlimit > kMaxMemLimit || header->params.opslimit > kMaxOpsLimit) {
      std::abort();
    }
  } else if (error.empty()) {
    std::abort();
  }
  return 0;
}
