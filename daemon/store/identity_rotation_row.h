#pragma once
// One identity key rotation this node accepted (or made), as the store
// keeps it (table identity_rotations; docs/federation.md, "Identity key
// rotation"). The store does not verify: daemon/sync/key_chain.h decided
// the statement was good before it was written. Plain value.

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/indicator.h"

namespace caravan::store {

struct IdentityRotationRow {
  protocol::PublicKey old_key{};  // unique: a key is retired once
  protocol::PublicKey new_key{};  // unique: a key is introduced once
  int64_t rotated_at = 0;         // records created from then on: new_key
  int64_t issued_at = 0;
  std::vector<uint8_t> statement;  // the 209 signed bytes, relayed as they are
  std::string member;              // roster name when accepted ("" for ourselves)
  int64_t accepted_at = 0;         // set by the store
  bool operator==(const IdentityRotationRow&) const = default;
};

}  // namespace caravan::store
