#include "daemon/sync/records_message.h"

#include <algorithm>
#include <span>
#include <string>

#include "daemon/sync/record_signing.h"

namespace caravan::daemon::sync {
namespace {

template <size_t N>
bool CopyExact(capnp::Data::Reader from, std::array<uint8_t, N>& to) {
  if (from.size() != N) return false;
  std::copy(from.begin(), from.end(), to.begin());
  return true;
}

Result<ReceivedBatch> ReadBatch(protocol::wire::WholeBatch::Reader in) {
  ReceivedBatch batch;
  if (!CopyExact(in.getOrigin(), batch.origin)) {
    return InvalidInput("whole batch: origin is not 32 bytes");
  }
  if (!CopyExact(in.getSaltSeed(), batch.salt_seed)) {
    return InvalidInput("whole batch: salt seed is not 32 bytes");
  }
  if (!CopyExact(in.getRootSignature(), batch.root_signature)) {
    return InvalidInput(
        "whole batch: root signature is not 64 bytes");
  }
  auto leaves = in.getLeaves();
  if (leaves.size() == 0) {
    return InvalidInput("whole batch: no leaves");
  }
  if (leaves.size() > kMaxLeavesPerWholeBatch) {
    return InvalidInput("whole batch: " + std::to_string(leaves.size()) +
                        " leaves, more than the " +
                        std::to_string(kMaxLeavesPerWholeBatch) + " allowed");
  }
  batch.leaves.reserve(leaves.size());
  for (auto leaf : leaves) {
    auto body = leaf.getBody();
    batch.leaves.emplace_back(leaf.getSenderSeq(),
                              std::vector<uint8_t>(body.begin(), body.end()));
  }
  return batch;
}

// The entries of one batch, each with its rebuilt proof and the verdict.
void ExpandBatch(ReceivedBatch& batch, uint32_t batch_no, const RosterIndex& roster,
                 std::vector<InboundEntry>& out) {
  std::vector<std::span<const uint8_t>> leaves;
  leaves.reserve(batch.leaves.size());
  for (const auto& [seq, body] : batch.leaves) leaves.emplace_back(body);
  crypto::MerkleBatchTree tree =
      crypto::BuildSeededBatch(leaves, batch.salt_seed);  // leaves not empty
  BatchVerdict verdict{batch.origin, false, batch_no, batch.salt_seed,
                       std::make_shared<const std::vector<crypto::MerkleHash>>(
                           std::move(tree.leaf_hashes))};
  // FindOrigin: a root signed by a retired key still verifies here, so the
  // leaves are refused as retired_key (inbound.cc), not as forgeries.
  if (roster.FindOrigin(batch.origin) != nullptr) {
    verdict.verified = crypto::VerifyBatchRoot(
        batch.origin, leaves.size(), tree.root, batch.root_signature);
  }
  for (size_t i = 0; i < batch.leaves.size(); ++i) {
    InboundEntry entry;
    entry.sender_seq = batch.leaves[i].first;
    entry.record = {std::move(batch.leaves[i].second),
                    ToBatchProof(std::move(tree.proofs[i]),
                                 batch.root_signature)};
    entry.batch = verdict;
    out.push_back(std::move(entry));
  }
}

}  // namespace

void WriteRecordsMessage(const OutboundPage& page, uint64_t up_to_seq,
                         bool whole_batches,
                         protocol::wire::Records::Builder out) {
  std::vector<bool> in_batch(page.sends.size(), false);
  if (whole_batches && !page.batches.empty()) {
    auto batches =
        out.initBatches(static_cast<unsigned>(page.batches.size()));
    for (unsigned b = 0; b < page.batches.size(); ++b) {
      const PageBatch& batch = page.batches[b];
      auto w = batches[b];
      w.setOrigin(kj::arrayPtr(batch.origin.data(), batch.origin.size()));
      w.setSaltSeed(
          kj::arrayPtr(batch.salt_seed.data(), batch.salt_seed.size()));
      w.setRootSignature(kj::arrayPtr(batch.root_signature.data(),
                                      batch.root_signature.size()));
      auto leaves = w.initLeaves(static_cast<unsigned>(batch.members.size()));
      for (unsigned i = 0; i < batch.members.size(); ++i) {
        const auto& [seq, record] = page.sends[batch.members[i]];
        leaves[i].setSenderSeq(seq);
        leaves[i].setBody(kj::arrayPtr(record.body.data(), record.body.size()));
        in_batch[batch.members[i]] = true;
      }
    }
  }
  const auto singles = static_cast<unsigned>(
      std::count(in_batch.begin(), in_batch.end(), false));
  auto entries = out.initEntries(singles);
  unsigned next = 0;
  for (size_t i = 0; i < page.sends.size(); ++i) {
    if (in_batch[i]) continue;
    entries[next].setSenderSeq(page.sends[i].first);
    protocol::FillSignedRecord(page.sends[i].second,
                               entries[next].initRecord());
    ++next;
  }
  out.setUpToSeq(up_to_seq);
}

Result<ReceivedRecords> ReadRecordsMessage(
    protocol::wire::Records::Reader in) {
  ReceivedRecords received;
  received.up_to_seq = in.getUpToSeq();
  received.entries.reserve(in.getEntries().size());
  for (auto e : in.getEntries()) {
    auto record = protocol::ReadSignedRecord(e.getRecord());
    if (!record.ok()) {
      return InvalidInput("structurally broken record: " +
                                     record.status().message());
    }
    InboundEntry entry;
    entry.sender_seq = e.getSenderSeq();
    entry.record = std::move(*record);
    received.entries.push_back(std::move(entry));
  }
  size_t leaves = 0;
  for (auto b : in.getBatches()) {
    leaves += b.getLeaves().size();
    if (leaves > kMaxWholeBatchLeavesPerMessage) {
      return InvalidInput("whole batches: more than " +
                          std::to_string(kMaxWholeBatchLeavesPerMessage) +
                          " leaves in one message");
    }
    auto batch = ReadBatch(b);
    if (!batch.ok()) return batch.status();
    received.batches.push_back(std::move(*batch));
  }
  return received;
}

std::vector<InboundEntry> InboundInLogOrder(ReceivedRecords received,
                                            const RosterIndex& roster) {
  std::vector<InboundEntry> out = std::move(received.entries);
  if (received.batches.empty()) return out;
  for (uint32_t b = 0; b < received.batches.size(); ++b) {
    ExpandBatch(received.batches[b], b, roster, out);
  }
  // Stable: a sender that repeats a seq keeps the order it sent them in.
  std::stable_sort(out.begin(), out.end(),
                   [](const InboundEntry& a, const InboundEntry& b) {
                     return a.sender_seq < b.sender_seq;
                   });
  return out;
}

}  // namespace caravan::daemon::sync
