#pragma once
// The Records message (protocol/peer.capnp) both ways. Sending: a decided
// page written as entries (each record with its own signature or proof)
// and, for a peer that accepts them, whole batches (leaves, salt seed and
// one root signature). Receiving: the message read back into inbound
// entries in the sender's log order, each whole batch rebuilt from its
// leaves and seed and its one root signature checked; every leaf then
// carries the proof the rebuilt tree gives it, so it is stored (and later
// forwarded) exactly like a record that came with its own proof.
//
// The read side is untrusted input: every size is checked before use
// (tests/fuzz/fuzz_records_message.cc). Pure functions, thread-safe.

#include <cstdint>
#include <utility>
#include <vector>

#include "crypto/merkle.h"
#include "daemon/sync/inbound.h"
#include "daemon/sync/outbound_page.h"
#include "protocol/peer.capnp.h"

namespace caravan::daemon::sync {

// Leaves a received message may carry in whole batches, per batch and in
// all. A conforming sender puts at most one page (1000 records) of its own
// in a batch, and two pages in a message (new log and released withheld
// entries). Why a bound at all: each leaf's rebuilt proof costs 32 bytes
// per tree level, so without one a 16 MiB message of tiny leaves would
// make the receiver allocate hundreds of MiB.
inline constexpr size_t kMaxLeavesPerWholeBatch = 4096;
inline constexpr size_t kMaxWholeBatchLeavesPerMessage = 8192;

struct ReceivedBatch {
  protocol::PublicKey origin{};
  crypto::MerkleSaltSeed salt_seed{};
  crypto::Ed25519Signature root_signature{};
  // (sender seq, canonical body) in tree order; never empty.
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> leaves;
};

struct ReceivedRecords {
  std::vector<InboundEntry> entries;
  std::vector<ReceivedBatch> batches;
  uint64_t up_to_seq = 0;
};

// Writes `page` deciding our log through `up_to_seq`. With `whole_batches`
// each of the page's batches goes whole and the other records as entries;
// without, every record goes as an entry with its proof.
void WriteRecordsMessage(const OutboundPage& page, uint64_t up_to_seq,
                         bool whole_batches,
                         protocol::wire::Records::Builder out);

// Reads a received Records message. Fails, naming what was wrong, on a
// structurally broken record or batch (the link closes: a conforming peer
// never sends one). May throw kj::Exception from the capnp reader.
Result<ReceivedRecords> ReadRecordsMessage(
    protocol::wire::Records::Reader in);

// Every record of `received` ordered by sender seq. A whole batch's root
// is checked once, under its origin's key if `roster` knows the origin (an
// unknown origin is refused per record by CheckInbound anyway, so no
// signature work is spent on it); its leaves carry that verdict.
std::vector<InboundEntry> InboundInLogOrder(ReceivedRecords received,
                                            const RosterIndex& roster);

}  // namespace caravan::daemon::sync
