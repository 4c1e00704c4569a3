#pragma once
// Private to daemon/store: the origin sequence numbers of records this node
// makes, handed out in memory (Store::ReserveOriginSeqs,
// WriteTxn::ReserveOriginSeqs) so a caller can sign records before its
// write is queued. The highest number a committed write used is kept in
// `meta` (WriteTxn::KeepOriginSeqs); numbers taken by a write that failed
// or was never queued are skipped, never handed out twice while the store
// is open. After a restart numbers continue after the highest kept one:
// one taken but never stored may be given again, which is harmless since
// no record with it exists anywhere.
//
// Thread-safety: any thread.

#include <cstdint>
#include <mutex>

#include "protocol/status.h"

namespace caravan::store::internal {

class OriginSeqs {
 public:
  explicit OriginSeqs(uint64_t last_kept) : next_(last_kept + 1) {}
  OriginSeqs(const OriginSeqs&) = delete;
  OriginSeqs& operator=(const OriginSeqs&) = delete;

  // `n` consecutive numbers; returns the first. InvalidInput for n == 0 or
  // numbers beyond what SQLite's integers hold.
  Result<uint64_t> Take(uint64_t n);

 private:
  std::mutex mu_;
  uint64_t next_;  // by mu_
};

}  // namespace caravan::store::internal
