#pragma once
// LinkCredential: this node's static link key with the serial and
// not-before time its identity key certifies it under
// (crypto/link_certificate.h). Serial 0 is a link key never rotated.
//
// Shared, immutable: a rotation (LinkManager::RotateLinkKey) installs a new
// credential while handshakes in progress finish with the one they started
// with.

#include <cstdint>
#include <memory>

#include "crypto/link_key.h"

namespace caravan::daemon::link {

struct LinkCredential {
  std::shared_ptr<const crypto::LinkKey> key;  // never null in use
  uint64_t serial = 0;
  // Unix seconds. With serial 0 it is not in the certificate (the 96-byte
  // form has none) and only schedules the next rotation: the daemon's start.
  int64_t not_before = 0;
};

}  // namespace caravan::daemon::link
