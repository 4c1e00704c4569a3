#include "daemon/store/origin_seqs.h"

#include <limits>
#include <string>

namespace caravan::store::internal {

Result<uint64_t> OriginSeqs::Take(uint64_t n) {
  constexpr uint64_t kMax =
      static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  std::lock_guard lock(mu_);
  if (n == 0 || n > kMax || next_ > kMax - n + 1) {
    return InvalidInput("cannot reserve " + std::to_string(n) +
                        " origin sequence numbers after " +
                        std::to_string(next_ - 1));
  }
  const uint64_t first = next_;
  next_ += n;
  return first;
}

}  // namespace caravan::store::internal
