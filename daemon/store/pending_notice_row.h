#pragma once
// A compromise notice this node issued that waits to be delivered to one
// peer (table pending_notices, migration 16; docs/federation.md
// "Compromise"). Kept in the store so that a restart, or the in-process
// reload of an identity key rotation, does not lose a notice meant for a
// peer that was offline. The store never judges the bytes: the sync engine
// encoded them (daemon/sync/compromise_notice.h) and decodes them again
// before sending. Plain values.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace caravan::store {

// Largest encoded notice a row holds (the sync layer's
// kMaxCompromiseNoticeBytes, checked there with a static_assert).
inline constexpr size_t kMaxPendingNoticeBytes = 512;
// Rows in all: a put past this is refused (and its transaction rolled
// back). One row per (notice, peer that received the affected records):
// far above a real federation's count, small enough to read per session.
inline constexpr size_t kMaxPendingNotices = 4096;
// Longest roster name a row names (roster names are far shorter).
inline constexpr size_t kMaxPendingNoticePeerBytes = 256;

struct PendingNoticeRow {
  std::string peer;                  // roster name of the recipient
  std::array<uint8_t, 32> digest{};  // NoticeDigest: one row per notice and peer
  std::vector<uint8_t> notice;       // the encoded notice, 1..512 bytes
  int64_t queued_at = 0;             // Unix seconds; set by PendingNoticePut
  bool operator==(const PendingNoticeRow&) const = default;
};

// What Reader::PendingNotices returns: the well-formed rows for one peer,
// oldest first, and how many rows for it were malformed (never returned;
// PendingNoticeDelete removes one by its key, PendingNoticesForget all).
struct PendingNotices {
  std::vector<PendingNoticeRow> rows;
  size_t malformed = 0;
};

}  // namespace caravan::store
