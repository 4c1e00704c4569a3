#pragma once
// Link key rotation for the node (docs/federation.md, Link key rotation):
// loading this node's link key with its certificate serial, making one when
// the file is missing, making the next one on `caravan key rotate --link` or
// on schedule ([keys] link_rotate), and the /metrics family that counts
// rotations.
//
// Serials: a new link key's serial is max(current + 1, now in unix seconds),
// so it is above every serial this node showed before even when the old
// key file is gone (a lost or deleted link.key), as long as the clock has
// not gone back past the last rotation.
//
// Pure functions except for the key file each writes; thread-safe.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "daemon/link/link_credential.h"
#include "daemon/observe/metrics.h"
#include "protocol/status.h"

namespace caravan::daemon {

struct LoadedLinkKey {
  link::LinkCredential credential;
  bool created = false;  // the file was missing and a new key was written
};

// Loads `path`. When it does not exist, makes a new link key (serial and
// not-before `now`) and writes it there (mode 0600) rather than refusing to
// start: the identity key certifies it, so peers accept it with no roster
// change. Any other problem (mode, format) is kInvalidInput naming the file.
Result<LoadedLinkKey> LoadOrCreateLinkKey(const std::filesystem::path& path, int64_t now);

// A fresh link key to follow `current`: serial max(current.serial + 1, now),
// not-before `now`; written to `path` (atomically) before it is returned,
// so a crash leaves the old key or the new one. kUnavailable naming the file
// when it cannot be written (the current key then stays in use).
Result<link::LinkCredential> MakeNextLinkKey(const std::filesystem::path& path,
                                             const link::LinkCredential& current, int64_t now);

// How long until a key made at `not_before` is due for rotation every
// `interval` (0 when overdue).
std::chrono::seconds TimeToLinkRotation(int64_t not_before, std::chrono::seconds interval,
                                        int64_t now);

// caravan_link_key_rotations_total{trigger="operator"|"schedule"}.
CollectedFamily LinkRotationMetrics(uint64_t by_operator, uint64_t by_schedule);

// caravan_identity_key_rotations_total{result="sent"|"accepted"|"refused"}:
// sent, this node's own identity key rotations (from the store, so it
// survives the reload each one causes); accepted and refused, members'
// rotation statements since start.
CollectedFamily IdentityRotationMetrics(uint64_t sent, uint64_t accepted, uint64_t refused);

}  // namespace caravan::daemon
