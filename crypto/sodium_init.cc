#include "crypto/sodium_init.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>

namespace caravan::crypto {

void EnsureSodium() {
  if (sodium_init() < 0) {
    std::fputs("caravan: libsodium failed to initialise\n", stderr);
    std::abort();
  }
}

}  // namespace caravan::crypto
