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

RestartVerdict ClassifyRestart(const store::SealedChainIn& state,
                               const SealedRestartInfo& restart) {
  if (restart.next_seq <= state.last_seq) return RestartVerdict::kBackwards;
  if (restart.next_seq == state.last_seq + 1) return RestartVerdict::kReplayed;
  return RestartVerdict::kSkip;
}

std::pair<uint64_t, uint64_t> LostRange(const store::SealedChainIn& state,
                                        const SealedRestartInfo& restart) {
  return {state.last_seq + 1, restart.next_seq - 1};
}

}  // namespace caravan::daemon::sync
