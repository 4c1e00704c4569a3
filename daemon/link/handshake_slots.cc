#include "daemon/link/handshake_slots.h"

#include <algorithm>

namespace caravan::daemon::link {

HandshakeSlots::HandshakeSlots(Options options) : options_(options) {
  options_.max_handshakes = std::max<size_t>(options_.max_handshakes, 1);
  options_.max_per_source = std::max<size_t>(options_.max_per_source, 1);
  // With a single slot there is nothing to reserve: unknown addresses would
  // never get in, and a node whose members all dial from new addresses
  // (roaming, no endpoint) could not link at all.
  reserved_ = options_.max_handshakes >= 2
                  ? std::max<size_t>(options_.max_handshakes / 4, 1)
                  : 0;
}

size_t HandshakeSlots::PerSourceCap(bool known) const {
  return known ? std::max(options_.max_per_source, reserved_)
               : options_.max_per_source;
}

HandshakeSlots::Decision HandshakeSlots::Acquire(const std::string& source,
                                                 bool known) {
  if (in_use() >= options_.max_handshakes) return Decision::kAllFull;
  if (!known && unknown_in_use_ >= options_.max_handshakes - reserved_) {
    return Decision::kAllFull;
  }
  auto it = by_source_.find(source);
  if (it != by_source_.end() && it->second >= PerSourceCap(known)) {
    return Decision::kSourceFull;
  }
  ++by_source_[source];
  ++(known ? known_in_use_ : unknown_in_use_);
  return Decision::kAdmitted;
}

void HandshakeSlots::Release(const std::string& source, bool known) {
  size_t& count = known ? known_in_use_ : unknown_in_use_;
  if (count > 0) --count;
  auto it = by_source_.find(source);
  if (it != by_source_.end() && --it->second == 0) by_source_.erase(it);
}

}  // namespace caravan::daemon::link
