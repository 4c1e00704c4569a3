#include "daemon/sync/sealed_chain.h"

namespace caravan::daemon::sync {

ChainVerdict ClassifyLink(const store::SealedChainIn& state,
                          const ChainLink& link) {
  if (link.pair_seq <= state.last_seq) return ChainVerdict::kDuplicate;
  if (link.pair_seq > state.last_seq + 1) return ChainVerdict::kGap;
  // The next number: chained to the last one we applied? Before the
  // first, the previous hash is all zeros.
  return link.prev_hash == state.last_hash ? ChainVerdict::kNext
                                           : ChainVerdict::kBroken;
}

std::string_view ChainFaultKind(ChainVerdict verdict) {
  switch (verdict) {
    case ChainVerdict::kDuplicate:
      return store::kChainDuplicate;
    case ChainVerdict::kGap:
      return store::kChainGap;
    case ChainVerdict::kBroken:
      return store::kChainBroken;
    case ChainVerdict::kNext:
      break;
  }
  return {};
}

std::string HexBytes(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

}  // namespace caravan::daemon::sync
