#pragma once
// Private to daemon/store: the hash of one audit entry, which chains it to
// the entry before it.
//
//   hash = BLAKE2b-256("caravan audit v1" || prev_hash || u64be(seq) ||
//                      i64be(time) || for each of actor, action, subject,
//                      peer, detail: u64be(length) || bytes)
//
// Every variable-length field carries its length, so no two different
// entries serialize to the same bytes. Pure function; thread-safe.

#include <array>
#include <cstdint>

#include "daemon/store/store_types.h"

namespace caravan::store::internal {

using AuditHash = std::array<uint8_t, 32>;

AuditHash ComputeAuditHash(const AuditHash& prev_hash, uint64_t seq,
                           const AuditEvent& event);

}  // namespace caravan::store::internal
