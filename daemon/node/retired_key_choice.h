#pragma once
// Which of our retired identity keys `caravan key compromised --key K`
// names (issue 16; docs/federation.md "Compromise"; docs/cli.md). A node
// that rotated more than once (K0 -> K1 -> K2) may declare any retired key
// compromised, not only the one it retired last; the notice is always
// issued by the current key, which receivers accept because it is the
// newest key of the compromised key's chain (CheckCompromiseNotice).
//
// A pure function over the node's keys and the roster; thread-safe.

#include <span>
#include <string_view>

#include "daemon/sync/inbound.h"
#include "protocol/indicator.h"
#include "protocol/status.h"

namespace caravan::daemon {

// Longest --key text read (a key text is 51 characters, a fingerprint 24).
inline constexpr size_t kMaxKeyChoiceBytes = 128;

// `own` is Node::own_keys(): the current key first, then the keys it
// retired, newest first. `wanted` is a fingerprint ("1a2b:3c4d:...", any
// case) or a key text ("caravan:..."); empty names own[1].
// Refused, each naming what was wrong: no rotation yet, text that is
// neither form (kInvalidInput), our current key (kInvalidInput: rotate
// first), another member's key, current or retired (kInvalidInput: use
// `peers compromised`), a key nobody here has (kNotFound).
Result<protocol::PublicKey> ChooseRetiredKey(
    std::span<const protocol::PublicKey> own, std::string_view wanted,
    const sync::RosterIndex& roster);

}  // namespace caravan::daemon
