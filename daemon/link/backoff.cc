#include "daemon/link/backoff.h"

#include <sodium.h>

#include "crypto/sodium_init.h"

#include <algorithm>

namespace caravan::daemon::link {

std::chrono::milliseconds ApplyJitter(std::chrono::milliseconds base, uint32_t permille) {
  permille = std::min<uint32_t>(permille, 400);
  return std::chrono::milliseconds(base.count() * (800 + permille) / 1000);
}

Backoff::Backoff(std::chrono::seconds initial, std::chrono::seconds max)
    : initial_(std::max<std::chrono::milliseconds>(initial, std::chrono::milliseconds(1))),
      max_(std::max<std::chrono::milliseconds>(max, initial_)),
      base_(initial_) {}

std::chrono::milliseconds Backoff::Next() {
  crypto::EnsureSodium();
  const auto delay = ApplyJitter(base_, randombytes_uniform(401));
  base_ = std::min(base_ * 2, max_);
  return delay;
}

}  // namespace caravan::daemon::link
