#pragma once
// The recipient's check of a sealed batch against its sender's chain (hub
// accountability, docs/federation.md). Every batch a sender seals to one
// recipient carries, inside the ciphertext, its number in that pair's
// chain and the hash of the previous envelope (hub_envelope.h ChainLink).
// The hub can drop, hold back, reorder or repeat envelopes, but not change
// or forge one, so the recipient sees each of those at once:
//  - kNext: the next envelope, chained to the last one applied: apply it;
//  - kDuplicate: a number already applied (a replay, or a resend whose
//    receipt was lost): drop it, it changes nothing;
//  - kGap: a number beyond the next (the next was dropped or is held back,
//    or the hub reordered): set it aside unapplied and ask the sender to
//    send again from the next, so records are applied exactly once and in
//    the sender's order;
//  - kBroken: the next number but not chained to what we applied: only the
//    sender can cause this (it signed both), e.g. it lost its state. Its
//    records are applied (they are signed and checked like any), the
//    chain restarts from it, and the break is audited.
// Pure; thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "daemon/store/hub_types.h"
#include "daemon/sync/hub_envelope.h"

namespace caravan::daemon::sync {

enum class ChainVerdict { kNext, kDuplicate, kGap, kBroken };

ChainVerdict ClassifyLink(const store::SealedChainIn& state,
                          const ChainLink& link);

// The store/audit/metric name of a fault verdict (kDuplicate, kGap,
// kBroken); empty for kNext.
std::string_view ChainFaultKind(ChainVerdict verdict);

// A sender's signed chain restart (hub_envelope.h SealedRestartInfo)
// against what we applied of its chain:
//  - kSkip: it names a next batch beyond the one we expect: the batches
//    in between (LostRange) can never come; move the chain on to it;
//  - kReplayed: it names exactly the batch we expect next (we are there
//    already: a replay of a restart we applied, or one that skips
//    nothing): refused;
//  - kBackwards: it names a batch we applied already: refused.
enum class RestartVerdict { kSkip, kReplayed, kBackwards };
RestartVerdict ClassifyRestart(const store::SealedChainIn& state,
                               const SealedRestartInfo& restart);
// kSkip: the pair seqs we will never get, first and last.
std::pair<uint64_t, uint64_t> LostRange(const store::SealedChainIn& state,
                                        const SealedRestartInfo& restart);

}  // namespace caravan::daemon::sync
